package federation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// ErrNotPending is returned when approving or rejecting an actor who has
// not asked to join.
var ErrNotPending = errors.New("has no pending request to join")

// ErrNotBanned is returned when unbanning an actor who is not banned.
var ErrNotBanned = errors.New("is not banned")

// MaxBanDays bounds a ban's length in days.
const MaxBanDays = 3650

// BanTerms are how long a ban lasts and why it was made.
type BanTerms struct {
	Days   int // 0: until lifted
	Reason string
}

// ApproveMember lets a pending actor in and sends the Accept.
func (s *Service) ApproveMember(ctx context.Context, group, account string) (storage.Actor, error) {
	return s.decide(ctx, group, account, func(tx *storage.Tx, g storage.Group, a storage.Actor) error {
		return s.approve(tx, g, a, byAdmin)
	})
}

// RejectMember refuses a pending request and sends the Reject.
func (s *Service) RejectMember(ctx context.Context, group, account string) (storage.Actor, error) {
	return s.decide(ctx, group, account, func(tx *storage.Tx, g storage.Group, a storage.Actor) error {
		return s.reject(tx, g, a, byAdmin)
	})
}

// BanMember removes an actor from the group, for good or for terms.Days,
// and sends their server a Reject of their follow and a Block from the
// group: Mastodon then drops the follow and lets them follow no more.
// Nobody else is told.
func (s *Service) BanMember(ctx context.Context, group, account string, terms BanTerms) (storage.Actor, error) {
	return s.decide(ctx, group, account, func(tx *storage.Tx, g storage.Group, a storage.Actor) error {
		return s.ban(tx, g, a, terms, byAdmin)
	})
}

// UnbanMember lifts a ban and undoes the group's Block; the actor may then
// ask to join again.
func (s *Service) UnbanMember(ctx context.Context, group, account string) (storage.Actor, error) {
	return s.decide(ctx, group, account, func(tx *storage.Tx, g storage.Group, a storage.Actor) error {
		return s.unban(tx, g, a, byAdmin)
	})
}

// decide resolves the account (outside the transaction: it may fetch) and
// applies a decision about it, queueing any answer in the same commit.
func (s *Service) decide(ctx context.Context, group, account string, fn func(*storage.Tx, storage.Group, storage.Actor) error) (storage.Actor, error) {
	a, err := s.remote.ResolveAccount(ctx, account)
	if err != nil {
		return a, err
	}
	return a, s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error { return fn(tx, g, a) })
}

// membership returns a's row in g; found is false when there is none.
func membership(tx *storage.Tx, g storage.Group, a storage.Actor) (m storage.Membership, found bool, err error) {
	m, err = tx.Membership(g.ID, a.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return m, false, nil
	}
	return m, err == nil, err
}

// approve lets a pending actor in, for a moderator (by).
func (s *Service) approve(tx *storage.Tx, g storage.Group, a storage.Actor, by string) error {
	m, found, err := membership(tx, g, a)
	if err != nil {
		return err
	}
	if !found || m.State != storage.Pending {
		return fmt.Errorf("%s %w", accountName(a), ErrNotPending)
	}
	if err := tx.SetMembership(g.ID, a.ID, storage.Member, ""); err != nil {
		return err
	}
	if err := s.answerFollow(tx, g, a, m.FollowID, "Accept"); err != nil {
		return err
	}
	return logAction(tx, g, by, "approve", a.ID, "")
}

// reject refuses a pending request, for a moderator (by).
func (s *Service) reject(tx *storage.Tx, g storage.Group, a storage.Actor, by string) error {
	m, found, err := membership(tx, g, a)
	if err != nil {
		return err
	}
	if !found || m.State != storage.Pending {
		return fmt.Errorf("%s %w", accountName(a), ErrNotPending)
	}
	if err := tx.RemoveMembership(g.ID, a.ID); err != nil {
		return err
	}
	if err := s.answerFollow(tx, g, a, m.FollowID, "Reject"); err != nil {
		return err
	}
	return logAction(tx, g, by, "reject", a.ID, "")
}

