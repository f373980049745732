package storage

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// A fan-out is an activity for all of a group's members. Queuing one costs
// the same whatever the size of the group: the activity and one record.
// The delivery engine expands it into deliveries afterwards, one batch of
// the group's distinct delivery inboxes per transaction, in inbox order.
//
// The roster is read when each batch is expanded, not when the activity was
// queued: a member who left or was banned before their server's turn is not
// counted, and one who joined meanwhile is counted if their server's inbox
// sorts after the batches already expanded. A server that had members all
// along is sent the activity once either way.

// Turn says whether a member's server is sent one activity of a fan-out,
// and in which of the two passes over the roster.
type Turn int

const (
	// Skip leaves the server out.
	Skip Turn = iota
	// First sends the server this activity as the first (often the only)
	// form it gets of what the group passes on.
	First
	// Second sends it as the server's second form: only once no fan-out has
	// first forms left to expand, so that every server's first form is
	// queued, and claimed, before any server's second.
	Second
)

// Target is one delivery inbox of a group's members, as a fan-out's
// audience sees it.
type Target struct {
	Inbox    string
	Host     string
	Software string // what the host runs, "" when unknown
}

// Audience decides the turn of each target of a fan-out, from the form the
// fan-out was queued with.
type Audience func(form string, t Target) Turn

// QueueFanOut stores a, an activity of group a.GroupID, and queues it for
// the group's members, to be expanded later by ExpandFanOut. form is kept
// for the audience that expansion is given. The inboxes in also are queued
// at once, those that are no member's: a member's is the fan-out's, which
// sends it once. Call it in the transaction of the change that caused the
// activity.
func (tx *Tx) QueueFanOut(a Activity, form string, also ...string) error {
	if a.GroupID == 0 {
		return fmt.Errorf("fan-out of %s: no group", a.ID)
	}
	if err := tx.storeActivity(a); err != nil {
		return err
	}
	for _, inbox := range also {
		host, err := inboxHost(inbox)
		if err != nil {
			return err
		}
		_, err = tx.exec(`INSERT INTO deliveries (activity_id, inbox, host, next_attempt_at, created_at, updated_at)
			SELECT :activity, :inbox, :host, :now, :now, :now WHERE NOT EXISTS (
				SELECT 1 FROM memberships WHERE group_id = :group AND state = 'member' AND inbox = :inbox)
			ON CONFLICT DO NOTHING`,
			sql.Named("activity", a.ID), sql.Named("inbox", inbox), sql.Named("host", host),
			sql.Named("now", millis(tx.now)), sql.Named("group", a.GroupID))
		if err != nil {
			return err
		}
	}
	_, err := tx.exec(`INSERT INTO fanouts (activity_id, form, created_at) VALUES (?, ?, ?)`, a.ID, form, millis(tx.now))
	return err
}

// Expansion is what one call of ExpandFanOut did.
type Expansion struct {
	// Queued counts the deliveries it queued.
	Queued int
	// Pending reports whether fan-outs are left to expand.
	Pending bool
}

// ExpandFanOut takes one step of the next fan-out: it reads the next limit
// distinct delivery inboxes of the group's members after the fan-out's
// cursor, queues a delivery, due now, to each whose turn is the current
// pass, and moves the cursor past them, all in the caller's transaction.
// Fan-outs are expanded oldest first, every first pass before any second.
// A fan-out whose second pass has nothing to send ends with its first.
func (tx *Tx) ExpandFanOut(limit int, audience Audience) (Expansion, error) {
	limit = max(limit, 1)
	var (
		id, groupID      int64
		activityID, form string
		pass             int
		cursor           string
		secondPass       bool
	)
	err := tx.queryRow(`SELECT f.id, f.activity_id, coalesce(a.group_id, 0), f.form, f.pass, f.cursor, f.second_pass
		FROM fanouts f JOIN activities a ON a.id = f.activity_id ORDER BY f.pass, f.id LIMIT 1`).
		Scan(&id, &activityID, &groupID, &form, &pass, &cursor, &secondPass)
	if errors.Is(err, sql.ErrNoRows) {
		return Expansion{}, nil
	}
	if err != nil {
		return Expansion{}, translate(err)
	}
	inboxes, err := tx.memberInboxesAfter(groupID, cursor, limit)
	if err != nil {
		return Expansion{}, err
	}
	targets, err := tx.targets(inboxes)
	if err != nil {
		return Expansion{}, err
	}
	turn := First
	if pass == 2 {
		turn = Second
	}
	var chosen []Target
	for _, t := range targets {
		switch audience(form, t) {
		case turn:
			chosen = append(chosen, t)
		case Second:
			secondPass = true
		}
	}
	queued, err := tx.queueDeliveries(activityID, chosen)
	if err != nil {
		return Expansion{}, err
	}
	switch {
	case len(inboxes) == limit:
		_, err = tx.exec(`UPDATE fanouts SET cursor = ?, second_pass = ? WHERE id = ?`, inboxes[len(inboxes)-1], secondPass, id)
	case pass == 1 && secondPass:
		_, err = tx.exec(`UPDATE fanouts SET pass = 2, cursor = '', second_pass = 1 WHERE id = ?`, id)
	default:
		_, err = tx.exec(`DELETE FROM fanouts WHERE id = ?`, id)
	}
	if err != nil {
		return Expansion{}, err
	}
	pending, err := tx.FanOutsPending()
	return Expansion{Queued: queued, Pending: pending}, err
}

