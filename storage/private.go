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

// ScrubPost erases what the group kept of a post that is gone: the
// activity as received, the text, and the bodies of everything the group
// sent about it, the direct messages to its moderators and author among
// them. Each sent activity keeps only its id, type and actor, so that a
// fetch of it can still be answered, with 410. Deliveries of them waiting
// in the queue are dropped: the Delete that follows is what peers need.
// One a worker holds is left to finish, since the worker reports on it by
// its row id, which a new row could take once this one is gone.
// Call it before queuing the post's Delete or Undo, which must go out whole.
func (tx *Tx) ScrubPost(postID int64) error {
	if _, err := tx.exec(`UPDATE posts SET raw_activity = x'', summary = '', content = '' WHERE id = ?`, postID); err != nil {
		return err
	}
	const about = `SELECT id FROM activities WHERE post_id = :post
		UNION SELECT activity_id FROM notices WHERE post_id = :post`
	post := sql.Named("post", postID)
	if _, err := tx.exec(`DELETE FROM deliveries WHERE activity_id IN (`+about+`) AND state = 'queued' AND claimed_until <= :now`,
		post, sql.Named("now", millis(tx.now))); err != nil {
		return err
	}
	_, err := tx.exec(`UPDATE activities SET body = CAST(json_object(
			'@context', 'https://www.w3.org/ns/activitystreams',
			'id', id, 'type', type, 'actor', json_extract(CAST(body AS TEXT), '$.actor')) AS BLOB)
		WHERE id IN (`+about+`)`, post)
	return err
}
