package storage

import (
	"database/sql"
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// Job is one claimed delivery: an activity and the inbox it goes to.
type Job struct {
	ID         int64
	ActivityID string
	GroupID    int64 // signer; 0 for the instance actor
	Inbox      string
	Host       string
	Attempts   int // attempts made before this one
	// HostFailures counts the host's failed attempts since its last
	// success, as of the claim.
	HostFailures int
	// Cautious marks a job for a host that had not answered well yet at
	// the claim (see ClaimDeliveries).
	Cautious  bool
	CreatedAt time.Time
	Body      []byte
	// Lease is when the claim that handed out the job ends. It names the
	// claim: what is recorded for it changes the row only while the row
	// is still under that claim, not once another claim took it after
	// the lease ran out, nor once the row is gone and a new one reuses
	// its id.
	Lease time.Time
}

// cautiousHost says, of a host's row h (absent for a host never tried),
// that it has not answered well yet: it is new, failing or unreachable.
const cautiousHost = `(coalesce(h.unreachable_since, 0) > 0 OR coalesce(h.last_success_at, 0) = 0 OR coalesce(h.failures, 0) > 0)`

// claimWindow is how many of the earliest due deliveries a claim looks at,
// leaving out those of hosts that can take nothing now. Reading only the
// head of the queue keeps a claim's cost flat however long the queue
// grows. Twice the limit leaves room for a host's backlog beyond what it
// may take at once; a head of four times the limit and 256 more cost a
// third more per claim, which in a reply storm to a thousand servers kept
// the queue from draining near the signing floor.
func claimWindow(limit int) int { return 2*limit + 64 }

// ClaimDeliveries leases due deliveries until leaseUntil: up to limit for
// hosts that answer well and up to cautious for the others, taking from each
// host no more than perHost minus what that host already has in flight. A
// cautious host, one that has not answered well yet (new, failing, or marked
// unreachable), gets one request at a time, and the separate count lets the
// caller keep such hosts, which may hang, to a share of its workers. Each
// job says which kind it is. A claimed row is invisible to other claims
// until its lease ends, so a crashed worker's jobs come back by themselves.
// Nothing is claimed for the hosts in skip: the caller knows them to be
// slow to answer what they have already. The backlogs of hosts that can
// take nothing more are passed over, however long, so that hosts that hang
// hold up no one else.
//
// Due deliveries of a host that is resting are moved to the end of its
// rest as the claim meets them, so they stop taking room at the head of
// the queue: each is moved once per rest, however often claims run.
//
// On PostgreSQL, claims by every process sharing the database take turns,
// so that the in-flight count each reads per host includes the others'
// claims; the rows they lease are locked, skipping those another
// transaction holds (an outcome being written), so that a claim never
// waits for them. Call it in UpdateQueue.
func (tx *Tx) ClaimDeliveries(limit, cautious, perHost int, leaseUntil time.Time, skip ...string) ([]Job, error) {
	if tx.dialect.postgres {
		if _, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, claimLock); err != nil {
			return nil, err
		}
	}
	now := sql.Named("now", millis(tx.now))
	window := sql.Named("window", claimWindow(limit+cautious))
	args := []any{now, window, sql.Named("lease", millis(leaseUntil)),
		sql.Named("per_host", perHost), sql.Named("limit", limit), sql.Named("cautious", cautious)}
	// The statement is cached by its text: the list of hosts to skip is
	// padded with empty names to a power of two, so that a few texts
	// serve every length.
	skipped := ""
	if len(skip) > 0 {
		names := make([]string, 1<<bits.Len(uint(len(skip)-1)))
		for i := range names {
			host := ""
			if i < len(skip) {
				host = skip[i]
			}
			names[i] = fmt.Sprintf(":skip%d", i)
			args = append(args, sql.Named(names[i][1:], host))
		}
		skipped = " AND host NOT IN (" + strings.Join(names, ", ") + ")"
	}
	for {
		res, err := tx.exec(`
			UPDATE deliveries SET next_attempt_at = h.retry_at
			FROM (
				SELECT id, host FROM deliveries
				WHERE state = 'queued' AND next_attempt_at <= :now AND claimed_until <= :now
				ORDER BY next_attempt_at, id LIMIT :window
			) AS head JOIN hosts h ON h.host = head.host
			WHERE deliveries.id = head.id AND h.retry_at > :now`, now, window)
		if err != nil {
			return nil, err
		}
		if moved, err := res.RowsAffected(); err != nil || moved == 0 {
			break
		}
	}
	// The head leaves out the deliveries of hosts that can take nothing
	// now: resting, at their limit, or slow to answer what they have.
	// While such hosts hang, their backlogs would fill the head, and the
	// rest of the queue would wait behind them.
	rows, err := tx.query(`
		WITH busy AS (
			SELECT host, count(*) AS n FROM deliveries
			WHERE claimed_until > 0 AND claimed_until > :now GROUP BY host
		), saturated AS (
			SELECT b.host FROM busy b LEFT JOIN hosts h ON h.host = b.host
			WHERE b.n >= CASE WHEN `+cautiousHost+` THEN 1 ELSE :per_host END
		), head AS (
			SELECT id, host, next_attempt_at FROM deliveries
			WHERE state = 'queued' AND next_attempt_at <= :now AND claimed_until <= :now
				AND host NOT IN (SELECT host FROM saturated)
				AND host NOT IN (SELECT host FROM hosts WHERE retry_at > 0 AND retry_at > :now)`+skipped+`
			ORDER BY next_attempt_at, id LIMIT :window`+tx.dialect.skipLocked+`
		), ranked AS (
			SELECT d.id, d.host, `+cautiousHost+` AS cautious,
				row_number() OVER (PARTITION BY d.host ORDER BY d.next_attempt_at, d.id) AS rn
			FROM head d LEFT JOIN hosts h ON h.host = d.host
		), allowed AS (
			SELECT r.id, r.cautious, row_number() OVER (PARTITION BY r.cautious ORDER BY r.rn, r.id) AS k
			FROM ranked r LEFT JOIN busy b ON b.host = r.host
			WHERE r.rn + coalesce(b.n, 0) <= CASE WHEN r.cautious THEN 1 ELSE :per_host END
		)
		UPDATE deliveries SET claimed_until = :lease
		WHERE id IN (
			SELECT id FROM allowed WHERE k <= CASE WHEN cautious THEN CAST(:cautious AS BIGINT) ELSE CAST(:limit AS BIGINT) END
		)
		RETURNING id, activity_id, inbox, host, attempts, created_at,
			coalesce((SELECT failures FROM hosts h WHERE h.host = deliveries.host), 0),
			coalesce((SELECT `+cautiousHost+` FROM hosts h WHERE h.host = deliveries.host), true)`, args...)
	if err != nil {
		return nil, err
	}
	jobs, err := scanAll(rows, func(r *sql.Rows) (Job, error) {
		var j Job
		var created int64
		err := r.Scan(&j.ID, &j.ActivityID, &j.Inbox, &j.Host, &j.Attempts, &created, &j.HostFailures, &j.Cautious)
		j.CreatedAt, j.Lease = fromMillis(created), fromMillis(millis(leaseUntil))
		return j, err
	})
	if err != nil {
		return nil, err
	}
	bodies := map[string]Activity{}
	for i := range jobs {
		a, ok := bodies[jobs[i].ActivityID]
		if !ok {
			if a, err = tx.ActivityByID(jobs[i].ActivityID); err != nil {
				return nil, err
			}
			bodies[a.ID] = a
		}
		jobs[i].Body, jobs[i].GroupID = a.Body, a.GroupID
	}
	return jobs, nil
}

