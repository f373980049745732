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

// authenticate is the one check of a signed request, a POST to an inbox or
// a GET of a document, and returns the actor whose key signed it. What
// needs no key comes first: the signer's domain, then the signed headers,
// the date and the digest of body (nil for a GET), so that a refused,
// replayed or tampered request costs no request to another server. Then
// beforeFetch, when not nil, may refuse the request for what its content
// claims, still before the key is fetched. A signature that does not verify
// with the cached key is tried once with the key fetched again, in case the
// sender rotated it.
//
// Refusals are 401, a server the instance does not federate with 403, and
// a key server that may come back 503, so that its sender retries. A key
// that is gone is a 401 whose error wraps dereference.ErrGone.
//
// An actor that had to be fetched comes back with fetched true, not yet
// cached: see dereference.Fetcher.SignerKey. It is returned, to be kept,
// even when the signature then fails.
func (s *Service) authenticate(r *http.Request, body []byte, beforeFetch func(keyHost string) error) (actor storage.Actor, fetched bool, err error) {
	keyID, err := signature.KeyID(r)
	if err != nil {
		return storage.Actor{}, false, &Error{Status: http.StatusUnauthorized, Reason: err.Error(), Err: err}
	}
	keyHost, err := activitypub.Host(keyID)
	if err != nil {
		return storage.Actor{}, false, &Error{Status: http.StatusUnauthorized, Reason: "keyId is not an http(s) IRI"}
	}
	if !s.federates(keyHost) {
		return storage.Actor{}, false, &Error{Status: http.StatusForbidden, Reason: errDomainRefused.Error(), Err: fmt.Errorf("signer host %s", keyHost)}
	}
	if err := signature.Precheck(r, body, s.now()); err != nil {
		return storage.Actor{}, false, &Error{Status: http.StatusUnauthorized, Reason: err.Error(), Err: err}
	}
	if beforeFetch != nil {
		if err := beforeFetch(keyHost); err != nil {
			return storage.Actor{}, false, err
		}
	}
	ctx := r.Context()
	actor, key, fetched, err := s.remote.SignerKey(ctx, keyID, false)
	if errors.Is(err, dereference.ErrUnavailable) {
		return storage.Actor{}, false, &Error{Status: http.StatusServiceUnavailable, Reason: "could not fetch the signing key; try again later", Err: err}
	}
	if err != nil {
		return storage.Actor{}, false, &Error{Status: http.StatusUnauthorized, Reason: "could not fetch the signing key", Err: err}
	}
	err = signature.Verify(r, body, key, s.now())
	if errors.Is(err, signature.ErrInvalidSignature) {
		if fresh, freshKey, refetched, refetchErr := s.remote.SignerKey(ctx, keyID, true); refetchErr == nil {
			actor, fetched, err = fresh, fetched || refetched, signature.Verify(r, body, freshKey, s.now())
		}
	}
	if err != nil {
		return actor, fetched, &Error{Status: http.StatusUnauthorized, Reason: err.Error(), Err: err}
	}
	return actor, fetched, nil
}

// keep caches an actor authenticate fetched, for a request that has no
// transaction of its own to keep it in. A failure only means the next
// request fetches it again.
func (s *Service) keep(ctx context.Context, actor storage.Actor) {
	err := s.store.Update(context.WithoutCancel(ctx), func(tx *storage.Tx) error { return tx.PutActor(actor) })
	if err != nil {
		s.log.Warn("caching a signer", "err", err)
	}
}

