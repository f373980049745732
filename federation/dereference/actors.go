package dereference

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// actorMaxAge is how long a cached actor is used before it is fetched again.
const actorMaxAge = 24 * time.Hour

// refreshPause is the least time between two forced refetches of one key, so
// a stream of badly signed requests cannot make us hammer a server.
const refreshPause = 5 * time.Minute

// Actor returns the remote actor with the given id from the cache, fetching
// it when it is unknown or stale.
func (f *Fetcher) Actor(ctx context.Context, id string) (storage.Actor, error) {
	var cached storage.Actor
	err := f.store.View(ctx, func(tx *storage.Tx) (err error) {
		cached, err = tx.Actor(id)
		return err
	})
	if err == nil && f.now().Sub(cached.FetchedAt) < actorMaxAge {
		return cached, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.Actor{}, err
	}
	fresh, fetchErr := f.RefreshActor(ctx, id)
	if fetchErr != nil {
		if err == nil {
			// A stale copy beats none while its server is away.
			return cached, nil
		}
		return storage.Actor{}, fetchErr
	}
	return fresh, nil
}

// RefreshActor fetches an actor document and caches what delivery and
// verification need from it.
func (f *Fetcher) RefreshActor(ctx context.Context, id string) (storage.Actor, error) {
	obj, err := f.Object(ctx, id, Public)
	if err != nil {
		return storage.Actor{}, err
	}
	a, err := f.cacheActor(ctx, obj)
	if err != nil {
		return storage.Actor{}, fmt.Errorf("actor %s: %w", id, err)
	}
	return a, nil
}

// cacheActor checks a fetched actor document and keeps its cache row.
func (f *Fetcher) cacheActor(ctx context.Context, obj *activitypub.Object) (storage.Actor, error) {
	a, err := f.ActorRecord(obj)
	if err != nil {
		return storage.Actor{}, err
	}
	return a, f.store.Update(ctx, func(tx *storage.Tx) error { return tx.PutActor(a) })
}

// ActorRecord checks an actor document and turns it into its cache row. An
// actor whose preferredUsername is not a valid username keeps working but
// has none, and its handle is its id: such a name would only serve to look
// like someone else's handle or to play tricks on a terminal.
func (f *Fetcher) ActorRecord(obj *activitypub.Object) (storage.Actor, error) {
	switch obj.Type {
	case "Person", "Service", "Application", "Group", "Organization":
	default:
		return storage.Actor{}, fmt.Errorf("type %q is not an actor", obj.Type)
	}
	host, err := activitypub.Host(obj.ID)
	if err != nil {
		return storage.Actor{}, err
	}
	if obj.Inbox == "" || !activitypub.SameOrigin(obj.Inbox, obj.ID) {
		return storage.Actor{}, errors.New("no inbox on the actor's own server")
	}
	shared := obj.SharedInbox
	if shared != "" && !activitypub.SameOrigin(shared, obj.ID) {
		shared = ""
	}
	key := obj.PublicKey
	if key.PEM != "" {
		if key.Owner != "" && key.Owner != obj.ID || !activitypub.SameOrigin(key.ID, obj.ID) {
			return storage.Actor{}, errors.New("public key belongs to another actor")
		}
		if _, err := activitypub.ParsePublicKey(key.PEM); err != nil {
			return storage.Actor{}, err
		}
	}
	multikey, err := ownMultikey(obj)
	if err != nil {
		return storage.Actor{}, err
	}
	username := obj.PreferredUsername
	if !activitypub.ValidUsername(username) {
		username = ""
	}
	return storage.Actor{
		ID:           obj.ID,
		Type:         obj.Type,
		Host:         host,
		Username:     username,
		Name:         activitypub.PlainText(obj.Name),
		Inbox:        obj.Inbox,
		SharedInbox:  shared,
		KeyID:        key.ID,
		PublicKeyPEM: key.PEM,
		MultikeyID:   multikey.ID,
		MultikeyPEM:  multikey.PEM,
		Published:    obj.Published,
		FetchedAt:    f.now(),
	}, nil
}

