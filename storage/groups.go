package storage

import (
	"database/sql"
	"strings"
	"time"
)

// Visibility says who can read a group's posts.
type Visibility string

const (
	// Public groups relay posts that anyone may read.
	Public Visibility = "public"
	// Private groups show posts to members only.
	Private Visibility = "private"
)

// JoinPolicy says what happens to a Follow.
type JoinPolicy string

const (
	// JoinOpen accepts every follow that policy does not forbid.
	JoinOpen JoinPolicy = "open"
	// JoinApproval holds follows for a moderator.
	JoinApproval JoinPolicy = "approval"
	// JoinClosed rejects new follows.
	JoinClosed JoinPolicy = "closed"
)

// PostingPolicy says who may post through the group.
type PostingPolicy string

const (
	// PostingMembers lets every member post.
	PostingMembers PostingPolicy = "members"
	// PostingModerators lets only moderators post.
	PostingModerators PostingPolicy = "moderators"
)

// HoldPolicy says which posts wait for a moderator before they are relayed.
type HoldPolicy string

const (
	// HoldNone relays every post the group's rules let through.
	HoldNone HoldPolicy = "none"
	// HoldNew holds the posts of new members.
	HoldNew HoldPolicy = "new"
	// HoldAll holds every post: full pre-moderation.
	HoldAll HoldPolicy = "all"
)

// NonMemberPolicy says what happens to a post from someone who is not a
// member.
type NonMemberPolicy string

const (
	// NonMembersRefused posts are dropped.
	NonMembersRefused NonMemberPolicy = "refuse"
	// NonMembersHeld posts wait for a moderator.
	NonMembersHeld NonMemberPolicy = "hold"
)

// ReplyScope says which replies a public group boosts to the servers that
// show its posts as boosts (Mastodon and the like). Group-aware servers are
// sent every reply whatever the scope.
type ReplyScope string

const (
	// RepliesAll boosts every reply.
	RepliesAll ReplyScope = "all"
	// RepliesStarters boosts thread starters alone, no reply.
	RepliesStarters ReplyScope = "starters"
	// RepliesNone boosts a reply only when it mentions the group.
	RepliesNone ReplyScope = "none"
)

