package storage

import (
	"database/sql"
	"errors"
	"time"
)

// InstanceProfile is how the home page presents the instance.
type InstanceProfile struct {
	Name        string
	Description string
}

// InstanceProfile returns the instance's name and description, empty until
// an administrator sets them.
func (tx *Tx) InstanceProfile() (InstanceProfile, error) {
	var p InstanceProfile
	err := tx.queryRow(`SELECT name, description FROM instance_profile WHERE id = 1`).Scan(&p.Name, &p.Description)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	return p, translate(err)
}

// SetInstanceProfile saves the instance's name and description.
func (tx *Tx) SetInstanceProfile(p InstanceProfile) error {
	_, err := tx.exec(`INSERT INTO instance_profile (id, name, description, updated_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,
			updated_at = excluded.updated_at`, p.Name, p.Description, millis(tx.now))
	return err
}

// GroupPage is what a group's web pages show beyond its federated profile.
type GroupPage struct {
	GroupID int64
	Rules   string
	// Listed names a private group on the home page, with how to ask to
	// join; public groups are always listed.
	Listed bool
	// ShowModerators names a public group's moderators on its page.
	ShowModerators bool
	// Indexable lets search engines index the group's pages.
	Indexable bool
}

// GroupPage returns the group's page settings, the defaults when none were
// saved.
func (tx *Tx) GroupPage(groupID int64) (GroupPage, error) {
	p := GroupPage{GroupID: groupID}
	err := tx.queryRow(`SELECT rules, listed, show_moderators, indexable FROM group_pages WHERE group_id = ?`, groupID).
		Scan(&p.Rules, &p.Listed, &p.ShowModerators, &p.Indexable)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	return p, translate(err)
}

// SetGroupPage saves the group's page settings.
func (tx *Tx) SetGroupPage(p GroupPage) error {
	_, err := tx.exec(`INSERT INTO group_pages (group_id, rules, listed, show_moderators, indexable, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_id) DO UPDATE SET rules = excluded.rules, listed = excluded.listed,
			show_moderators = excluded.show_moderators, indexable = excluded.indexable, updated_at = excluded.updated_at`,
		p.GroupID, p.Rules, p.Listed, p.ShowModerators, p.Indexable, millis(tx.now))
	return err
}

// Icon is an image the instance serves as a group's icon.
type Icon struct {
	MediaType string
	Data      []byte
	UpdatedAt time.Time
}

// GroupIcon returns the group's uploaded icon, or ErrNotFound.
func (tx *Tx) GroupIcon(groupID int64) (Icon, error) {
	var i Icon
	var updated int64
	err := tx.queryRow(`SELECT media_type, data, updated_at FROM group_icons WHERE group_id = ?`, groupID).
		Scan(&i.MediaType, &i.Data, &updated)
	i.UpdatedAt = fromMillis(updated)
	return i, translate(err)
}

// SetGroupIcon stores the group's icon, replacing any other, and stamps it
// with the transaction's time.
func (tx *Tx) SetGroupIcon(groupID int64, icon Icon) (Icon, error) {
	icon.UpdatedAt = tx.now
	_, err := tx.exec(`INSERT INTO group_icons (group_id, media_type, data, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id) DO UPDATE SET media_type = excluded.media_type, data = excluded.data,
			updated_at = excluded.updated_at`, groupID, icon.MediaType, icon.Data, millis(tx.now))
	return icon, err
}

// ThreadPost is a relayed post with the number of relayed replies under it.
type ThreadPost struct {
	Post
	Replies int
}

// isReplyTo matches a relayed post r of the same group that answers p,
// naming either the member's object or the group's copy of it.
const isReplyTo = `r.group_id = p.group_id AND r.state = 'relayed' AND r.in_reply_to != ''
	AND (r.in_reply_to = p.object_id OR (p.copy_id != '' AND r.in_reply_to = p.copy_id))`

// PublicAudience is ActivityStreams' collection of everyone.
const PublicAudience = "https://www.w3.org/ns/activitystreams#Public"