// ReleaseClaims returns every leased delivery to the queue. The one serving
// process calls it when it starts, since any lease then belongs to a process
// that is gone.
func (tx *Tx) ReleaseClaims() (int64, error) {
	res, err := tx.exec(`UPDATE deliveries SET claimed_until = 0 WHERE state = 'queued' AND claimed_until > 0`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ReleaseJobs returns the given claimed jobs to the queue, as they were,
// unless another claim took them since: a stopping process releases those
// it claimed and did not finish.
func (tx *Tx) ReleaseJobs(jobs []Job) error {
	for _, j := range jobs {
		if _, err := tx.exec(`UPDATE deliveries SET claimed_until = 0 WHERE id = ? AND claimed_until = ?`, j.ID, millis(j.Lease)); err != nil {
			return err
		}
	}
	return nil
}

// Verdict is what became of one delivery attempt.
type Verdict int

const (
	// Delivered means the inbox took it; the row is removed.
	Delivered Verdict = iota
	// RetryLater means the attempt failed in a way that may pass.
	RetryLater
	// GiveUp means the delivery failed for good; the row stays with its
	// reason and the failure counts against the host.
	GiveUp
	// Refused means the inbox answered and declined for good (most 4xx,
	// and 501): the row stays with its reason, and the host, which
	// answered, is healthy.
	Refused
)

// Outcome is the result of one attempt, recorded with many others at once.
type Outcome struct {
	// Job is the claimed job it is the outcome of; its body is not read.
	Job     Job
	Verdict Verdict
	Error   string
	// NextAttempt is when to try again, for RetryLater.
	NextAttempt time.Time
	// HostRetryAt, when set on a failure, keeps every job of the host
	// waiting until then.
	HostRetryAt time.Time
	// HostUnreachable marks the host unreachable, from now unless it
	// already was.
	HostUnreachable bool
	// Local marks a failure on this side, before anything was sent (the
	// group's key could not be used): the host was not asked, so the
	// failure does not count against it.
	Local bool
}

// RecordOutcomes saves a batch of attempt results and the host health they
// imply: a success revives its host, a failure other than a local one
// counts against it.
func (tx *Tx) RecordOutcomes(outcomes []Outcome) error {
	now := millis(tx.now)
	for _, o := range outcomes {
		var err error
		id, lease := o.Job.ID, millis(o.Job.Lease)
		switch o.Verdict {
		case Delivered:
			_, err = tx.exec(`DELETE FROM deliveries WHERE id = ? AND claimed_until = ?`, id, lease)
			if err == nil {
				err = tx.hostAnswered(o.Job.Host, now)
			}
		case Refused:
			_, err = tx.exec(`UPDATE deliveries SET state = 'failed', attempts = attempts + 1, claimed_until = 0,
				last_error = ?, updated_at = ? WHERE id = ? AND claimed_until = ?`, o.Error, now, id, lease)
			if err == nil {
				err = tx.hostAnswered(o.Job.Host, now)
			}
		case RetryLater, GiveUp:
			state := "queued"
			if o.Verdict == GiveUp {
				state = "failed"
			}
			_, err = tx.exec(`UPDATE deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?,
				claimed_until = 0, last_error = ?, updated_at = ? WHERE id = ? AND claimed_until = ?`,
				state, millis(o.NextAttempt), o.Error, now, id, lease)
			if err == nil && !o.Local {
				err = tx.hostFailed(o, now)
			}
		}
		if err != nil {
			return err
		}
	}
	return tx.countOutcomes(outcomes)
}

// InboxGone acts on a 410 Gone from inbox; call it in the transaction that
// records the refusal. When inbox is an account's own, the account is gone:
// its memberships end as when it deletes itself, bans excepted, and what
// is still queued for that inbox is dropped rather than refused one by one.
// An inbox that any actor names as its shared inbox is a server's endpoint,
// not an account, and its 410 ends nobody's membership. It returns how many
// memberships ended.
func (tx *Tx) InboxGone(inbox string) (int64, error) {
	inboxArg := sql.Named("inbox", inbox)
	var personal bool
	err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM actors WHERE inbox = :inbox)
		AND NOT EXISTS (SELECT 1 FROM actors WHERE shared_inbox = :inbox)`, inboxArg).Scan(&personal)
	if err != nil || !personal {
		return 0, translate(err)
	}
	if _, err := tx.exec(`DELETE FROM deliveries WHERE inbox = :inbox AND state = 'queued'`, inboxArg); err != nil {
		return 0, err
	}
	res, err := tx.exec(`DELETE FROM memberships WHERE state != 'banned'
		AND actor_id IN (SELECT id FROM actors WHERE inbox = :inbox)`, inboxArg)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// hostAnswered revives a host: it answered, so it is reachable.
func (tx *Tx) hostAnswered(host string, now int64) error {
	_, err := tx.exec(`INSERT INTO hosts (host, last_success_at) VALUES (?, ?)
		ON CONFLICT (host) DO UPDATE SET failures = 0, unreachable_since = 0, retry_at = 0,
			last_error = '', last_success_at = excluded.last_success_at`, host, now)
	return err
}

func (tx *Tx) hostFailed(o Outcome, now int64) error {
	unreachableSince := any(0)
	if o.HostUnreachable {
		unreachableSince = now
	}
	_, err := tx.exec(`INSERT INTO hosts (host, failures, unreachable_since, retry_at, last_error) VALUES (?, 1, ?, ?, ?)
		ON CONFLICT (host) DO UPDATE SET failures = hosts.failures + 1,
			unreachable_since = CASE WHEN excluded.unreachable_since = 0 THEN hosts.unreachable_since
				WHEN hosts.unreachable_since = 0 THEN excluded.unreachable_since ELSE hosts.unreachable_since END,
			retry_at = excluded.retry_at, last_error = excluded.last_error`,
		o.Job.Host, unreachableSince, millis(o.HostRetryAt), o.Error)
	return err
}

// Host is what the queue knows of one remote server's health.
type Host struct {
	Host             string
	Failures         int // consecutive failed attempts since the last success
	UnreachableSince time.Time
	RetryAt          time.Time
	LastError        string
	LastSuccessAt    time.Time
	Queued           int
}

// FailingHosts lists hosts with failures since their last success, worst first.
func (tx *Tx) FailingHosts() ([]Host, error) {
	rows, err := tx.query(`SELECT h.host, h.failures, h.unreachable_since, h.retry_at, h.last_error, h.last_success_at,
			(SELECT count(*) FROM deliveries d WHERE d.host = h.host AND d.state = 'queued')
		FROM hosts h WHERE h.failures > 0 ORDER BY h.failures DESC, h.host`)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanHost)
}

// scanHost reads a host's row: host, failures, unreachable since, retry
// at, last error, last success and queued deliveries, in that order.
func scanHost(r *sql.Rows) (Host, error) {
	var h Host
	var since, retry, success int64
	err := r.Scan(&h.Host, &h.Failures, &since, &retry, &h.LastError, &success, &h.Queued)
	h.UnreachableSince, h.RetryAt, h.LastSuccessAt = fromMillis(since), fromMillis(retry), fromMillis(success)
	return h, err
}

// RetryHost makes every queued delivery to host due now and lifts the
// host's wait; it returns how many deliveries it woke. Failed deliveries of
// the host are queued again too.
func (tx *Tx) RetryHost(host string) (int64, error) {
	if _, err := tx.exec(`UPDATE hosts SET retry_at = 0 WHERE host = ?`, host); err != nil {
		return 0, err
	}
	res, err := tx.exec(`UPDATE deliveries SET state = 'queued', next_attempt_at = ?, updated_at = ?
		WHERE host = ? AND claimed_until <= ?`, millis(tx.now), millis(tx.now), host, millis(tx.now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueueStats summarises the delivery queue.
type QueueStats struct {
	Queued  int // waiting or in flight
	Due     int // queued, due now, and not waiting on its host
	Failed  int // given up
	Oldest  time.Time
	Waiting int // queued for hosts resting after failures
	// FanOuts counts activities for whole groups whose deliveries are
	// still being queued, a batch of members' servers at a time.
	FanOuts int
}

// QueueStats counts the queue's rows.
func (tx *Tx) QueueStats() (QueueStats, error) {
	var s QueueStats
	var oldest int64
	err := tx.queryRow(`SELECT
			count(*) FILTER (WHERE d.state = 'queued'),
			count(*) FILTER (WHERE d.state = 'queued' AND d.next_attempt_at <= ? AND coalesce(h.retry_at, 0) <= ?),
			count(*) FILTER (WHERE d.state = 'failed'),
			coalesce(min(d.created_at) FILTER (WHERE d.state = 'queued'), 0),
			count(*) FILTER (WHERE d.state = 'queued' AND coalesce(h.retry_at, 0) > ?)
		FROM deliveries d LEFT JOIN hosts h ON h.host = d.host`, millis(tx.now), millis(tx.now), millis(tx.now)).
		Scan(&s.Queued, &s.Due, &s.Failed, &oldest, &s.Waiting)
	if err != nil {
		return s, translate(err)
	}
	s.Oldest = fromMillis(oldest)
	err = tx.queryRow(`SELECT count(*) FROM fanouts`).Scan(&s.FanOuts)
	return s, translate(err)
}

// FailedDelivery is a delivery that was given up, with its reason.
type FailedDelivery struct {
	ActivityID string
	Inbox      string
	Attempts   int
	LastError  string
	UpdatedAt  time.Time
}

// RecentFailures lists the latest given-up deliveries, newest first.
func (tx *Tx) RecentFailures(limit int) ([]FailedDelivery, error) {
	rows, err := tx.query(`SELECT activity_id, inbox, attempts, last_error, updated_at FROM deliveries
		WHERE state = 'failed' ORDER BY updated_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (FailedDelivery, error) {
		var f FailedDelivery
		var updated int64
		err := r.Scan(&f.ActivityID, &f.Inbox, &f.Attempts, &f.LastError, &updated)
		f.UpdatedAt = fromMillis(updated)
		return f, err
	})
}