// ownMultikey is the first Ed25519 Multikey that obj controls, named on its
// own server, as its publicKey must be; one controlled by another actor is
// no key of obj's.
func ownMultikey(obj *activitypub.Object) (activitypub.PublicKey, error) {
	for _, key := range obj.Multikeys {
		if key.Controller != obj.ID || !activitypub.SameOrigin(key.ID, obj.ID) {
			continue
		}
		pem, err := activitypub.EncodePublicKey(key.Key)
		if err != nil {
			return activitypub.PublicKey{}, err
		}
		return activitypub.PublicKey{ID: key.ID, Owner: obj.ID, PEM: pem}, nil
	}
	return activitypub.PublicKey{}, nil
}

// SignerKey finds the actor owning keyID and its public key, RSA or
// Ed25519. With refresh,
// the cached copy is bypassed (at most once per refreshPause per key), for a
// signature that fails because the actor rotated its key. An actor it had
// to fetch is not cached yet (fetched is true): the caller keeps it with
// storage.Tx.PutActor, in the transaction that acts on what the key
// verified where there is one, so that a request from a new account takes
// the only writer once.
func (f *Fetcher) SignerKey(ctx context.Context, keyID string, refresh bool) (a storage.Actor, key crypto.PublicKey, fetched bool, err error) {
	err = f.store.View(ctx, func(tx *storage.Tx) (err error) {
		a, err = tx.ActorByKeyID(keyID)
		return err
	})
	cached := err == nil
	switch {
	case cached && !refresh && f.now().Sub(a.FetchedAt) < actorMaxAge:
	case cached || errors.Is(err, storage.ErrNotFound):
		if refresh && !f.mayRefresh(keyID) {
			return storage.Actor{}, nil, false, errors.New("key was refreshed moments ago")
		}
		fresh, fetchErr := f.fetchKeyOwner(ctx, keyID)
		switch {
		case fetchErr == nil:
			a, fetched = fresh, true
		case cached && !refresh && errors.Is(fetchErr, ErrUnavailable):
			// A stale key beats none while its server is away.
		default:
			return storage.Actor{}, nil, false, fetchErr
		}
	default:
		return storage.Actor{}, nil, false, err
	}
	pem := a.KeyPEM(keyID)
	if pem == "" {
		return storage.Actor{}, nil, false, fmt.Errorf("actor %s does not publish key %s", a.ID, keyID)
	}
	key, err = activitypub.ParseVerificationKey(pem)
	return a, key, fetched, err
}

func (f *Fetcher) mayRefresh(keyID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := recall(f.refreshed, keyID, f.now(), refreshPause); ok {
		return false
	}
	remember(f.refreshed, keyID, struct{}{}, f.now(), refreshPause)
	delete(f.failures, keyID)
	delete(f.failures, keyOwnerGuess(keyID))
	return true
}

// fetchKeyOwner fetches the actor whose key keyID is, its publicKey or one
// of its Multikeys, and leaves keeping it to SignerKey's caller. Servers
// name keys actor#main-key (or actor#ed25519-key), or give the key a URL of
// its own that serves the actor (fetchObject then refetches the actor from
// its id).
func (f *Fetcher) fetchKeyOwner(ctx context.Context, keyID string) (storage.Actor, error) {
	obj, err := f.Object(ctx, keyOwnerGuess(keyID), Public)
	if err != nil {
		return storage.Actor{}, err
	}
	a, err := f.ActorRecord(obj)
	if err != nil {
		return storage.Actor{}, fmt.Errorf("key %s: %w", keyID, err)
	}
	if a.KeyPEM(keyID) == "" {
		return storage.Actor{}, fmt.Errorf("key %s: actor %s publishes keys %q and %q", keyID, obj.ID, a.KeyID, a.MultikeyID)
	}
	return a, nil
}

// keyOwnerGuess drops the fragment of a keyId: almost every server names its
// keys actor#main-key, and fetching the actor answers for the key.
func keyOwnerGuess(keyID string) string {
	if i := strings.IndexByte(keyID, '#'); i >= 0 {
		return keyID[:i]
	}
	return keyID
}
