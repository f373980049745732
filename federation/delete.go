package federation

import (
	"context"
	"encoding/json"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// onDelete handles an account deleting itself (it leaves every group) or an
// author deleting a relayed post: group-aware servers get the Announce of
// the Delete, microblogs get the boost withdrawn.
func (s *Service) onDelete(ctx context.Context, in inbound) error {
	target := in.activity.ObjectID()
	if target == in.actor.ID {
		return s.commit(ctx, in, func(tx *storage.Tx) error {
			s.log.Debug("account deleted; removing it from every group", "actor", in.actor.ID)
			return tx.DeleteActor(in.actor.ID)
		})
	}
	if target == "" || !activitypub.SameOrigin(target, in.actor.ID) {
		return nil
	}
	return s.commit(ctx, in, func(tx *storage.Tx) error {
		if err := dropHeld(tx, target, in.actor.ID); err != nil {
			return err
		}
		posts, err := relayedPosts(tx, target, in.actor.ID)
		if err != nil {
			return err
		}
		for _, p := range posts {
			if p.CopyID != "" {
				if err := s.deleteCopy(tx, p); err != nil {
					return err
				}
				continue
			}
			var deletion any
			if !blindCopies(in.activity) {
				// Passed on exactly as received, it would show everyone
				// whom its author copied blind.
				deletion = json.RawMessage(in.activity.Raw)
			}
			if err := s.withdraw(tx, p, deletion); err != nil {
				return err
			}
		}
		return nil
	})
}
