package federation

import (
	"context"
	"errors"
	"fmt"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// onFollow is a request to join. Open groups accept at once, approval
// groups hold it for a moderator, and banned actors and closed groups get a
// Reject so the request does not hang in their client. (Servers the
// instance does not federate with were refused before this, with 403.)
func (s *Service) onFollow(ctx context.Context, in inbound) error {
	follow := in.activity
	s.remote.LearnSoftware(ctx, in.actor)
	return s.commit(ctx, follow.ID, func(tx *storage.Tx) error {
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
		switch g.Join {
		case storage.JoinClosed:
			return s.answerFollow(tx, g, in.actor, follow.ID, "Reject")
		case storage.JoinApproval:
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
}

// answerFollow queues an Accept or Reject of a Follow to the follower alone.
// Roster changes go to nobody else.
func (s *Service) answerFollow(tx *storage.Tx, g storage.Group, follower storage.Actor, followID, answer string) error {
	a := activitypub.NewFollowAnswer(answer, s.newActivityID(g), s.iris.Group(g.Name), follower.ID, followID)
	return s.send(tx, g, a, 0, false, []string{follower.Inbox})
}

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
		return s.commit(ctx, in.activity.ID, func(tx *storage.Tx) error {
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
	return s.commit(ctx, in.activity.ID, func(tx *storage.Tx) error {
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

// ErrNotPending is returned when approving or rejecting an actor who has
// not asked to join.
var ErrNotPending = errors.New("has no pending request to join")

// ApproveMember lets a pending actor in and sends the Accept.
func (s *Service) ApproveMember(ctx context.Context, group, account string) (storage.Actor, error) {
	return s.decide(ctx, group, account, func(tx *storage.Tx, g storage.Group, a storage.Actor, m storage.Membership, found bool) error {
		if !found || m.State != storage.Pending {
			return fmt.Errorf("%s %w", a.ID, ErrNotPending)
		}
		if err := tx.SetMembership(g.ID, a.ID, storage.Member, ""); err != nil {
			return err
		}
		return s.answerFollow(tx, g, a, m.FollowID, "Accept")
	})
}

// RejectMember refuses a pending request and sends the Reject.
func (s *Service) RejectMember(ctx context.Context, group, account string) (storage.Actor, error) {
	return s.decide(ctx, group, account, func(tx *storage.Tx, g storage.Group, a storage.Actor, m storage.Membership, found bool) error {
		if !found || m.State != storage.Pending {
			return fmt.Errorf("%s %w", a.ID, ErrNotPending)
		}
		if err := tx.RemoveMembership(g.ID, a.ID); err != nil {
			return err
		}
		return s.answerFollow(tx, g, a, m.FollowID, "Reject")
	})
}

// BanMember removes an actor from the group for good and sends a Reject,
// which makes their server drop the follow. Nobody else is told.
func (s *Service) BanMember(ctx context.Context, group, account string) (storage.Actor, error) {
	return s.decide(ctx, group, account, func(tx *storage.Tx, g storage.Group, a storage.Actor, m storage.Membership, found bool) error {
		if err := tx.SetMembership(g.ID, a.ID, storage.Banned, ""); err != nil {
			return err
		}
		if found && m.State != storage.Banned {
			return s.answerFollow(tx, g, a, m.FollowID, "Reject")
		}
		return nil
	})
}

// ErrNotBanned is returned when unbanning an actor who is not banned.
var ErrNotBanned = errors.New("is not banned")

// UnbanMember lifts a ban; the actor may then ask to join again.
func (s *Service) UnbanMember(ctx context.Context, group, account string) (storage.Actor, error) {
	return s.decide(ctx, group, account, func(tx *storage.Tx, g storage.Group, a storage.Actor, m storage.Membership, found bool) error {
		if !found || m.State != storage.Banned {
			return fmt.Errorf("%s %w", a.ID, ErrNotBanned)
		}
		return tx.RemoveMembership(g.ID, a.ID)
	})
}

type membershipDecision func(tx *storage.Tx, g storage.Group, a storage.Actor, m storage.Membership, found bool) error

// decide resolves the account (outside the transaction: it may fetch) and
// applies a moderator's decision, queueing any answer in the same commit.
func (s *Service) decide(ctx context.Context, group, account string, fn membershipDecision) (storage.Actor, error) {
	a, err := s.remote.ResolveAccount(ctx, account)
	if err != nil {
		return a, err
	}
	err = s.store.Update(ctx, func(tx *storage.Tx) error {
		g, err := tx.GroupByName(group)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%q: %w", group, ErrNoSuchGroup)
		}
		if err != nil {
			return err
		}
		m, err := tx.Membership(g.ID, a.ID)
		found := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return fn(tx, g, a, m, found)
	})
	if err == nil {
		s.deliveries.Wake()
	}
	return a, err
}

// MemberEntry is one row of a group's roster for its administrators.
type MemberEntry struct {
	Actor      storage.Actor
	State      storage.MemberState
	Membership storage.Membership
}

// Members lists the group's rows in state, with what is known of each actor.
// It is for the instance's administrators only: member lists are never
// published.
func (s *Service) Members(ctx context.Context, group string, state storage.MemberState) ([]MemberEntry, error) {
	var out []MemberEntry
	err := s.store.View(ctx, func(tx *storage.Tx) error {
		g, err := tx.GroupByName(group)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%q: %w", group, ErrNoSuchGroup)
		}
		if err != nil {
			return err
		}
		rows, err := tx.Memberships(g.ID, state)
		if err != nil {
			return err
		}
		for _, m := range rows {
			a, err := tx.Actor(m.ActorID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if a.ID == "" {
				a.ID = m.ActorID
			}
			out = append(out, MemberEntry{Actor: a, State: m.State, Membership: m})
		}
		return nil
	})
	return out, err
}