// ExpireDeliveries gives up every queued delivery created before cutoff that
// is not in flight. The reason kept is the delivery's last error or, for one
// that never got an attempt because its host was resting, the host's.
func (tx *Tx) ExpireDeliveries(cutoff time.Time) (int64, error) {
	res, err := tx.exec(`UPDATE deliveries SET state = 'failed', updated_at = :now,
			last_error = 'gave up after retrying: ' || coalesce(nullif(last_error, ''),
				(SELECT nullif(h.last_error, '') FROM hosts h WHERE h.host = deliveries.host), 'never delivered')
		WHERE state = 'queued' AND created_at < :cutoff AND claimed_until <= :now`,
		sql.Named("now", millis(tx.now)), sql.Named("cutoff", millis(cutoff)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// NextDue returns when the next queued delivery that is waiting (for its
// retry time or for its host's rest) becomes due, or zero when none waits.
// Deliveries due already are not counted: they wait only for a free worker.
// The answer may come early (a host's rest ending with nothing queued for
// it), never late.
func (tx *Tx) NextDue() (time.Time, error) {
	var next int64
	err := tx.queryRow(`SELECT coalesce(min(due), 0) FROM (
			SELECT min(next_attempt_at) AS due FROM deliveries WHERE state = 'queued' AND next_attempt_at > :now
			UNION ALL
			SELECT min(retry_at) FROM hosts WHERE retry_at > 0 AND retry_at > :now
		) AS waiting`, sql.Named("now", millis(tx.now))).Scan(&next)
	return fromMillis(next), translate(err)
}

// ForgetFailedDeliveries drops given-up deliveries last touched before
// cutoff: their reasons have been on show long enough.
func (tx *Tx) ForgetFailedDeliveries(cutoff time.Time) (int64, error) {
	res, err := tx.exec(`DELETE FROM deliveries WHERE state = 'failed' AND updated_at < ?`, millis(cutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CountUnreachableHosts counts the hosts resting after repeated failures.
func (tx *Tx) CountUnreachableHosts() (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM hosts WHERE unreachable_since > 0`).Scan(&n)
	return n, translate(err)
}
