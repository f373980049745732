package federation

import (
	"context"
	"errors"
	"fmt"

	"github.com/hearth-social/hearth/storage"
)

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
	return a, s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		m, err := tx.Membership(g.ID, a.ID)
		found := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return fn(tx, g, a, m, found)
	})
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
	_, err := s.viewGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
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
