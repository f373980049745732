package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

var (
	errMembersOnly = &Error{Status: http.StatusForbidden, Reason: "this is for the group's members"}
	errNoSuchNote  = &Error{Status: http.StatusNotFound, Reason: "no such note"}
	errNoteGone    = &Error{Status: http.StatusGone, Reason: "this note was deleted"}
)

// NoteDocument serves one of the group's notes: a copy of a post once
// published, or a direct message it sent. Only a public note is served to
// anyone; the others go to a signed fetch by someone they were sent to.
func (s *Service) NoteDocument(w http.ResponseWriter, r *http.Request) error {
	var note *activitypub.Note
	g, err := s.groupOf(r, func(tx *storage.Tx, g storage.Group) error {
		var err error
		note, err = s.storedNote(tx, g, s.iris.GroupNote(g.Name, r.PathValue("token")))
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

// ActivityDocument serves an activity the group sent, to those it was
// addressed to. The activities about a deleted post are gone with it.
func (s *Service) ActivityDocument(w http.ResponseWriter, r *http.Request) error {
	var sent storage.Activity
	g, err := s.groupOf(r, func(tx *storage.Tx, g storage.Group) error {
		var err error
		sent, err = tx.ActivityByID(s.iris.GroupActivity(g.Name, r.PathValue("token")))
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
