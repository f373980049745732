package storage

import "time"

// Actor is a remote actor as last fetched: where to deliver to it and which
// key it signs with.
type Actor struct {
	ID           string
	Type         string
	Host         string
	Username     string
	Name         string
	Inbox        string
	SharedInbox  string
	KeyID        string
	PublicKeyPEM string
	// MultikeyID and MultikeyPEM are the actor's Ed25519 key, when it
	// publishes one as a Multikey, in SPKI PEM.
	MultikeyID  string
	MultikeyPEM string
	// Published is when the account says it was made; zero when it does
	// not say.
	Published time.Time
	FetchedAt time.Time
}

// KeyPEM is the actor's key called keyID, RSA or Ed25519, in PEM, or ""
// when the actor publishes no key of that id.
func (a Actor) KeyPEM(keyID string) string {
	switch {
	case keyID == "":
		return ""
	case keyID == a.KeyID:
		return a.PublicKeyPEM
	case keyID == a.MultikeyID:
		return a.MultikeyPEM
	}
	return ""
}

// Handle is how people write the actor's address, @user@host, or its id
// when it publishes no username.
func (a Actor) Handle() string {
	if a.Username == "" || a.Host == "" {
		return a.ID
	}
	return "@" + a.Username + "@" + a.Host
}

// DeliveryInbox is where activities for this actor go: its server's shared
// inbox when it has one, so a server with many members gets one request.
func (a Actor) DeliveryInbox() string {
	if a.SharedInbox != "" {
		return a.SharedInbox
	}
	return a.Inbox
}

const actorColumns = `id, type, host, username, name, inbox, shared_inbox, key_id, public_key_pem, multikey_id, multikey_pem, published, fetched_at`

func scanActor(row interface{ Scan(...any) error }) (Actor, error) {
	var a Actor
	var published, fetched int64
	err := row.Scan(&a.ID, &a.Type, &a.Host, &a.Username, &a.Name, &a.Inbox, &a.SharedInbox, &a.KeyID, &a.PublicKeyPEM, &a.MultikeyID, &a.MultikeyPEM, &published, &fetched)
	a.Published, a.FetchedAt = fromMillis(published), fromMillis(fetched)
	return a, translate(err)
}

// PutActor inserts or refreshes a remote actor; FetchedAt becomes now unless set.
func (tx *Tx) PutActor(a Actor) error {
	if a.FetchedAt.IsZero() {
		a.FetchedAt = tx.now
	}
	_, err := tx.exec(`INSERT INTO actors (`+actorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET type = excluded.type, host = excluded.host, username = excluded.username,
			name = excluded.name, inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
			key_id = excluded.key_id, public_key_pem = excluded.public_key_pem,
			multikey_id = excluded.multikey_id, multikey_pem = excluded.multikey_pem, published = excluded.published,
			fetched_at = excluded.fetched_at`,
		a.ID, a.Type, a.Host, a.Username, a.Name, a.Inbox, a.SharedInbox, a.KeyID, a.PublicKeyPEM, a.MultikeyID, a.MultikeyPEM,
		millis(a.Published), millis(a.FetchedAt))
	return err
}

// Actor returns the cached actor with the given id, or ErrNotFound.
func (tx *Tx) Actor(id string) (Actor, error) {
	return scanActor(tx.queryRow(`SELECT `+actorColumns+` FROM actors WHERE id = ?`, id))
}

// ActorByKeyID returns the cached actor that owns keyID, its RSA key or its
// Multikey, or ErrNotFound.
func (tx *Tx) ActorByKeyID(keyID string) (Actor, error) {
	if keyID == "" {
		return Actor{}, ErrNotFound
	}
	return scanActor(tx.queryRow(`SELECT `+actorColumns+` FROM actors WHERE key_id = ? OR multikey_id = ? LIMIT 1`, keyID, keyID))
}

// ActorByHandle finds a cached actor by username and host, as in @user@host.
func (tx *Tx) ActorByHandle(username, host string) (Actor, error) {
	return scanActor(tx.queryRow(`SELECT `+actorColumns+` FROM actors WHERE host = ? AND lower(username) = lower(?)`, host, username))
}

// DeleteActor forgets a remote actor and every membership it had, except
// bans: an account deleted and made again under the same id stays banned.
func (tx *Tx) DeleteActor(id string) error {
	if _, err := tx.exec(`DELETE FROM memberships WHERE actor_id = ? AND state != 'banned'`, id); err != nil {
		return err
	}
	_, err := tx.exec(`DELETE FROM actors WHERE id = ?`, id)
	return err
}
