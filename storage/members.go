package storage

import (
	"database/sql"
	"time"
)

// MemberState is where a remote actor stands with a group.
type MemberState string

const (
	// Pending members asked to join and wait for a moderator.
	Pending MemberState = "pending"
	// Member is a follower the group delivers to and accepts posts from.
	Member MemberState = "member"
	// Banned actors may not join or post.
	Banned MemberState = "banned"
)

// Membership is one actor's standing in one group.
type Membership struct {
	GroupID  int64
	ActorID  string
	State    MemberState
	FollowID string
	// A ban's terms: when it runs out (zero: never), why it was made, and
	// the Block the group sent.
	BanExpiresAt time.Time
	BanReason    string
	BlockID      string
	// JoinedAt is when the actor last became a member.
	JoinedAt time.Time
	// Answer is what a pending request answered to the group's questions.
	Answer    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func scanMembership(row interface{ Scan(...any) error }) (Membership, error) {
	var m Membership
	var expires, joined, created, updated int64
	err := row.Scan(&m.GroupID, &m.ActorID, &m.State, &m.FollowID, &expires, &m.BanReason, &m.BlockID, &joined, &m.Answer,
		&created, &updated)
	m.BanExpiresAt, m.JoinedAt = fromMillis(expires), fromMillis(joined)
	m.CreatedAt, m.UpdatedAt = fromMillis(created), fromMillis(updated)
	return m, translate(err)
}

const membershipColumns = `group_id, actor_id, state, follow_id, ban_expires_at, ban_reason, block_id, joined_at, answer,
	created_at, updated_at`

// SetMembership records actorID's state in the group, creating the row if needed.
// followID is kept from the Follow so the Accept or Reject can name it. A
// state other than Banned drops the terms of an earlier ban, and a state
// other than Pending the answer to the group's questions. UpdatedAt is
// when the state began: setting the state the membership is in already
// keeps it, so that a request to join repeated each day still expires
// unanswered and is still listed from the day it was made.
func (tx *Tx) SetMembership(groupID int64, actorID string, state MemberState, followID string) error {
	var joined int64
	if state == Member {
		joined = millis(tx.now)
	}
	_, err := tx.exec(`INSERT INTO memberships (group_id, actor_id, state, follow_id, joined_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_id, actor_id) DO UPDATE SET state = excluded.state,
			joined_at = CASE WHEN memberships.state = 'member' AND excluded.state = 'member' THEN memberships.joined_at
				ELSE excluded.joined_at END,
			answer = CASE WHEN excluded.state = 'pending' THEN memberships.answer ELSE '' END,
			follow_id = CASE WHEN excluded.follow_id = '' THEN memberships.follow_id ELSE excluded.follow_id END,
			ban_expires_at = CASE WHEN excluded.state = 'banned' THEN memberships.ban_expires_at ELSE 0 END,
			ban_reason = CASE WHEN excluded.state = 'banned' THEN memberships.ban_reason ELSE '' END,
			block_id = CASE WHEN excluded.state = 'banned' THEN memberships.block_id ELSE '' END,
			updated_at = CASE WHEN memberships.state = excluded.state THEN memberships.updated_at ELSE excluded.updated_at END`,
		groupID, actorID, state, followID, joined, millis(tx.now), millis(tx.now))
	return err
}

// SetAnswer attaches answer to actorID's pending request to join.
func (tx *Tx) SetAnswer(groupID int64, actorID, answer string) error {
	res, err := tx.exec(`UPDATE memberships SET answer = ? WHERE group_id = ? AND actor_id = ? AND state = 'pending'`,
		answer, groupID, actorID)
	return mustAffect(res, err)
}

// UnansweredRequests lists the pending requests, in every group, that have
// not answered the group's questions since before.
func (tx *Tx) UnansweredRequests(before time.Time) ([]Membership, error) {
	rows, err := tx.query(`SELECT `+membershipColumns+` FROM memberships m WHERE state = 'pending' AND answer = ''
		AND updated_at < ? AND EXISTS (SELECT 1 FROM groups g WHERE g.id = m.group_id AND g.questions != '' AND g.retired_at = 0)
		ORDER BY updated_at`, millis(before))
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Membership, error) { return scanMembership(r) })
}

// Ban records that actorID is banned from the group until expires (zero:
// until lifted), for reason, and that blockID is the Block the group sent
// them ("" when none was).
func (tx *Tx) Ban(groupID int64, actorID string, expires time.Time, reason, blockID string) error {
	_, err := tx.exec(`INSERT INTO memberships (group_id, actor_id, state, follow_id, ban_expires_at, ban_reason, block_id,
		created_at, updated_at) VALUES (?, ?, 'banned', '', ?, ?, ?, ?, ?)
		ON CONFLICT (group_id, actor_id) DO UPDATE SET state = 'banned', ban_expires_at = excluded.ban_expires_at,
			ban_reason = excluded.ban_reason, block_id = excluded.block_id, updated_at = excluded.updated_at`,
		groupID, actorID, millis(expires), reason, blockID, millis(tx.now), millis(tx.now))
	return err
}

