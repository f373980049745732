package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/dereference"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/storage"
)

// verify authenticates a POST: the signature over the request, the digest of
// the body, the date, and that the signer is the activity's actor.
func (s *Service) verify(r *http.Request, body []byte) (inbound, error) {
	keyID, err := signature.KeyID(r)
	if err != nil {
		return inbound{}, &Error{Status: http.StatusUnauthorized, Reason: err.Error(), Err: err}
	}
	keyHost, err := activitypub.Host(keyID)
	if err != nil {
		return inbound{}, &Error{Status: http.StatusUnauthorized, Reason: "keyId is not an http(s) IRI"}
	}
	if !s.federates(keyHost) {
		return inbound{}, &Error{Status: http.StatusForbidden, Reason: errDomainRefused.Error(), Err: fmt.Errorf("signer host %s", keyHost)}
	}
	// Everything that needs no key comes before the key is fetched, so a
	// replayed or tampered request costs no request to another server.
	if err := signature.Precheck(r, body, s.now()); err != nil {
		return inbound{}, &Error{Status: http.StatusUnauthorized, Reason: err.Error(), Err: err}
	}
	activity, err := activitypub.Decode(body)
	if err != nil {
		return inbound{}, &Error{Status: http.StatusBadRequest, Reason: "malformed activity", Err: err}
	}
	if activity.ID == "" || activity.Actor == "" {
		return inbound{}, &Error{Status: http.StatusBadRequest, Reason: "activity needs an id and an actor"}
	}
	if actorHost, err := activitypub.Host(activity.Actor); err != nil || actorHost != keyHost {
		return inbound{}, &Error{Status: http.StatusUnauthorized, Reason: "the signer is not the activity's actor",
			Err: fmt.Errorf("key %s, actor %s", keyID, activity.Actor)}
	}
	if !activitypub.SameOrigin(activity.ID, activity.Actor) {
		// Ids are deduplicated across everyone: an id from another server
		// could be used to make that server's real activity look repeated.
		return inbound{}, &Error{Status: http.StatusBadRequest, Reason: "the activity's id is not on its actor's server"}
	}
	ctx := r.Context()
	actor, key, err := s.remote.SignerKey(ctx, keyID, false)
	if err != nil {
		switch {
		case errors.Is(err, dereference.ErrGone) && activity.Type == "Delete" && activity.ObjectID() == activity.Actor:
			// A deleted account's key is gone with it. The copy we kept,
			// however old, still proves the Delete; without one there is
			// nothing of ours to change: drop it quietly rather than let its
			// server retry for days.
			if cached, ok := s.cachedSigner(ctx, r, body, keyID); ok && cached.ID == activity.Actor {
				return inbound{activity: activity, actor: cached}, nil
			}
			return inbound{}, fmt.Errorf("%w: delete of %s, whose key is gone", errDropped, activity.Actor)
		case errors.Is(err, dereference.ErrUnavailable):
			return inbound{}, &Error{Status: http.StatusServiceUnavailable, Reason: "could not fetch the signing key; try again later", Err: err}
		}
		return inbound{}, &Error{Status: http.StatusUnauthorized, Reason: "could not fetch the signing key", Err: err}
	}
	err = signature.Verify(r, body, key, s.now())
	if errors.Is(err, signature.ErrInvalidSignature) {
		// The actor may have rotated its key since we cached it.
		if fresh, freshKey, refetchErr := s.remote.SignerKey(ctx, keyID, true); refetchErr == nil {
			actor, err = fresh, signature.Verify(r, body, freshKey, s.now())
		}
	}
	if err != nil {
		return inbound{}, &Error{Status: http.StatusUnauthorized, Reason: err.Error(), Err: err}
	}
	if activity.Actor != actor.ID {
		return inbound{}, &Error{Status: http.StatusUnauthorized, Reason: "the signer is not the activity's actor",
			Err: fmt.Errorf("signed by %s, actor %s", actor.ID, activity.Actor)}
	}
	return inbound{activity: activity, actor: actor}, nil
}

// cachedSigner verifies the request with the key cached for keyID, however
// old, and returns its actor when it verifies.
func (s *Service) cachedSigner(ctx context.Context, r *http.Request, body []byte, keyID string) (storage.Actor, bool) {
	var a storage.Actor
	err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		a, err = tx.ActorByKeyID(keyID)
		return err
	})
	if err != nil || a.PublicKeyPEM == "" {
		return storage.Actor{}, false
	}
	key, err := activitypub.ParsePublicKey(a.PublicKeyPEM)
	if err != nil || signature.Verify(r, body, key, s.now()) != nil {
		return storage.Actor{}, false
	}
	return a, true
}

// reader authenticates a signed GET and returns the actor whose key signed
// it. Unsigned requests and bad signatures get 401.
func (s *Service) reader(r *http.Request) (storage.Actor, error) {
	keyID, err := signature.KeyID(r)
	if err != nil {
		return storage.Actor{}, &Error{Status: http.StatusUnauthorized, Reason: "only members may read this: sign the request", Err: err}
	}
	keyHost, err := activitypub.Host(keyID)
	if err != nil {
		return storage.Actor{}, &Error{Status: http.StatusUnauthorized, Reason: "keyId is not an http(s) IRI"}
	}
	if !s.federates(keyHost) {
		return storage.Actor{}, &Error{Status: http.StatusForbidden, Reason: errDomainRefused.Error()}
	}
	ctx := r.Context()
	actor, key, err := s.remote.SignerKey(ctx, keyID, false)
	if err != nil {
		return storage.Actor{}, &Error{Status: http.StatusUnauthorized, Reason: "could not fetch the signing key", Err: err}
	}
	err = signature.Verify(r, nil, key, s.now())
	if errors.Is(err, signature.ErrInvalidSignature) {
		if fresh, freshKey, refetchErr := s.remote.SignerKey(ctx, keyID, true); refetchErr == nil {
			actor, err = fresh, signature.Verify(r, nil, freshKey, s.now())
		}
	}
	if err != nil {
		return storage.Actor{}, &Error{Status: http.StatusUnauthorized, Reason: err.Error(), Err: err}
	}
	return actor, nil
}

// RefuseUnfederated answers 403 to every signed request from a server the
// instance does not federate with, before it reaches a handler: a blocked
// server may fetch nothing of the groups', not even what is public. The
// keyId is not verified first: claiming to be a blocked server only gets
// the claimant refused. Unsigned requests go through; they name nobody.
func (s *Service) RefuseUnfederated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if keyID, err := signature.KeyID(r); err == nil {
			if host, err := activitypub.Host(keyID); err == nil && !s.federates(host) {
				writeError(w, r, s.log, &Error{Status: http.StatusForbidden, Reason: errDomainRefused.Error(),
					Err: fmt.Errorf("signer host %s", host)})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
