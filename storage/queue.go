package storage

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// Activity is an activity this instance sends, stored once however many
// inboxes it goes to.
type Activity struct {
	ID        string
	GroupID   int64 // the group that signs it; 0 for the instance actor
	PostID    int64 // the post it is about, if any
	Type      string
	InOutbox  bool // listed in the group's public outbox
	Body      []byte
	CreatedAt time.Time
}

// Enqueue stores a and queues one delivery per distinct inbox, due now. Call
// it in the same transaction as the change that caused the activity, so the
// two are committed together or not at all.
func (tx *Tx) Enqueue(a Activity, inboxes []string) error {
	if err := tx.storeActivity(a); err != nil {
		return err
	}
	for _, inbox := range inboxes {
		host, err := inboxHost(inbox)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`INSERT INTO deliveries (activity_id, inbox, host, next_attempt_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, a.ID, inbox, host, millis(tx.now), millis(tx.now), millis(tx.now)); err != nil {
			return err
		}
	}
	return nil
}

// storeActivity stores what the instance sends, once for all its deliveries.
func (tx *Tx) storeActivity(a Activity) error {
	var groupID, postID any
	if a.GroupID != 0 {
		groupID = a.GroupID
	}
	if a.PostID != 0 {
		postID = a.PostID
	}
	_, err := tx.exec(`INSERT INTO activities (id, group_id, post_id, type, in_outbox, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, groupID, postID, a.Type, a.InOutbox, a.Body, millis(tx.now))
	return err
}

// inboxHost names the server an inbox is on as activitypub.Host does,
// which storage, a leaf, does not import (TestInboxHostIsActivityPubHost
// holds the two together). Deliveries are grouped, limited and counted
// against their host by this name, so every spelling of one server must
// give the same one: in any case, with the trailing dot of a fully
// qualified name, in Unicode or punycode, with its default port written.
func inboxHost(inbox string) (string, error) {
	u, err := url.Parse(inbox)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("inbox %q is not an absolute URL", inbox)
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	} else if ascii, err := hostNames.ToASCII(host); err == nil {
		host = strings.TrimSuffix(ascii, ".")
	}
	port := u.Port()
	if port == "" || u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443" {
		return host, nil
	}
	return host + ":" + port, nil
}

// hostNames is activitypub's mapping of host names to ASCII.
var hostNames = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false),
	idna.StrictDomainName(false), idna.CheckHyphens(false))

const activityColumns = `id, coalesce(group_id, 0), coalesce(post_id, 0), type, in_outbox, body, created_at`

func scanActivity(row interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var created int64
	err := row.Scan(&a.ID, &a.GroupID, &a.PostID, &a.Type, &a.InOutbox, &a.Body, &created)
	a.CreatedAt = fromMillis(created)
	return a, translate(err)
}

// ActivityByID returns a sent activity, or ErrNotFound.
func (tx *Tx) ActivityByID(id string) (Activity, error) {
	return scanActivity(tx.queryRow(`SELECT `+activityColumns+` FROM activities WHERE id = ?`, id))
}

// ActivitiesOfPost lists what the group sent about a post, oldest first.
func (tx *Tx) ActivitiesOfPost(postID int64) ([]Activity, error) {
	rows, err := tx.query(`SELECT `+activityColumns+` FROM activities WHERE post_id = ? ORDER BY created_at, id`, postID)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Activity, error) { return scanActivity(r) })
}

// Outbox lists a page of the group's outbox, newest first: at most limit
// activities created before the given time (zero for the newest).
func (tx *Tx) Outbox(groupID int64, before time.Time, limit int) ([]Activity, error) {
	if before.IsZero() {
		before = time.Unix(1<<40, 0)
	}
	rows, err := tx.query(`SELECT `+activityColumns+` FROM activities
		WHERE group_id = ? AND in_outbox = 1 AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		groupID, millis(before), limit)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Activity, error) { return scanActivity(r) })
}

// CountOutbox counts the activities listed in the group's outbox.
func (tx *Tx) CountOutbox(groupID int64) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM activities WHERE group_id = ? AND in_outbox = 1`, groupID).Scan(&n)
	return n, translate(err)
}
