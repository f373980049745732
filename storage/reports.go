package storage

import (
	"database/sql"
	"encoding/json"
	"time"
)

// ReportState is where a report stands.
type ReportState string

const (
	// ReportOpen reports wait for a moderator.
	ReportOpen ReportState = "open"
	// ReportResolved reports were dealt with.
	ReportResolved ReportState = "resolved"
)

// maxReportComment bounds what a report keeps of its reporters' comments,
// however many reports are merged into it.
const maxReportComment = 4000

// Report is a report (a Flag) about a group, one of its members or posts
// it shared, as its moderators see it. Reports from one server about the
// same posts, or about the same account when they name no post, are one
// report.
type Report struct {
	ID           int64
	GroupID      int64
	ReporterHost string
	Account      string  // the reported actor; "" when the report names only the group or posts
	Comment      string  // the reporters' words, plain text
	Flags        int     // how many reports were merged into this one
	PostIDs      []int64 // the group's posts it names
	State        ReportState
	ResolvedBy   string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (d *dialect) reportColumns() string {
	return `id, group_id, reporter_host, account, comment, flags, state, resolved_by, created_at, updated_at,
	coalesce((SELECT ` + d.jsonList("post_id") + ` FROM report_posts WHERE report_id = reports.id), '[]')`
}

func scanReport(row interface{ Scan(...any) error }) (Report, error) {
	var r Report
	var created, updated int64
	var posts string
	err := row.Scan(&r.ID, &r.GroupID, &r.ReporterHost, &r.Account, &r.Comment, &r.Flags, &r.State, &r.ResolvedBy,
		&created, &updated, &posts)
	if err != nil {
		return r, translate(err)
	}
	r.CreatedAt, r.UpdatedAt = fromMillis(created), fromMillis(updated)
	return r, json.Unmarshal([]byte(posts), &r.PostIDs)
}

// FileReport stores r, or merges it into the open report from the same
// server about the same posts (or, naming none, about the same account).
// It sets r.ID either way and reports whether r is a new report.
func (tx *Tx) FileReport(r *Report) (fresh bool, err error) {
	ids := r.PostIDs
	if ids == nil {
		ids = []int64{}
	}
	posts, err := json.Marshal(ids)
	if err != nil {
		return false, err
	}
	err = tx.queryRow(`SELECT id FROM reports WHERE group_id = :group AND reporter_host = :host AND state = 'open' AND (
			EXISTS (SELECT 1 FROM report_posts p WHERE p.report_id = reports.id AND p.post_id IN (SELECT CAST(value AS BIGINT) FROM (`+tx.dialect.textList(":posts")+`) AS posts))
			OR (`+tx.dialect.listLength(":posts")+` = 0 AND account = :account
				AND NOT EXISTS (SELECT 1 FROM report_posts p WHERE p.report_id = reports.id)))
		ORDER BY id LIMIT 1`,
		sql.Named("group", r.GroupID), sql.Named("host", r.ReporterHost), sql.Named("posts", string(posts)),
		sql.Named("account", r.Account)).Scan(&r.ID)
	switch err := translate(err); err {
	case nil:
		_, err = tx.exec(`UPDATE reports SET flags = flags + 1, updated_at = :now,
			account = CASE WHEN account = '' THEN :account ELSE account END,
			comment = CASE WHEN CAST(:comment AS TEXT) = '' OR `+tx.dialect.contains("comment", ":comment")+` THEN comment
				WHEN comment = '' THEN substr(:comment, 1, :max)
				ELSE substr(comment || `+tx.dialect.newline+` || `+tx.dialect.newline+` || :comment, 1, :max) END
			WHERE id = :id`, sql.Named("now", millis(tx.now)), sql.Named("account", r.Account),
			sql.Named("comment", r.Comment), sql.Named("max", maxReportComment), sql.Named("id", r.ID))
		if err != nil {
			return false, err
		}
	case ErrNotFound:
		fresh = true
		err := tx.queryRow(`INSERT INTO reports (group_id, reporter_host, account, comment, created_at, updated_at)
			VALUES (?, ?, ?, substr(?, 1, ?), ?, ?) RETURNING id`, r.GroupID, r.ReporterHost, r.Account, r.Comment, maxReportComment,
			millis(tx.now), millis(tx.now)).Scan(&r.ID)
		if err != nil {
			return false, translate(err)
		}
	default:
		return false, err
	}
	_, err = tx.exec(`INSERT INTO report_posts (report_id, post_id) SELECT CAST(:report AS BIGINT), CAST(value AS BIGINT)
		FROM (`+tx.dialect.textList(":posts")+`) AS posts WHERE true ON CONFLICT DO NOTHING`,
		sql.Named("report", r.ID), sql.Named("posts", string(posts)))
	return fresh, err
}

// Reports lists the group's reports in state, oldest first, at most limit.
func (tx *Tx) Reports(groupID int64, state ReportState, limit int) ([]Report, error) {
	rows, err := tx.query(`SELECT `+tx.dialect.reportColumns()+` FROM reports WHERE group_id = ? AND state = ? ORDER BY id LIMIT ?`,
		groupID, state, limit)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Report, error) { return scanReport(r) })
}

// ReportByID returns the group's report id, or ErrNotFound.
func (tx *Tx) ReportByID(groupID, id int64) (Report, error) {
	return scanReport(tx.queryRow(`SELECT `+tx.dialect.reportColumns()+` FROM reports WHERE group_id = ? AND id = ?`, groupID, id))
}

// ResolveReport closes the group's open report id; ErrNotFound when there
// is no such open report.
func (tx *Tx) ResolveReport(groupID, id int64, by string) error {
	res, err := tx.exec(`UPDATE reports SET state = 'resolved', resolved_by = ?, updated_at = ?
		WHERE group_id = ? AND id = ? AND state = 'open'`, by, millis(tx.now), groupID, id)
	return mustAffect(res, err)
}

// CountOpenReportsFrom counts the group's open reports from one server.
func (tx *Tx) CountOpenReportsFrom(groupID int64, host string) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM reports WHERE state = 'open' AND group_id = ? AND reporter_host = ?`, groupID, host).Scan(&n)
	return n, translate(err)
}