// sharedPublicly matches a post, named by alias, that its group shared
// with everyone: an activity the group sent about it, listed in its
// outbox, is addressed to the public. A post relayed while its group was
// private was shared with the members alone, and stays theirs if the group
// turns public.
func (d *dialect) sharedPublicly(alias string) string {
	return `EXISTS (SELECT 1 FROM activities a
		WHERE a.post_id = ` + alias + `.id AND a.in_outbox = 1 AND ` + d.addressedToPublic("a.body") + `)`
}

// SharedPublicly reports whether the group shared the post with everyone
// (see sharedPublicly).
func (tx *Tx) SharedPublicly(postID int64) (bool, error) {
	var shared bool
	err := tx.queryRow(`SELECT `+tx.dialect.sharedPublicly("p")+` FROM posts p WHERE p.id = ?`, postID).Scan(&shared)
	return shared, translate(err)
}

// threadOf is the ids of the relayed replies under the post :root, at any
// depth (bounded, against a cycle of replies).
func (d *dialect) threadOf() string {
	return `WITH RECURSIVE thread (id, depth) AS (
		SELECT CAST(:root AS BIGINT), 0
		UNION
		SELECT r.id, t.depth + 1 FROM thread t JOIN posts p ON p.id = t.id JOIN posts r ON ` + isReplyTo + `
		WHERE t.depth < 64 AND ` + d.sharedPublicly("r") + `
	)`
}

// RelayedThreads lists a page of the group's relayed posts that it shared
// publicly and that start a thread in it (replies to its other relayed
// posts are left to their thread), newest first: at most limit of them with ids below before, or
// the newest when before is 0.
func (tx *Tx) RelayedThreads(groupID, before int64, limit int) ([]ThreadPost, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := tx.query(`SELECT `+postColumns+` FROM posts p
		WHERE p.group_id = ? AND p.state = 'relayed' AND p.id < ? AND `+tx.dialect.sharedPublicly("p")+`
			AND NOT EXISTS (SELECT 1 FROM posts q WHERE q.group_id = p.group_id AND q.state = 'relayed'
				AND p.in_reply_to != '' AND (q.object_id = p.in_reply_to OR q.copy_id = p.in_reply_to))
		ORDER BY p.id DESC LIMIT ?`, groupID, before, limit)
	if err != nil {
		return nil, err
	}
	posts, err := scanAll(rows, func(r *sql.Rows) (Post, error) { return scanPost(r) })
	if err != nil {
		return nil, err
	}
	threads := make([]ThreadPost, len(posts))
	for i, p := range posts {
		threads[i].Post = p
		err := tx.queryRow(tx.dialect.threadOf()+`SELECT count(*) - 1 FROM thread`, sql.Named("root", p.ID)).Scan(&threads[i].Replies)
		if err != nil {
			return nil, translate(err)
		}
	}
	return threads, nil
}

// ThreadReplies lists the relayed replies in the group under root that it
// shared publicly, at any depth, oldest first, at most limit.
func (tx *Tx) ThreadReplies(root Post, limit int) ([]Post, error) {
	rows, err := tx.query(tx.dialect.threadOf()+`SELECT `+postColumns+` FROM posts
		WHERE id IN (SELECT id FROM thread) AND id != :root ORDER BY id LIMIT :limit`,
		sql.Named("root", root.ID), sql.Named("limit", limit))
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Post, error) { return scanPost(r) })
}

// MembershipCounts counts the group's rows in each state.
func (tx *Tx) MembershipCounts(groupID int64) (map[MemberState]int, error) {
	rows, err := tx.query(`SELECT state, count(*) FROM memberships WHERE group_id = ? GROUP BY state`, groupID)
	if err != nil {
		return nil, err
	}
	counts := map[MemberState]int{}
	_, err = scanAll(rows, func(r *sql.Rows) (struct{}, error) {
		var state MemberState
		var n int
		err := r.Scan(&state, &n)
		counts[state] = n
		return struct{}{}, err
	})
	return counts, err
}

// CountGroupPosts counts the group's posts in state.
func (tx *Tx) CountGroupPosts(groupID int64, state PostState) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM posts WHERE group_id = ? AND state = ?`, groupID, state).Scan(&n)
	return n, translate(err)
}