// ExpiredBans lists the bans, in every group, that ran out by now.
func (tx *Tx) ExpiredBans() ([]Membership, error) {
	rows, err := tx.query(`SELECT `+membershipColumns+` FROM memberships
		WHERE ban_expires_at > 0 AND ban_expires_at <= ? AND state = 'banned' ORDER BY ban_expires_at`, millis(tx.now))
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Membership, error) { return scanMembership(r) })
}

// BanExpired reports whether m is a ban that ran out by now.
func (tx *Tx) BanExpired(m Membership) bool {
	return m.State == Banned && !m.BanExpiresAt.IsZero() && !m.BanExpiresAt.After(tx.now)
}

// Membership returns actorID's standing in the group, or ErrNotFound.
func (tx *Tx) Membership(groupID int64, actorID string) (Membership, error) {
	return scanMembership(tx.queryRow(`SELECT `+membershipColumns+` FROM memberships WHERE group_id = ? AND actor_id = ?`, groupID, actorID))
}

// RemoveMembership deletes actorID's row; leaving is not an error if absent.
func (tx *Tx) RemoveMembership(groupID int64, actorID string) error {
	_, err := tx.exec(`DELETE FROM memberships WHERE group_id = ? AND actor_id = ?`, groupID, actorID)
	return err
}

// Memberships lists the group's rows in the given state, oldest first.
func (tx *Tx) Memberships(groupID int64, state MemberState) ([]Membership, error) {
	rows, err := tx.query(`SELECT `+membershipColumns+` FROM memberships WHERE group_id = ? AND state = ? ORDER BY created_at, actor_id`, groupID, state)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Membership, error) { return scanMembership(r) })
}

// MembershipsOf lists every group row of one actor, for Delete and Move.
func (tx *Tx) MembershipsOf(actorID string) ([]Membership, error) {
	rows, err := tx.query(`SELECT `+membershipColumns+` FROM memberships WHERE actor_id = ?`, actorID)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Membership, error) { return scanMembership(r) })
}

// CountMembers counts the group's members (not pending, not banned).
func (tx *Tx) CountMembers(groupID int64) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM memberships WHERE group_id = ? AND state = 'member'`, groupID).Scan(&n)
	return n, translate(err)
}

// CountPublicMembers counts, for NodeInfo, the distinct members of the
// public groups that show their member count. Members of the other groups
// are left out even when they belong to a counted one as well: otherwise the
// total would move when they join or leave.
func (tx *Tx) CountPublicMembers() (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(DISTINCT m.actor_id) FROM memberships m JOIN groups g ON g.id = m.group_id
		WHERE m.state = 'member' AND g.visibility = 'public' AND g.hide_member_count = 0`).Scan(&n)
	return n, translate(err)
}

// MemberInboxes returns the distinct delivery inboxes of the group's members:
// each server's shared inbox once, or the member's own inbox when the server
// has none. Members whose actor is not cached are skipped. It holds the
// whole roster's inboxes at once: sending to every member goes through
// QueueFanOut instead.
func (tx *Tx) MemberInboxes(groupID int64) ([]string, error) {
	rows, err := tx.query(`SELECT DISTINCT inbox FROM memberships
		WHERE group_id = ? AND state = 'member' AND inbox != '' ORDER BY inbox`, groupID)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
}

// HostHasMember reports whether any member of the group lives on host; such
// a server may fetch the group's private objects on its member's behalf.
func (tx *Tx) HostHasMember(groupID int64, host string) (bool, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM memberships m JOIN actors a ON a.id = m.actor_id
		WHERE m.group_id = ? AND m.state = 'member' AND a.host = ?`, groupID, host).Scan(&n)
	return n > 0, translate(err)
}

// AddModerator names actorID a moderator of the group.
func (tx *Tx) AddModerator(groupID int64, actorID string) error {
	_, err := tx.exec(`INSERT INTO moderators (group_id, actor_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, groupID, actorID, millis(tx.now))
	return err
}

// RemoveModerator takes the role away; ErrNotFound if actorID had none.
func (tx *Tx) RemoveModerator(groupID int64, actorID string) error {
	res, err := tx.exec(`DELETE FROM moderators WHERE group_id = ? AND actor_id = ?`, groupID, actorID)
	return mustAffect(res, err)
}

// Moderators lists the group's moderator actor ids, oldest first.
func (tx *Tx) Moderators(groupID int64) ([]string, error) {
	rows, err := tx.query(`SELECT actor_id FROM moderators WHERE group_id = ? ORDER BY created_at, actor_id`, groupID)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
}

// IsModerator reports whether actorID moderates the group.
func (tx *Tx) IsModerator(groupID int64, actorID string) (bool, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM moderators WHERE group_id = ? AND actor_id = ?`, groupID, actorID).Scan(&n)
	return n > 0, translate(err)
}
