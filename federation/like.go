package federation

import (
	"context"

	"github.com/hearth-social/hearth/storage"
)

// onLike passes a member's Like or Dislike of a relayed post to the other
// members' group-aware servers, as FEP-1b12 asks.
func (s *Service) onLike(ctx context.Context, in inbound) error {
	return s.passOnReaction(ctx, in, in.activity.ObjectID())
}

// passOnReaction sends a member's reaction to a relayed post (a Like, a
// Dislike, or the Undo of one) to the other members' group-aware servers,
// wrapped in the group's Announce.
func (s *Service) passOnReaction(ctx context.Context, in inbound, target string) error {
	if target == "" {
		return nil
	}
	return s.commit(ctx, in, func(tx *storage.Tx) error {
		posts, err := relayedPosts(tx, target, "")
		if err != nil {
			return err
		}
		for _, p := range posts {
			g, err := tx.GroupByID(p.GroupID)
			if err != nil {
				return err
			}
			// A private group's posts are its own copies; a Like of the
			// member's original is not for the members' servers to see
			// wrapped in a public Announce.
			if g.Visibility == storage.Private || p.CopyID != "" {
				continue
			}
			allowed, err := mayPost(tx, g, in.actor.ID)
			if err != nil {
				return err
			}
			if !allowed {
				continue
			}
			if err := s.announceToMembers(tx, p, in.activity, in.actor.ID, false); err != nil {
				return err
			}
		}
		return nil
	})
}
