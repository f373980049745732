package federation

import (
	"context"
	"errors"
	"time"

	"github.com/hearth-social/hearth/storage"
)

// Who the moderation log names when no moderator acted.
const (
	// byAdmin is the instance's administrator, at the command line.
	byAdmin = "admin"
	// byExpiry is the clock: a ban that ran out.
	byExpiry = "expiry"
)

// logAction adds an action to g's moderation log. by is the moderator's
// actor id, byAdmin or byExpiry; target an actor id, a post's address or
// a report's number.
func logAction(tx *storage.Tx, g storage.Group, by, action, target, reason string) error {
	return tx.LogModeration(storage.LogEntry{GroupID: g.ID, By: by, Action: action, Target: target, Reason: reason})
}

// LogLine is one line of a group's moderation log, with accounts written
// as their handles where they are known.
type LogLine struct {
	At     time.Time
	By     string
	Action string
	Target string
	Reason string
}

// ModerationLog lists the group's moderation log, newest first, at most
// limit lines. It is for the instance's administrators.
func (s *Service) ModerationLog(ctx context.Context, group string, limit int) ([]LogLine, error) {
	var out []LogLine
	_, err := s.viewGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		entries, err := tx.ModerationLog(g.ID, limit)
		if err != nil {
			return err
		}
		for _, e := range entries {
			by, err := handleOf(tx, e.By)
			if err != nil {
				return err
			}
			target, err := handleOf(tx, e.Target)
			if err != nil {
				return err
			}
			out = append(out, LogLine{At: e.At, By: by, Action: e.Action, Target: target, Reason: e.Reason})
		}
		return nil
	})
	return out, err
}

// handleOf writes an actor id as the account's handle when the actor is
// known, and anything else as it is.
func handleOf(tx *storage.Tx, id string) (string, error) {
	a, err := tx.Actor(id)
	if errors.Is(err, storage.ErrNotFound) {
		return id, nil
	}
	return accountName(a), err
}
