package storage

import "time"

// MarkSeen records an activity id; it reports false when the id was seen
// before, so a redelivered activity changes nothing.
func (tx *Tx) MarkSeen(activityID string) (bool, error) {
	res, err := tx.exec(`INSERT INTO seen_activities (id, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, activityID, millis(tx.now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Seen reports whether an activity id was recorded by MarkSeen and not
// forgotten since.
func (tx *Tx) Seen(activityID string) (bool, error) {
	var seen bool
	err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM seen_activities WHERE id = ?)`, activityID).Scan(&seen)
	return seen, translate(err)
}

// ForgetSeen drops the record of activities received before cutoff. Senders
// stop retrying after a few days, so older ids will not come again.
func (tx *Tx) ForgetSeen(cutoff time.Time) (int64, error) {
	res, err := tx.exec(`DELETE FROM seen_activities WHERE received_at < ?`, millis(cutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