// FanOutsPending reports whether any fan-out is left to expand.
func (tx *Tx) FanOutsPending() (bool, error) {
	var pending bool
	err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM fanouts)`).Scan(&pending)
	return pending, translate(err)
}

// memberInboxesAfter returns up to limit distinct delivery inboxes of the
// group's members that sort after cursor, in order. It walks the index of
// member inboxes one seek per inbox, so its cost is that of the inboxes it
// returns, however many members share each.
func (tx *Tx) memberInboxesAfter(groupID int64, cursor string, limit int) ([]string, error) {
	rows, err := tx.query(`WITH RECURSIVE walk (inbox, n) AS (
			SELECT (SELECT inbox FROM memberships WHERE group_id = :group AND state = 'member' AND inbox > :cursor
				ORDER BY inbox LIMIT 1), 1
			UNION ALL
			SELECT (SELECT m.inbox FROM memberships m WHERE m.group_id = :group AND m.state = 'member' AND m.inbox > walk.inbox
				ORDER BY m.inbox LIMIT 1), n + 1
			FROM walk WHERE walk.inbox IS NOT NULL AND n < :limit
		)
		SELECT inbox FROM walk WHERE inbox IS NOT NULL`,
		sql.Named("group", groupID), sql.Named("cursor", cursor), sql.Named("limit", limit))
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
}

// targets adds to each inbox its host and what the host runs. An inbox
// that is not an absolute URL cannot be delivered to and is left out.
func (tx *Tx) targets(inboxes []string) ([]Target, error) {
	targets := make([]Target, 0, len(inboxes))
	var hosts []string
	seen := map[string]bool{}
	for _, inbox := range inboxes {
		host, err := inboxHost(inbox)
		if err != nil {
			continue
		}
		targets = append(targets, Target{Inbox: inbox, Host: host})
		if !seen[host] {
			seen[host] = true
			hosts = append(hosts, host)
		}
	}
	if len(hosts) == 0 {
		return targets, nil
	}
	list, err := json.Marshal(hosts)
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(`SELECT host, software FROM hosts
		WHERE host IN (`+tx.dialect.textList("?")+`) AND software != ''`, string(list))
	if err != nil {
		return nil, err
	}
	type known struct{ host, software string }
	found, err := scanAll(rows, func(r *sql.Rows) (known, error) {
		var k known
		return k, r.Scan(&k.host, &k.software)
	})
	if err != nil {
		return nil, err
	}
	software := make(map[string]string, len(found))
	for _, k := range found {
		software[k.host] = k.software
	}
	for i := range targets {
		targets[i].Software = software[targets[i].Host]
	}
	return targets, nil
}

// queueDeliveries queues one delivery of the activity to each target, due
// now, in the order given, with one statement.
func (tx *Tx) queueDeliveries(activityID string, targets []Target) (int, error) {
	if len(targets) == 0 {
		return 0, nil
	}
	pairs := make([][2]string, len(targets))
	for i, t := range targets {
		pairs[i] = [2]string{t.Inbox, t.Host}
	}
	list, err := json.Marshal(pairs)
	if err != nil {
		return 0, err
	}
	now := sql.Named("now", millis(tx.now))
	res, err := tx.exec(`INSERT INTO deliveries (activity_id, inbox, host, next_attempt_at, created_at, updated_at)
		SELECT CAST(:activity AS TEXT), first, second, CAST(:now AS BIGINT), CAST(:now AS BIGINT), CAST(:now AS BIGINT)
		FROM (`+tx.dialect.pairList(":targets")+`) AS targets WHERE true
		ON CONFLICT DO NOTHING`, sql.Named("activity", activityID), sql.Named("targets", string(list)), now)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
