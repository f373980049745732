-- An actor's Ed25519 key, published as a FEP-521a Multikey, beside its RSA
-- key: its id, and the key in SPKI PEM as the RSA key is kept. A signature
-- names either key by its id.
ALTER TABLE actors ADD COLUMN multikey_id TEXT NOT NULL DEFAULT '';
ALTER TABLE actors ADD COLUMN multikey_pem TEXT NOT NULL DEFAULT '';
CREATE INDEX actors_by_multikey ON actors (multikey_id);
