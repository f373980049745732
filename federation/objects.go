package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/storage"
)

// objectRoutes serves the notes the groups author and the activities they
// send, so that peers can fetch what they were sent or what a reply names.
func (s *Service) objectRoutes(r chi.Router) {
	getAndHead(r, "/g/{name}/notes/{token}", s.handle(s.groupNoteDocument))
	getAndHead(r, "/g/{name}/activities/{token}", s.handle(s.groupActivityDocument))
}

var (
	errMembersOnly = &Error{Status: http.StatusForbidden, Reason: "this is for the group's members"}
	errNoSuchNote  = &Error{Status: http.StatusNotFound, Reason: "no such note"}
	errNoteGone    = &Error{Status: http.StatusGone, Reason: "this note was deleted"}
)

// groupNoteDocument serves one of the group's notes: a copy of a post once
// published, or a direct message it sent. Only a public note is served to
// anyone; the others go to a signed fetch by someone they were sent to.
func (s *Service) groupNoteDocument(w http.ResponseWriter, r *http.Request) error {
	var note *activitypub.Note
	g, err := s.groupOf(r, func(tx *storage.Tx, g storage.Group) error {
		var err error
		note, err = s.storedNote(tx, g, s.iris.GroupNote(g.Name, chi.URLParam(r, "token")))
		return err
	})
	if err != nil {
		return err
	}
	if err := s.authorizeRead(r, g, append(slices.Clone(note.To), note.CC...)); err != nil {
		return err
	}
	return writeActivity(w, note.Standalone())
}

// storedNote finds the note with id among the group's copies and notices.
func (s *Service) storedNote(tx *storage.Tx, g storage.Group, id string) (*activitypub.Note, error) {
	p, err := tx.PostByCopy(id)
	switch {
	case err == nil && p.GroupID == g.ID:
		switch p.State {
		case storage.Relayed:
			return currentNote(tx, p)
		case storage.Removed:
			return nil, errNoteGone
		}
		// Held and declined posts were never published.
		return nil, errNoSuchNote
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	n, err := tx.NoticeByNote(id)
	if errors.Is(err, storage.ErrNotFound) || err == nil && n.GroupID != g.ID {
		return nil, errNoSuchNote
	}
	if err != nil {
		return nil, err
	}
	if about, err := tx.PostByID(n.PostID); err != nil {
		return nil, err
	} else if erased(about) {
		return nil, errNoteGone
	}
	sent, err := tx.ActivityByID(n.ActivityID)
	if err != nil {
		return nil, err
	}
	return noteOf(sent.Body)
}

// erased reports whether p is gone for good, its traces scrubbed: deleted,
// withdrawn or declined. What the group sent about it, the notices to
// moderators and author included, answers 410.
func erased(p storage.Post) bool {
	return p.State == storage.Removed || p.State == storage.Declined
}

// groupActivityDocument serves an activity the group sent, to those it was
// addressed to. The activities about a deleted post are gone with it.
func (s *Service) groupActivityDocument(w http.ResponseWriter, r *http.Request) error {
	var sent storage.Activity
	g, err := s.groupOf(r, func(tx *storage.Tx, g storage.Group) error {
		var err error
		sent, err = tx.ActivityByID(s.iris.GroupActivity(g.Name, chi.URLParam(r, "token")))
		if errors.Is(err, storage.ErrNotFound) || err == nil && sent.GroupID != g.ID {
			return &Error{Status: http.StatusNotFound, Reason: "no such activity"}
		}
		if err != nil || sent.PostID == 0 {
			return err
		}
		p, err := tx.PostByID(sent.PostID)
		if err == nil && erased(p) && sent.Type != "Delete" && sent.Type != "Undo" {
			return &Error{Status: http.StatusGone, Reason: "this activity's post was deleted"}
		}
		return err
	})
	if err != nil {
		return err
	}
	var audience struct {
		To []string `json:"to"`
		CC []string `json:"cc"`
	}
	if err := json.Unmarshal(sent.Body, &audience); err != nil {
		return fmt.Errorf("stored activity %s: %w", sent.ID, err)
	}
	if err := s.authorizeRead(r, g, append(audience.To, audience.CC...)); err != nil {
		return err
	}
	return writeActivity(w, json.RawMessage(sent.Body))
}

// membersOnly reports whether an activity the group sent is addressed to
// its members and not to everyone.
func membersOnly(body []byte, followers string) bool {
	var audience struct {
		To []string `json:"to"`
		CC []string `json:"cc"`
	}
	if json.Unmarshal(body, &audience) != nil {
		return true
	}
	all := append(audience.To, audience.CC...)
	return slices.Contains(all, followers) && !slices.Contains(all, activitypub.Public)
}

// authorizeRead lets anyone read what is addressed to the public, and
// anything else only to a signed fetch by a reader that mayRead admits.
func (s *Service) authorizeRead(r *http.Request, g storage.Group, audience []string) error {
	if slices.Contains(audience, activitypub.Public) {
		return nil
	}
	reader, err := s.reader(r)
	if err != nil {
		return err
	}
	return s.store.View(r.Context(), func(tx *storage.Tx) error {
		allowed, err := s.mayRead(tx, g, reader, audience)
		if err == nil && !allowed {
			return errMembersOnly
		}
		return err
	})
}

// mayRead decides whether reader may see what group g addressed to
// audience. A person must be one it was addressed to: a member or
// moderator, for what went to the followers collection, or the addressee
// of a direct message. A whole server may read only through its instance
// actor (an Application or Service, which Mastodon signs with when it
// fetches for all its users), and only what went to one of its people:
// another person on the same server is not let in.
func (s *Service) mayRead(tx *storage.Tx, g storage.Group, reader storage.Actor, audience []string) (bool, error) {
	followers := s.iris.GroupFollowers(g.Name)
	server := serverActor(reader)
	for _, iri := range audience {
		switch {
		case iri == reader.ID:
			return true, nil
		case iri == followers:
			admitted, err := admittedByMembership(tx, g, reader, server)
			if err != nil || admitted {
				return admitted, err
			}
		case server:
			if host, err := activitypub.Host(iri); err == nil && host == reader.Host {
				return true, nil
			}
		}
	}
	return false, nil
}

// serverActor reports whether a fetches for its whole server rather than
// for one person. Mastodon's instance actor is an Application. Bots are
// Services, so a Service counts only when it is named as servers name
// their own actor: after the host (GoToSocial) or instance.actor (Misskey).
func serverActor(a storage.Actor) bool {
	switch a.Type {
	case "Application":
		return true
	case "Service":
		host, _, _ := strings.Cut(a.Host, ":")
		return strings.EqualFold(a.Username, host) || a.Username == "instance.actor"
	}
	return false
}

// admittedByMembership reports whether reader is a member or moderator of
// g, or, when it acts for its whole server, the server of a member.
func admittedByMembership(tx *storage.Tx, g storage.Group, reader storage.Actor, server bool) (bool, error) {
	m, err := tx.Membership(g.ID, reader.ID)
	switch {
	case err == nil && m.State == storage.Member:
		return true, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return false, err
	}
	if moderator, err := tx.IsModerator(g.ID, reader.ID); err != nil || moderator {
		return moderator, err
	}
	if !server {
		return false, nil
	}
	return tx.HostHasMember(g.ID, reader.Host)
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
