package federation

import (
	"context"
	"errors"

	"github.com/hearth-social/hearth/storage"
)

// onUndo withdraws an earlier activity of the same actor: leaving a group
// (a banned actor stays banned), or taking back a Like or Dislike, which
// group-aware servers are told of as they were of the reaction.
func (s *Service) onUndo(ctx context.Context, in inbound) error {
	undone := in.activity.Object
	if undone == nil {
		return nil
	}
	inner := undone.Embedded
	if inner == nil {
		// Only the id: the Follow is recognised by the membership's record.
		return s.commit(ctx, in, func(tx *storage.Tx) error {
			return s.leaveByFollowID(tx, in.actor.ID, undone.ID)
		})
	}
	if inner.Actor != "" && inner.Actor != in.actor.ID {
		return &Error{Status: 401, Reason: "cannot undo another actor's activity"}
	}
	switch inner.Type {
	case "Like", "Dislike":
		return s.passOnReaction(ctx, in, inner.ObjectID())
	case "Follow":
	default:
		return nil
	}
	return s.commit(ctx, in, func(tx *storage.Tx) error {
		g, ok, err := s.groupByIRI(tx, inner.ObjectID())
		if err != nil || !ok {
			return err
		}
		return s.leave(tx, g, in.actor.ID)
	})
}

func (s *Service) leaveByFollowID(tx *storage.Tx, actorID, followID string) error {
	memberships, err := tx.MembershipsOf(actorID)
	if err != nil {
		return err
	}
	for _, m := range memberships {
		if m.FollowID == followID {
			g, err := tx.GroupByID(m.GroupID)
			if err != nil {
				return err
			}
			return s.leave(tx, g, actorID)
		}
	}
	return nil
}

func (s *Service) leave(tx *storage.Tx, g storage.Group, actorID string) error {
	m, err := tx.Membership(g.ID, actorID)
	if errors.Is(err, storage.ErrNotFound) || err == nil && m.State == storage.Banned {
		return nil
	}
	if err != nil {
		return err
	}
	s.log.Info("member left", "group", g.Name)
	s.log.Debug("member left", "group", g.Name, "actor", actorID)
	return tx.RemoveMembership(g.ID, actorID)
}
