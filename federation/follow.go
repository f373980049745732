package federation

import (
	"context"
	"errors"

	"github.com/hearth-social/hearth/storage"
)

// onFollow is a request to join. Open groups accept at once, approval
// groups hold it for a moderator, and banned actors and closed groups get a
// Reject so the request does not hang in their client. (Servers the
// instance does not federate with were refused before this, with 403.)
func (s *Service) onFollow(ctx context.Context, in inbound) error {
	follow := in.activity
	joining := false
	err := s.commit(ctx, follow.ID, func(tx *storage.Tx) error {
		g, ok, err := s.groupByIRI(tx, follow.ObjectID())
		if err != nil || !ok {
			return err
		}
		current, err := tx.Membership(g.ID, in.actor.ID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return err
		case current.State == storage.Banned:
			return s.answerFollow(tx, g, in.actor, follow.ID, "Reject")
		case current.State == storage.Member:
			// Their server forgot it follows us; confirm again.
			if err := tx.SetMembership(g.ID, in.actor.ID, storage.Member, follow.ID); err != nil {
				return err
			}
			return s.answerFollow(tx, g, in.actor, follow.ID, "Accept")
		}
		if g.Join == storage.JoinClosed {
			return s.answerFollow(tx, g, in.actor, follow.ID, "Reject")
		}
		joining = true
		if g.Join == storage.JoinApproval {
			s.log.Info("join request held for a moderator", "group", g.Name)
			s.log.Debug("join request", "group", g.Name, "actor", in.actor.ID)
			return tx.SetMembership(g.ID, in.actor.ID, storage.Pending, follow.ID)
		}
		if err := tx.SetMembership(g.ID, in.actor.ID, storage.Member, follow.ID); err != nil {
			return err
		}
		s.log.Info("member joined", "group", g.Name)
		s.log.Debug("member joined", "group", g.Name, "actor", in.actor.ID)
		return s.answerFollow(tx, g, in.actor, follow.ID, "Accept")
	})
	if err == nil && joining {
		// Only now, with the Follow kept: see learner.
		s.learning.add(in.actor)
	}
	return err
}
