package storage

import (
	"database/sql"
	"time"
)

// PostState is where a post stands in its group.
type PostState string

const (
	// Relayed posts were sent to the members.
	Relayed PostState = "relayed"
	// Held posts wait for a moderator.
	Held PostState = "held"
	// Removed posts were deleted by their author or a moderator.
	Removed PostState = "removed"
	// Declined posts were refused by a moderator.
	Declined PostState = "declined"
)

// Post is a member's post that reached a group.
type Post struct {
	ID          int64
	GroupID     int64
	ObjectID    string // the member's object, at its origin
	AuthorID    string
	ActivityID  string // the Create that brought it
	CopyID      string // the group's own note, for private and anonymous posts
	InReplyTo   string
	URL         string // the member's post's web page, as its server gave it
	State       PostState
	Anonymous   bool
	Summary     string
	Content     string    // sanitized HTML
	RawActivity []byte    // the Create exactly as received
	HeldObject  []byte    // a held post's object, as it is relayed once released
	HoldReason  string    // why a held post waits for a moderator
	PinnedAt    time.Time // zero unless pinned to the group's profile
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const postColumns = `id, group_id, object_id, author_id, activity_id, copy_id, in_reply_to, url, state, anonymous,
	summary, content, raw_activity, held_object, hold_reason, pinned_at, created_at, updated_at`

func scanPost(row interface{ Scan(...any) error }) (Post, error) {
	var p Post
	var pinned, created, updated int64
	err := row.Scan(&p.ID, &p.GroupID, &p.ObjectID, &p.AuthorID, &p.ActivityID, &p.CopyID, &p.InReplyTo, &p.URL, &p.State,
		&p.Anonymous, &p.Summary, &p.Content, &p.RawActivity, &p.HeldObject, &p.HoldReason, &pinned, &created, &updated)
	p.PinnedAt, p.CreatedAt, p.UpdatedAt = fromMillis(pinned), fromMillis(created), fromMillis(updated)
	return p, translate(err)
}

// CreatePost inserts p and sets its ID; the same object twice in one group
// gives ErrConflict.
func (tx *Tx) CreatePost(p *Post) error {
	p.CreatedAt, p.UpdatedAt = tx.now, tx.now
	if p.RawActivity == nil {
		p.RawActivity = []byte{}
	}
	if p.HeldObject == nil {
		p.HeldObject = []byte{}
	}
	err := tx.queryRow(`INSERT INTO posts (group_id, object_id, author_id, activity_id, copy_id, in_reply_to, url, state,
		anonymous, summary, content, raw_activity, held_object, hold_reason, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		p.GroupID, p.ObjectID, p.AuthorID, p.ActivityID, p.CopyID, p.InReplyTo, p.URL, p.State, p.Anonymous,
		p.Summary, p.Content, p.RawActivity, p.HeldObject, p.HoldReason, millis(tx.now), millis(tx.now)).Scan(&p.ID)
	return inserted(err)
}

// UpdatePost saves the post's state, copy id and content. A post no
// longer held forgets the object it was kept with.
func (tx *Tx) UpdatePost(p *Post) error {
	p.UpdatedAt = tx.now
	if p.State != Held {
		p.HeldObject = []byte{}
	}
	res, err := tx.exec(`UPDATE posts SET copy_id = ?, state = ?, summary = ?, content = ?, held_object = ?, updated_at = ? WHERE id = ?`,
		p.CopyID, p.State, p.Summary, p.Content, p.HeldObject, millis(tx.now), p.ID)
	return mustAffect(res, err)
}

// ExpiredHolds lists the posts, in every group, held since before.
func (tx *Tx) ExpiredHolds(before time.Time) ([]Post, error) {
	rows, err := tx.query(`SELECT `+postColumns+` FROM posts WHERE state = 'held' AND created_at < ? ORDER BY id`, millis(before))
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Post, error) { return scanPost(r) })
}

// CountPostsBy counts the author's posts the group relayed.
func (tx *Tx) CountPostsBy(groupID int64, author string) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM posts WHERE group_id = ? AND author_id = ? AND state = 'relayed'`, groupID, author).Scan(&n)
	return n, translate(err)
}

// PostByObject returns the group's post of objectID, or ErrNotFound.
func (tx *Tx) PostByObject(groupID int64, objectID string) (Post, error) {
	return scanPost(tx.queryRow(`SELECT `+postColumns+` FROM posts WHERE group_id = ? AND object_id = ?`, groupID, objectID))
}

// PostByCopy returns the post whose group-authored copy is copyID.
func (tx *Tx) PostByCopy(copyID string) (Post, error) {
	return scanPost(tx.queryRow(`SELECT `+postColumns+` FROM posts WHERE copy_id = ?`, copyID))
}

// PostByURL returns the group's post whose web page is url, or
// ErrNotFound.
func (tx *Tx) PostByURL(groupID int64, url string) (Post, error) {
	return scanPost(tx.queryRow(`SELECT `+postColumns+` FROM posts WHERE url = ? AND group_id = ? ORDER BY id DESC LIMIT 1`, url, groupID))
}

// SetPinned pins the post to its group's profile, or unpins it.
func (tx *Tx) SetPinned(postID int64, pinned bool) error {
	var at int64
	if pinned {
		at = millis(tx.now)
	}
	res, err := tx.exec(`UPDATE posts SET pinned_at = ? WHERE id = ?`, at, postID)
	return mustAffect(res, err)
}

// PinnedPosts lists the group's pinned posts that are still shared, the
// latest pinned first.
func (tx *Tx) PinnedPosts(groupID int64) ([]Post, error) {
	rows, err := tx.query(`SELECT `+postColumns+` FROM posts WHERE group_id = ? AND pinned_at > 0 AND state = 'relayed'
		ORDER BY pinned_at DESC, id DESC`, groupID)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Post, error) { return scanPost(r) })
}

// PostsOfObject lists every group's post of objectID: one member's post may
// reach several groups.
func (tx *Tx) PostsOfObject(objectID string) ([]Post, error) {
	rows, err := tx.query(`SELECT `+postColumns+` FROM posts WHERE object_id = ? ORDER BY id`, objectID)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Post, error) { return scanPost(r) })
}

// PostByID returns the post with the given id.
func (tx *Tx) PostByID(id int64) (Post, error) {
	return scanPost(tx.queryRow(`SELECT `+postColumns+` FROM posts WHERE id = ?`, id))
}

// Posts lists the group's posts in state, newest first, at most limit.
func (tx *Tx) Posts(groupID int64, state PostState, limit int) ([]Post, error) {
	rows, err := tx.query(`SELECT `+postColumns+` FROM posts WHERE group_id = ? AND state = ? ORDER BY id DESC LIMIT ?`,
		groupID, state, limit)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Post, error) { return scanPost(r) })
}

// CountPublicPosts counts, for NodeInfo, the posts public groups relayed.
func (tx *Tx) CountPublicPosts() (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM posts p JOIN groups g ON g.id = p.group_id
		WHERE p.state = 'relayed' AND g.visibility = 'public'`).Scan(&n)
	return n, translate(err)
}

// CountHeldPostsBy counts author's posts waiting for the group's
// moderators.
func (tx *Tx) CountHeldPostsBy(groupID int64, author string) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM posts WHERE state = 'held' AND group_id = ? AND author_id = ?`, groupID, author).Scan(&n)
	return n, translate(err)
}
