package storage

import (
	"database/sql"
	"time"
)

// Notice is a direct message a group sent one person about a post.
type Notice struct {
	NoteID     string // the group's note, which a reply names in inReplyTo
	GroupID    int64
	PostID     int64
	Recipient  string
	ActivityID string // the Create that carried the note
	CreatedAt  time.Time
}

// AddNotice records a notice sent in this transaction.
func (tx *Tx) AddNotice(n Notice) error {
	_, err := tx.exec(`INSERT INTO notices (note_id, group_id, post_id, recipient, activity_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, n.NoteID, n.GroupID, n.PostID, n.Recipient, n.ActivityID, millis(tx.now))
	return err
}

// NoticeByNote returns the notice whose note is noteID, or ErrNotFound.
func (tx *Tx) NoticeByNote(noteID string) (Notice, error) {
	var n Notice
	var created int64
	err := tx.queryRow(`SELECT note_id, group_id, post_id, recipient, activity_id, created_at FROM notices
		WHERE note_id = ?`, noteID).Scan(&n.NoteID, &n.GroupID, &n.PostID, &n.Recipient, &n.ActivityID, &created)
	n.CreatedAt = fromMillis(created)
	return n, translate(err)
}

// ErasePost ends a post in state (Removed or Declined) and erases what the
// group kept of it: its text and the activity that brought it, and the
// bodies of the activities sent about it (notices included), which keep
// only their id, type and actor so that a fetch of them can still be
// answered, with 410; they also leave the outbox. Deliveries of them waiting
// in the queue, or still to be expanded from a fan-out, are dropped: the
// Delete that follows is what peers need.
// One a worker holds is left to finish, since the worker reports on it by
// its row id, which a new row could take once this one is gone.
// Call it before queuing the post's Delete or Undo, which must go out whole.
func (tx *Tx) ErasePost(p *Post, state PostState) error {
	p.State, p.Content, p.Summary, p.RawActivity, p.HeldObject, p.PinnedAt = state, "", "", nil, nil, time.Time{}
	if _, err := tx.exec(`UPDATE posts SET state = ?, raw_activity = ?, held_object = ?, summary = '', content = '', pinned_at = 0,
		updated_at = ? WHERE id = ?`,
		state, []byte{}, []byte{}, millis(tx.now), p.ID); err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE activities SET in_outbox = 0 WHERE post_id = ?`, p.ID); err != nil {
		return err
	}
	const about = `SELECT id FROM activities WHERE post_id = :post
		UNION SELECT activity_id FROM notices WHERE post_id = :post`
	post := sql.Named("post", p.ID)
	if _, err := tx.exec(`DELETE FROM fanouts WHERE activity_id IN (`+about+`)`, post); err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM deliveries WHERE activity_id IN (`+about+`) AND state = 'queued' AND claimed_until <= :now`,
		post, sql.Named("now", millis(tx.now))); err != nil {
		return err
	}
	_, err := tx.exec(`UPDATE activities SET body = `+tx.dialect.activityShell+` WHERE id IN (`+about+`)`, post)
	return err
}
