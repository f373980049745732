package storage

import (
	"database/sql"
	"time"
)

// LogEntry is one line of a group's moderation log: who did what to what,
// when and why.
type LogEntry struct {
	ID      int64
	GroupID int64
	By      string // a moderator's actor id, or a word naming who else acted
	Action  string
	Target  string // an actor id, a post's address or a report's number
	Reason  string
	At      time.Time
}

// LogModeration adds e to its group's moderation log, stamped now.
func (tx *Tx) LogModeration(e LogEntry) error {
	_, err := tx.exec(`INSERT INTO moderation_log (group_id, done_by, action, target, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, e.GroupID, e.By, e.Action, e.Target, e.Reason, millis(tx.now))
	return err
}

// ModerationLog lists the group's log, newest first, at most limit lines.
func (tx *Tx) ModerationLog(groupID int64, limit int) ([]LogEntry, error) {
	rows, err := tx.query(`SELECT id, group_id, done_by, action, target, reason, created_at FROM moderation_log
		WHERE group_id = ? ORDER BY id DESC LIMIT ?`, groupID, limit)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (LogEntry, error) {
		var e LogEntry
		var at int64
		err := r.Scan(&e.ID, &e.GroupID, &e.By, &e.Action, &e.Target, &e.Reason, &at)
		e.At = fromMillis(at)
		return e, err
	})
}

// MarkRefused records that actorID was told it may not command the group;
// it reports false when it had been told before.
func (tx *Tx) MarkRefused(groupID int64, actorID string) (bool, error) {
	res, err := tx.exec(`INSERT INTO command_refusals (group_id, actor_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, groupID, actorID, millis(tx.now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