// ban bans a from g on terms, for a moderator (by). The Reject and the
// Block are signed by the group, so the banned person never learns which
// moderator acted. Banning someone banned already changes the terms alone.
func (s *Service) ban(tx *storage.Tx, g storage.Group, a storage.Actor, terms BanTerms, by string) error {
	if terms.Days < 0 || terms.Days > MaxBanDays {
		return errBanDays
	}
	m, found, err := membership(tx, g, a)
	if err != nil {
		return err
	}
	var expires time.Time
	if terms.Days > 0 {
		expires = tx.Now().Add(time.Duration(terms.Days) * 24 * time.Hour)
	}
	blockID, reason := m.BlockID, terms.Reason
	if found && m.State == storage.Banned && reason == "" {
		reason = m.BanReason
	}
	if !found || m.State != storage.Banned {
		if found {
			if err := s.answerFollow(tx, g, a, m.FollowID, "Reject"); err != nil {
				return err
			}
		}
		if a.Inbox != "" {
			block := activitypub.NewBlock(s.newActivityID(g), s.iris.Group(g.Name), a.ID)
			if err := s.send(tx, g, block, 0, false, []string{a.Inbox}); err != nil {
				return err
			}
			blockID = block.ID
		}
	}
	if err := tx.Ban(g.ID, a.ID, expires, reason, blockID); err != nil {
		return err
	}
	s.log.Info("account banned", "group", g.Name, "days", terms.Days)
	return logAction(tx, g, by, banAction(terms.Days), a.ID, terms.Reason)
}

// banAction is how the log names a ban of days.
func banAction(days int) string {
	switch days {
	case 0:
		return "ban"
	case 1:
		return "ban for 1 day"
	}
	return fmt.Sprintf("ban for %d days", days)
}

// unban lifts a's ban from g, for a moderator (by).
func (s *Service) unban(tx *storage.Tx, g storage.Group, a storage.Actor, by string) error {
	m, found, err := membership(tx, g, a)
	if err != nil {
		return err
	}
	if !found || m.State != storage.Banned {
		return fmt.Errorf("%s %w", accountName(a), ErrNotBanned)
	}
	return s.liftBan(tx, g, m, a, by)
}

// liftBan ends the ban m of a and undoes the group's Block, so that their
// server lets them follow the group again.
func (s *Service) liftBan(tx *storage.Tx, g storage.Group, m storage.Membership, a storage.Actor, by string) error {
	if err := tx.RemoveMembership(g.ID, m.ActorID); err != nil {
		return err
	}
	if m.BlockID != "" && a.Inbox != "" {
		group := s.iris.Group(g.Name)
		undo := activitypub.NewUndo(s.newActivityID(g), activitypub.NewBlock(m.BlockID, group, a.ID))
		if err := s.send(tx, g, undo, 0, false, []string{a.Inbox}); err != nil {
			return err
		}
	}
	action := "unban"
	if by == byExpiry {
		action = "ban ran out"
	}
	return logAction(tx, g, by, action, m.ActorID, "")
}

// liftExpiredBans lifts, in every group, the bans that ran out.
func (s *Service) liftExpiredBans(tx *storage.Tx) error {
	expired, err := tx.ExpiredBans()
	if err != nil {
		return err
	}
	for _, m := range expired {
		if err := s.liftExpiredBan(tx, m); err != nil {
			return err
		}
	}
	return nil
}

// liftExpiredBan lifts the ban m, which ran out.
func (s *Service) liftExpiredBan(tx *storage.Tx, m storage.Membership) error {
	g, err := tx.GroupByID(m.GroupID)
	if err != nil {
		return err
	}
	a, err := knownActor(tx, m.ActorID)
	if err != nil {
		return err
	}
	s.log.Info("a ban ran out", "group", g.Name)
	return s.liftBan(tx, g, m, a, byExpiry)
}

// accountName is how a group writes an account in what it says to
// moderators: user@host, without the leading @ that would make Mastodon
// mention, and so message, the account when a moderator sends it back.
func accountName(a storage.Actor) string {
	return strings.TrimPrefix(shownHandle(a), "@")
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
