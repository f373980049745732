package federation

import (
	"context"
	"errors"
	"fmt"

	"github.com/hearth-social/hearth/storage"
)

// ErrNotModerator is returned when removing an account that does not
// moderate the group.
var ErrNotModerator = errors.New("is not a moderator of the group")

// AddModerator makes a remote account a moderator of the group. It is then
// listed in the moderators collection, where Lemmy looks, and runs the
// group by direct message.
func (s *Service) AddModerator(ctx context.Context, group, account string) (storage.Actor, error) {
	a, err := s.remote.ResolveAccount(ctx, account)
	if err != nil {
		return a, err
	}
	return a, s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		if err := tx.AddModerator(g.ID, a.ID); err != nil {
			return err
		}
		return logAction(tx, g, byAdmin, "add moderator", a.ID, "")
	})
}

// RemoveModerator takes the role away from an account.
func (s *Service) RemoveModerator(ctx context.Context, group, account string) (storage.Actor, error) {
	a, err := s.remote.ResolveAccount(ctx, account)
	if err != nil {
		return a, err
	}
	return a, s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		err := tx.RemoveModerator(g.ID, a.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%s %w", a.Handle(), ErrNotModerator)
		}
		if err != nil {
			return err
		}
		return logAction(tx, g, byAdmin, "remove moderator", a.ID, "")
	})
}

// Moderators lists the group's moderators with what is known of each.
func (s *Service) Moderators(ctx context.Context, group string) ([]storage.Actor, error) {
	var out []storage.Actor
	_, err := s.viewGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		ids, err := tx.Moderators(g.ID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			a, err := knownActor(tx, id)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}
