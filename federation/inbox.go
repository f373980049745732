package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/dereference"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/storage"
)

// inboxRoutes mounts the shared inbox and every group's inbox. Both run the
// same pipeline: what an activity means is decided by its content, not by
// the door it came through.
func (s *Service) inboxRoutes(r chi.Router) {
	r.Post("/inbox", s.handle(s.inbox))
	r.Post("/g/{name}/inbox", s.handle(s.inbox))
}

// errDropped marks an activity answered 202 and ignored without verifying.
var errDropped = errors.New("dropped")

// inbound is one verified activity and the actor who signed it.
type inbound struct {
	activity *activitypub.Object
	actor    storage.Actor
}

// inbox runs the pipeline: cheap checks first, then the signature, then the
// meaning. Nothing is stored before the signature, digest and date check
// pass, and the answer is 202 only once the effects are committed: a sender
// retries only on an error, so a 202 for something not kept would lose it.
func (s *Service) inbox(w http.ResponseWriter, r *http.Request) error {
	if name := chi.URLParam(r, "name"); name != "" {
		if _, err := s.Group(r.Context(), name); err != nil {
			return &Error{Status: http.StatusNotFound, Reason: "no such group", Err: err}
		}
	}
	if r.ContentLength > activitypub.MaxDocumentSize {
		return &Error{Status: http.StatusRequestEntityTooLarge, Reason: "body larger than 1 MiB"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, activitypub.MaxDocumentSize))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Reason: "body larger than 1 MiB"}
		}
		return &Error{Status: http.StatusBadRequest, Reason: "could not read body", Err: err}
	}
	in, err := s.verify(r, body)
	if errors.Is(err, errDropped) {
		s.log.Info("dropped activity", "path", r.URL.Path, "reason", err.Error())
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.dispatch(r.Context(), in); err != nil {
		return err
	}
	s.deliveries.Wake()
	w.WriteHeader(http.StatusAccepted)
	return nil
}

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

// dispatch hands the activity to the handler of its type. Unknown types are
// accepted and ignored, as the protocol asks.
func (s *Service) dispatch(ctx context.Context, in inbound) error {
	switch in.activity.Type {
	case "Follow":
		return s.onFollow(ctx, in)
	case "Undo":
		return s.onUndo(ctx, in)
	case "Create":
		return s.onCreate(ctx, in)
	case "Update":
		return s.onUpdate(ctx, in)
	case "Delete":
		return s.onDelete(ctx, in)
	case "Like", "Dislike":
		return s.onLike(ctx, in)
	case "Move":
		return s.onMove(ctx, in)
	}
	s.log.Debug("ignoring activity", "type", in.activity.Type, "id", in.activity.ID)
	return nil
}

// commit runs fn in one transaction with the record that the activity was
// seen: a redelivered activity finds its id taken and changes nothing.
func (s *Service) commit(ctx context.Context, activityID string, fn func(*storage.Tx) error) error {
	return s.store.Update(ctx, func(tx *storage.Tx) error {
		fresh, err := tx.MarkSeen(activityID)
		if err != nil || !fresh {
			return err
		}
		return fn(tx)
	})
}

// send stores an activity the group sends and queues it for inboxes, inside
// the caller's transaction. Inboxes on servers the instance does not
// federate with (blocked since their members joined) are left out.
func (s *Service) send(tx *storage.Tx, g storage.Group, a *activitypub.Activity, postID int64, inOutbox bool, inboxes []string) error {
	body, err := activitypub.Marshal(a)
	if err != nil {
		return err
	}
	allowed := inboxes[:0:0]
	for _, inbox := range inboxes {
		if host, err := activitypub.Host(inbox); err == nil && s.federates(host) {
			allowed = append(allowed, inbox)
		}
	}
	return tx.Enqueue(storage.Activity{ID: a.ID, GroupID: g.ID, PostID: postID, Type: a.Type, InOutbox: inOutbox, Body: body}, allowed)
}

// newActivityID mints the id of an activity group g sends.
func (s *Service) newActivityID(g storage.Group) string {
	return s.iris.GroupActivity(g.Name, activitypub.NewToken())
}

// groupByIRI finds the local group an IRI names (its id or followers).
func (s *Service) groupByIRI(tx *storage.Tx, iri string) (storage.Group, bool, error) {
	name, ok := s.iris.GroupName(iri)
	if !ok || ValidateGroupName(name) != nil {
		return storage.Group{}, false, nil
	}
	g, err := tx.GroupByName(name)
	if errors.Is(err, storage.ErrNotFound) {
		return g, false, nil
	}
	return g, err == nil, err
}