// Group is one hosted group and its key.
type Group struct {
	ID              int64
	Name            string
	DisplayName     string
	Summary         string
	IconURL         string
	Visibility      Visibility
	Join            JoinPolicy
	Posting         PostingPolicy
	AnonymousPosts  bool
	HideMemberCount bool
	ContentWarning  string
	// Hold says whose posts wait for a moderator; with HoldNew, a member
	// is new for HoldDays after joining and until HoldPosts of their posts
	// were relayed. A post that mentions more than HoldMentions groups is
	// held whatever the setting.
	Hold         HoldPolicy
	HoldDays     int
	HoldPosts    int
	HoldMentions int
	NonMembers   NonMemberPolicy
	Replies      ReplyScope
	// Questions are put to whoever asks to join; the people of
	// TrustedDomains join without them.
	Questions      []string
	TrustedDomains []string
	PrivateKeyPEM  string
	PublicKeyPEM   string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const groupColumns = `id, name, display_name, summary, icon_url, visibility, join_policy, posting,
	anonymous_posts, hide_member_count, content_warning, hold, hold_days, hold_posts, hold_mentions, non_members,
	replies, questions, trusted_domains, private_key_pem, public_key_pem, created_at, updated_at`

func scanGroup(row interface{ Scan(...any) error }) (Group, error) {
	var g Group
	var questions, trusted string
	var created, updated int64
	err := row.Scan(&g.ID, &g.Name, &g.DisplayName, &g.Summary, &g.IconURL, &g.Visibility, &g.Join, &g.Posting,
		&g.AnonymousPosts, &g.HideMemberCount, &g.ContentWarning, &g.Hold, &g.HoldDays, &g.HoldPosts, &g.HoldMentions,
		&g.NonMembers, &g.Replies, &questions, &trusted, &g.PrivateKeyPEM, &g.PublicKeyPEM, &created, &updated)
	g.Questions, g.TrustedDomains = splitLines(questions), splitLines(trusted)
	g.CreatedAt, g.UpdatedAt = fromMillis(created), fromMillis(updated)
	return g, translate(err)
}

// splitLines reads a list kept one item a line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// withHoldDefaults fills in the hold and reply settings a new group leaves
// unset.
func withHoldDefaults(g *Group) {
	if g.Hold == "" {
		g.Hold = HoldNone
	}
	if g.NonMembers == "" {
		g.NonMembers = NonMembersRefused
	}
	if g.Replies == "" {
		g.Replies = RepliesAll
	}
	if g.HoldDays == 0 {
		g.HoldDays = DefaultHoldDays
	}
	if g.HoldPosts == 0 {
		g.HoldPosts = DefaultHoldPosts
	}
	if g.HoldMentions == 0 {
		g.HoldMentions = DefaultHoldMentions
	}
}

// The hold settings of a group that sets none.
const (
	DefaultHoldDays     = 7
	DefaultHoldPosts    = 1
	DefaultHoldMentions = 3
)

// CreateGroup inserts g and sets its ID and timestamps. A taken name gives
// ErrConflict.
func (tx *Tx) CreateGroup(g *Group) error {
	g.CreatedAt, g.UpdatedAt = tx.now, tx.now
	withHoldDefaults(g)
	err := tx.queryRow(`INSERT INTO groups (name, display_name, summary, icon_url, visibility, join_policy, posting,
		anonymous_posts, hide_member_count, content_warning, hold, hold_days, hold_posts, hold_mentions, non_members,
		replies, questions, trusted_domains, private_key_pem, public_key_pem, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		g.Name, g.DisplayName, g.Summary, g.IconURL, g.Visibility, g.Join, g.Posting,
		g.AnonymousPosts, g.HideMemberCount, g.ContentWarning, g.Hold, g.HoldDays, g.HoldPosts, g.HoldMentions, g.NonMembers,
		g.Replies, strings.Join(g.Questions, "\n"), strings.Join(g.TrustedDomains, "\n"), g.PrivateKeyPEM, g.PublicKeyPEM, millis(tx.now), millis(tx.now)).Scan(&g.ID)
	return inserted(err)
}

// UpdateGroup saves every profile and policy field of g; keys and name stay.
func (tx *Tx) UpdateGroup(g *Group) error {
	g.UpdatedAt = tx.now
	withHoldDefaults(g)
	res, err := tx.exec(`UPDATE groups SET display_name = ?, summary = ?, icon_url = ?, visibility = ?, join_policy = ?,
		posting = ?, anonymous_posts = ?, hide_member_count = ?, content_warning = ?, hold = ?, hold_days = ?, hold_posts = ?,
		hold_mentions = ?, non_members = ?, replies = ?, questions = ?, trusted_domains = ?, updated_at = ? WHERE id = ?`,
		g.DisplayName, g.Summary, g.IconURL, g.Visibility, g.Join, g.Posting, g.AnonymousPosts, g.HideMemberCount,
		g.ContentWarning, g.Hold, g.HoldDays, g.HoldPosts, g.HoldMentions, g.NonMembers, g.Replies,
		strings.Join(g.Questions, "\n"), strings.Join(g.TrustedDomains, "\n"), millis(tx.now), g.ID)
	return mustAffect(res, err)
}

// RetireGroup deletes a group as far as anyone can see: its members,
// moderators, posts, reports and moderation log go at once, what it had queued is dropped, and its
// name no longer finds it. The row and its key stay until
// PurgeRetiredGroups, so that a farewell queued after retiring can still be
// signed and sent; meanwhile NameRetiring reports the name as held.
func (tx *Tx) RetireGroup(id int64) error {
	res, err := tx.exec(`UPDATE groups SET retired_at = ? WHERE id = ? AND retired_at = 0`, millis(tx.now), id)
	if err := mustAffect(res, err); err != nil {
		return err
	}
	// What the group sent and has not delivered yet stays undelivered, and
	// what it sent keeps only its shell, as for an erased post.
	if _, err := tx.exec(`DELETE FROM fanouts WHERE activity_id IN (SELECT id FROM activities WHERE group_id = ?)`, id); err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM deliveries WHERE activity_id IN (SELECT id FROM activities WHERE group_id = ?)
		AND state = 'queued' AND claimed_until <= ?`, id, millis(tx.now)); err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE activities SET in_outbox = 0, body = `+tx.dialect.activityShell+` WHERE group_id = ?`, id); err != nil {
		return err
	}
	for _, table := range []string{"memberships", "moderators", "posts", "reports", "moderation_log", "command_refusals"} {
		if _, err := tx.exec(`DELETE FROM `+table+` WHERE group_id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// PurgeRetiredGroups removes, with everything that belongs to them, the
// retired groups that have nothing left to deliver.
func (tx *Tx) PurgeRetiredGroups() (int64, error) {
	res, err := tx.exec(`DELETE FROM groups WHERE retired_at > 0 AND NOT EXISTS (
		SELECT 1 FROM deliveries d JOIN activities a ON a.id = d.activity_id
		WHERE a.group_id = groups.id AND d.state = 'queued')`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// GroupByName returns the group called name, or ErrNotFound; a retired
// group is not found.
func (tx *Tx) GroupByName(name string) (Group, error) {
	return scanGroup(tx.queryRow(`SELECT `+groupColumns+` FROM groups WHERE name = ? AND retired_at = 0`, name))
}

// GroupByID returns the group with the given id, or ErrNotFound. It finds
// retired groups too, whose key still signs their last deliveries.
func (tx *Tx) GroupByID(id int64) (Group, error) {
	return scanGroup(tx.queryRow(`SELECT `+groupColumns+` FROM groups WHERE id = ?`, id))
}

// Groups lists every group but the retired ones, by name.
func (tx *Tx) Groups() ([]Group, error) {
	rows, err := tx.query(`SELECT ` + groupColumns + ` FROM groups WHERE retired_at = 0 ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Group, error) { return scanGroup(r) })
}

// InstanceKey is the instance actor's key pair.
type InstanceKey struct {
	PrivateKeyPEM string
	PublicKeyPEM  string
}

// InstanceKey returns the instance actor's key, or ErrNotFound before the
// first start has made one.
func (tx *Tx) InstanceKey() (InstanceKey, error) {
	var k InstanceKey
	err := tx.queryRow(`SELECT private_key_pem, public_key_pem FROM instance_key WHERE id = 1`).Scan(&k.PrivateKeyPEM, &k.PublicKeyPEM)
	return k, translate(err)
}

// SetInstanceKey stores the instance actor's key; it is made once and kept.
func (tx *Tx) SetInstanceKey(k InstanceKey) error {
	_, err := tx.exec(`INSERT INTO instance_key (id, private_key_pem, public_key_pem, created_at) VALUES (1, ?, ?, ?)`,
		k.PrivateKeyPEM, k.PublicKeyPEM, millis(tx.now))
	return err
}

// mustAffect turns an UPDATE or DELETE that matched no row into ErrNotFound.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// NameRetiring reports whether a retired group, not yet purged, holds name.
func (tx *Tx) NameRetiring(name string) (bool, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM groups WHERE name = ? AND retired_at > 0`, name).Scan(&n)
	return n > 0, translate(err)
}
