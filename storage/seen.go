package storage

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
