-- The software each remote server runs, from its NodeInfo: it decides which
-- form of a relayed post the server is sent.
ALTER TABLE hosts ADD COLUMN software TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN software_checked_at INTEGER NOT NULL DEFAULT 0;
