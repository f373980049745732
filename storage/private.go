package storage

import "time"

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