// verify authenticates a POST to an inbox: the signature, and that the
// signer is the activity's actor. Until the signature verifies, only the
// activity's envelope is read: decoding a large body in full costs a
// hundred times more, and anyone can send one. A signer fetched for it is
// kept by the activity's commit (see inbound.unsaved), or at once when the
// activity is refused here.
func (s *Service) verify(r *http.Request, body []byte) (in inbound, err error) {
	var env activitypub.Envelope
	actor, fetched, err := s.authenticate(r, body, func(keyHost string) error {
		var err error
		if env, err = activitypub.ReadEnvelope(body); err != nil {
			return &Error{Status: http.StatusBadRequest, Reason: "malformed activity", Err: err}
		}
		if env.ID == "" || env.Actor == "" {
			return &Error{Status: http.StatusBadRequest, Reason: "activity needs an id and an actor"}
		}
		if actorHost, err := activitypub.Host(env.Actor); err != nil || actorHost != keyHost {
			return &Error{Status: http.StatusUnauthorized, Reason: "the signer is not the activity's actor",
				Err: fmt.Errorf("key on %s, actor %s", keyHost, env.Actor)}
		}
		if !activitypub.SameOrigin(env.ID, env.Actor) {
			// Ids are deduplicated across everyone: an id from another server
			// could be used to make that server's real activity look repeated.
			return &Error{Status: http.StatusBadRequest, Reason: "the activity's id is not on its actor's server"}
		}
		return nil
	})
	if errors.Is(err, dereference.ErrGone) && env.Type == "Delete" && env.ObjectID == env.Actor {
		// A deleted account's key is gone with it. The copy we kept,
		// however old, still proves the Delete; without one there is
		// nothing of ours to change: drop it quietly rather than let its
		// server retry for days.
		cached, ok := s.cachedSigner(r.Context(), r, body)
		if !ok || cached.ID != env.Actor {
			return inbound{}, fmt.Errorf("%w: delete of %s, whose key is gone", errDropped, env.Actor)
		}
		actor, err = cached, nil
	}
	if fetched {
		defer func() {
			if err != nil {
				s.keep(r.Context(), actor)
			}
		}()
	}
	if err != nil {
		return inbound{}, err
	}
	if env.Actor != actor.ID {
		return inbound{}, &Error{Status: http.StatusUnauthorized, Reason: "the signer is not the activity's actor",
			Err: fmt.Errorf("signed by %s, actor %s", actor.ID, env.Actor)}
	}
	activity, err := activitypub.Decode(body)
	if err != nil {
		return inbound{}, &Error{Status: http.StatusBadRequest, Reason: "malformed activity", Err: err}
	}
	if (activitypub.Envelope{ID: activity.ID, Type: activity.Type, Actor: activity.Actor, ObjectID: activity.ObjectID()}) != env {
		// What was checked must be what is acted on.
		return inbound{}, &Error{Status: http.StatusBadRequest, Reason: "malformed activity",
			Err: fmt.Errorf("read as %+v before decoding, %s %s by %s after", env, activity.Type, activity.ID, activity.Actor)}
	}
	in = inbound{activity: activity, actor: actor}
	if fetched {
		in.unsaved = &unsavedActor{}
	}
	return in, nil
}

// cachedSigner verifies the request with the key cached for its keyId,
// however old, and returns its actor when it verifies.
func (s *Service) cachedSigner(ctx context.Context, r *http.Request, body []byte) (storage.Actor, bool) {
	keyID, err := signature.KeyID(r)
	if err != nil {
		return storage.Actor{}, false
	}
	var a storage.Actor
	err = s.store.View(ctx, func(tx *storage.Tx) (err error) {
		a, err = tx.ActorByKeyID(keyID)
		return err
	})
	if err != nil || a.KeyPEM(keyID) == "" {
		return storage.Actor{}, false
	}
	key, err := activitypub.ParseVerificationKey(a.KeyPEM(keyID))
	if err != nil || signature.Verify(r, body, key, s.now()) != nil {
		return storage.Actor{}, false
	}
	return a, true
}

// readerKey is the context key of the actor AuthorizedFetch found to have
// signed a GET.
type readerKey struct{}

// reader authenticates a signed GET and returns the actor whose key signed
// it, as authenticate does, once per request.
func (s *Service) reader(r *http.Request) (storage.Actor, error) {
	if a, ok := r.Context().Value(readerKey{}).(storage.Actor); ok {
		return a, nil
	}
	return s.authenticateReader(r)
}

// authenticateReader authenticates a signed GET, and caches its signer if
// it had to be fetched.
func (s *Service) authenticateReader(r *http.Request) (storage.Actor, error) {
	reader, fetched, err := s.authenticate(r, nil, nil)
	if fetched {
		s.keep(r.Context(), reader)
	}
	return reader, err
}

// AuthorizedFetch guards a document in authorized-fetch mode: only a GET
// signed by a server the instance federates with is served it, as
// Mastodon's secure mode does, so that a blocked server cannot read even
// what is public by asking unsigned. An unsigned request gets 401, a
// refused server 403. Outside that mode it returns h itself.
func (s *Service) AuthorizedFetch(h HandlerFunc) HandlerFunc {
	if !s.cfg.AuthorizedFetch {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		reader, err := s.authenticateReader(r)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), readerKey{}, reader)))
	}
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
