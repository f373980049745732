package federation

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/storage"
)

// errDropped marks an activity answered 202 and ignored without verifying.
var errDropped = errors.New("dropped")

// inbound is one verified activity and the actor who signed it.
type inbound struct {
	activity *activitypub.Object
	actor    storage.Actor
	// named is the account a moderator's command in the activity names,
	// looked up before the transaction that carries the command out.
	named namedAccount
	// release is the held post a moderator released, when the activity is
	// relayed again for that.
	release *storage.Post
	// unsaved, when not nil, says that actor was fetched to verify the
	// request and is not cached yet: commit keeps it in the activity's own
	// transaction, and Inbox afterwards if nothing committed.
	unsaved *unsavedActor
}

// unsavedActor records whether a fetched signer was kept.
type unsavedActor struct{ kept bool }

// Inbox runs the pipeline: cheap checks first, then the signature, then the
// meaning. Nothing is stored before the signature, digest and date check
// pass, and the answer is 202 only once the effects are committed: a sender
// retries only on an error, so a 202 for something not kept would lose it.
func (s *Service) Inbox(w http.ResponseWriter, r *http.Request) (err error) {
	activityType := "unknown"
	defer func() { s.countInbound(activityType, err) }()
	if !s.admitSigner(w, r) {
		return nil
	}
	if name := r.PathValue("name"); name != "" {
		if _, err := s.Group(r.Context(), name); err != nil {
			return err
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
	if in.activity != nil {
		activityType = in.activity.Type
	}
	if errors.Is(err, errDropped) {
		s.log.Info("dropped activity", "path", r.URL.Path)
		s.log.Debug("dropped activity", "reason", err.Error())
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	if err != nil {
		return err
	}
	if in.unsaved != nil {
		defer func() {
			if !in.unsaved.kept {
				s.keep(r.Context(), in.actor)
			}
		}()
	}
	if err := s.dispatch(r.Context(), in); err != nil {
		return err
	}
	s.deliveries.Wake()
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// dispatch hands the activity to the handler of its type. Unknown types are
// accepted and ignored, as the protocol asks.
func (s *Service) dispatch(ctx context.Context, in inbound) error {
	// A redelivered activity changes nothing (see commit); knowing it
	// first spares the fetches some handlers make before they commit.
	var seen bool
	if err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		seen, err = tx.Seen(in.activity.ID)
		return err
	}); err != nil || seen {
		return err
	}
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
	case "Flag":
		return s.onFlag(ctx, in)
	}
	s.log.Debug("ignoring activity", "type", in.activity.Type, "id", in.activity.ID)
	return nil
}

// commit runs fn in one transaction with the record that the activity was
// seen: a redelivered activity finds its id taken and changes nothing. A
// signer fetched to verify the activity is cached in the same transaction:
// a request from a new account takes the only writer once.
func (s *Service) commit(ctx context.Context, in inbound, fn func(*storage.Tx) error) error {
	err := s.store.Update(ctx, func(tx *storage.Tx) error {
		if in.unsaved != nil {
			if err := tx.PutActor(in.actor); err != nil {
				return err
			}
		}
		fresh, err := tx.MarkSeen(in.activity.ID)
		if err != nil || !fresh {
			return err
		}
		return fn(tx)
	})
	if err == nil && in.unsaved != nil {
		in.unsaved.kept = true
	}
	return err
}

// countedTypes are the activity types counted by name; the rest, which a
// sender may make up at will, count as "other".
var countedTypes = map[string]bool{
	"Follow": true, "Undo": true, "Create": true, "Update": true, "Delete": true, "Like": true, "Dislike": true,
	"Move": true, "Flag": true, "Announce": true, "Accept": true, "Reject": true, "Block": true, "Add": true, "Remove": true,
}

// countInbound records what became of an inbox POST: accepted (answered
// 202, whether acted on or ignored), refused (4xx) or failed (5xx). A
// refusal of the signature is counted by its reason as well.
func (s *Service) countInbound(activityType string, err error) {
	if activityType != "unknown" && !countedTypes[activityType] {
		activityType = "other"
	}
	var e *Error
	switch {
	case err == nil:
		s.cfg.Metrics.Inbound(activityType, "accepted")
		return
	case errors.As(err, &e) && e.Status < http.StatusInternalServerError:
		s.cfg.Metrics.Inbound(activityType, "refused")
	default:
		s.cfg.Metrics.Inbound(activityType, "failed")
		return
	}
	var refused *signature.Error
	switch {
	case errors.As(err, &refused):
		s.cfg.Metrics.SignatureFailure(refused.Reason.Error())
	case e.Status == http.StatusUnauthorized:
		s.cfg.Metrics.SignatureFailure(e.Reason)
	}
}
