package storage

import (
	"database/sql"
	"time"
)

// Admin is a person who runs the instance from the admin console.
type Admin struct {
	ID           int64
	Username     string
	PasswordHash string
}

// CountAdmins counts the console's accounts; none means the instance is
// still to be set up.
func (tx *Tx) CountAdmins() (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM admins`).Scan(&n)
	return n, translate(err)
}

// CreateAdmin adds an account; a taken username (in any case) gives
// ErrConflict.
func (tx *Tx) CreateAdmin(username, passwordHash string) (Admin, error) {
	var id int64
	err := tx.queryRow(`INSERT INTO admins (username, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		username, passwordHash, millis(tx.now)).Scan(&id)
	return Admin{ID: id, Username: username, PasswordHash: passwordHash}, inserted(err)
}

// AdminByName returns the account called username, in any case, or
// ErrNotFound.
func (tx *Tx) AdminByName(username string) (Admin, error) {
	var a Admin
	err := tx.queryRow(`SELECT id, username, password_hash FROM admins WHERE lower(username) = lower(?)`, username).
		Scan(&a.ID, &a.Username, &a.PasswordHash)
	return a, translate(err)
}

// Session is a signed-in console session.
type Session struct {
	TokenHash []byte
	Admin     Admin
	CSRFToken string
	ExpiresAt time.Time
}

// CreateSession stores a session for s.Admin.
func (tx *Tx) CreateSession(s Session) error {
	_, err := tx.exec(`INSERT INTO admin_sessions (token_hash, admin_id, csrf_token, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, s.TokenHash, s.Admin.ID, s.CSRFToken, millis(tx.now), millis(s.ExpiresAt))
	return err
}

// SessionByToken returns the unexpired session whose token hashes to
// tokenHash, with its account, or ErrNotFound.
func (tx *Tx) SessionByToken(tokenHash []byte) (Session, error) {
	s := Session{TokenHash: tokenHash}
	var expires int64
	err := tx.queryRow(`SELECT a.id, a.username, a.password_hash, s.csrf_token, s.expires_at
		FROM admin_sessions s JOIN admins a ON a.id = s.admin_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, tokenHash, millis(tx.now)).
		Scan(&s.Admin.ID, &s.Admin.Username, &s.Admin.PasswordHash, &s.CSRFToken, &expires)
	s.ExpiresAt = fromMillis(expires)
	return s, translate(err)
}

// DeleteSession signs a session out; an unknown one is not an error.
func (tx *Tx) DeleteSession(tokenHash []byte) error {
	_, err := tx.exec(`DELETE FROM admin_sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// ForgetExpiredSessions drops the sessions that have run out.
func (tx *Tx) ForgetExpiredSessions() error {
	_, err := tx.exec(`DELETE FROM admin_sessions WHERE expires_at <= ?`, millis(tx.now))
	return err
}

// deliveryHoursKept is how long the hourly delivery counts are kept: the
// console charts the last day.
const deliveryHoursKept = 7 * 24 * time.Hour

// countOutcomes adds a batch of attempts to its hour's counts, in one
// statement whatever the batch size, and drops the counts of hours too old
// to be charted.
func (tx *Tx) countOutcomes(outcomes []Outcome) error {
	var delivered, failed int
	for _, o := range outcomes {
		if o.Verdict == Delivered {
			delivered++
		} else {
			failed++
		}
	}
	if delivered+failed == 0 {
		return nil
	}
	hour := tx.now.Truncate(time.Hour)
	if _, err := tx.exec(`INSERT INTO delivery_hours (hour, delivered, failed) VALUES (?, ?, ?)
		ON CONFLICT (hour) DO UPDATE SET delivered = delivery_hours.delivered + excluded.delivered, failed = delivery_hours.failed + excluded.failed`,
		millis(hour), delivered, failed); err != nil {
		return err
	}
	_, err := tx.exec(`DELETE FROM delivery_hours WHERE hour < ?`, millis(hour.Add(-deliveryHoursKept)))
	return err
}

// HourCount is how many delivery attempts succeeded and failed in one hour.
type HourCount struct {
	Hour      time.Time
	Delivered int
	Failed    int
}

// DeliveryHours lists the hourly counts from the hour holding since on,
// oldest first; hours without attempts have no entry.
func (tx *Tx) DeliveryHours(since time.Time) ([]HourCount, error) {
	rows, err := tx.query(`SELECT hour, delivered, failed FROM delivery_hours WHERE hour >= ? ORDER BY hour`,
		millis(since.Truncate(time.Hour)))
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (HourCount, error) {
		var h HourCount
		var hour int64
		err := r.Scan(&hour, &h.Delivered, &h.Failed)
		h.Hour = fromMillis(hour)
		return h, err
	})
}

// DeliveryHosts lists the servers with deliveries queued or failures since
// their last success, the ones with the most failures and then the longest
// queues first, at most limit.
func (tx *Tx) DeliveryHosts(limit int) ([]Host, error) {
	rows, err := tx.query(`WITH queued AS (
			SELECT host, count(*) AS n FROM deliveries WHERE state = 'queued' GROUP BY host
		)
		SELECT coalesce(h.host, q.host), coalesce(h.failures, 0), coalesce(h.unreachable_since, 0),
			coalesce(h.retry_at, 0), coalesce(h.last_error, ''), coalesce(h.last_success_at, 0), coalesce(q.n, 0)
		FROM queued q LEFT JOIN hosts h ON h.host = q.host
		UNION ALL
		SELECT h.host, h.failures, h.unreachable_since, h.retry_at, h.last_error, h.last_success_at, 0
		FROM hosts h WHERE h.failures > 0 AND h.host NOT IN (SELECT host FROM queued)
		ORDER BY 2 DESC, 7 DESC, 1 LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanHost)
}
