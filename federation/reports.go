package federation

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// ErrNoSuchReport is returned for a number no open report of the group has.
var ErrNoSuchReport = errors.New("no open report has this number")

// reportListLimit bounds the reports listed at once.
const reportListLimit = 100

// ReportEntry is a report as the group's moderators read it.
type ReportEntry struct {
	ID       int64
	From     string // the server the reports came from
	Reports  int    // how many of that server's reports were merged into this one
	Comment  string
	Account  string // the reported account as user@host; "" when it names none
	Standing string // the account's standing in the group: member, pending, banned or ""
	Posts    []ReportedPost
	State    storage.ReportState
	Received time.Time

	// AccountID is the reported account's id, where its profile is read.
	AccountID string
}

// ReportedPost is a post of the group that a report names.
type ReportedPost struct {
	Address string // how a moderator names it in "remove"
	Page    string // where a moderator reads it
	State   storage.PostState
}

// fileReport stores what a report says about one group and, when it is
// not one more report of a server about what it reported already, tells
// the group's moderators.
func (s *Service) fileReport(tx *storage.Tx, c *concern, host, comment string) error {
	r := storage.Report{GroupID: c.group.ID, ReporterHost: host, Account: c.account, Comment: comment}
	for _, p := range c.posts {
		r.PostIDs = append(r.PostIDs, p.ID)
	}
	fresh, err := tx.FileReport(&r)
	if err != nil {
		return err
	}
	if !fresh {
		s.log.Info("report merged into an open one from the same server", "group", c.group.Name, "report", r.ID)
		return nil
	}
	if quiet, err := s.reportsOverflow(tx, c.group, host); err != nil || quiet {
		if quiet {
			s.log.Info("report kept without a notice: its server has many open", "group", c.group.Name, "report", r.ID, "from", host)
		}
		return err
	}
	stored, err := tx.ReportByID(c.group.ID, r.ID)
	if err != nil {
		return err
	}
	entry, err := reportEntry(tx, stored)
	if err != nil {
		return err
	}
	told, err := s.tellModerators(tx, c.group, reportNotice(c.group, entry), 0)
	s.log.Info("report received", "group", c.group.Name, "report", r.ID, "from", host, "moderators_told", told)
	return err
}

// reportEntry is r with its account and posts written out.
func reportEntry(tx *storage.Tx, r storage.Report) (ReportEntry, error) {
	e := ReportEntry{ID: r.ID, From: r.ReporterHost, Reports: r.Flags, Comment: r.Comment, State: r.State, Received: r.CreatedAt,
		AccountID: r.Account}
	if r.Account != "" {
		var err error
		if e.Account, err = handleOf(tx, r.Account); err != nil {
			return e, err
		}
		m, err := tx.Membership(r.GroupID, r.Account)
		switch {
		case err == nil:
			e.Standing = string(m.State)
		case !errors.Is(err, storage.ErrNotFound):
			return e, err
		}
	}
	for _, id := range r.PostIDs {
		p, err := tx.PostByID(id)
		if err != nil {
			return e, err
		}
		// An anonymous post's own address would name its author.
		page := p.URL
		if page == "" || p.Anonymous {
			page = address(p)
		}
		e.Posts = append(e.Posts, ReportedPost{Address: address(p), Page: page, State: p.State})
	}
	return e, nil
}

// reportNotice tells moderators of a new report, and ends with the lines
// that act on it.
func reportNotice(g storage.Group, e ReportEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<p>Report %d in %s, from %s.</p>", e.ID, html.EscapeString(g.Name), html.EscapeString(e.From))
	b.WriteString(describeReport(e))
	b.WriteString("<p>To act on it, send the group one of these lines as a direct message:</p>")
	b.WriteString(commandLines(reportCommands(e)...))
	return b.String()
}

// describeReport writes what a report says and names.
func describeReport(e ReportEntry) string {
	var b strings.Builder
	if e.Comment != "" {
		fmt.Fprintf(&b, "<blockquote>%s</blockquote>", html.EscapeString(activitypub.WithoutControls(e.Comment)))
	} else {
		b.WriteString("<p>The reporter wrote no comment.</p>")
	}
	switch {
	case e.Account != "" && e.Standing != "":
		fmt.Fprintf(&b, "<p>It names %s (%s).</p>", html.EscapeString(e.Account), e.Standing)
	case e.Account != "":
		fmt.Fprintf(&b, "<p>It names %s.</p>", html.EscapeString(e.Account))
	case len(e.Posts) == 0:
		b.WriteString("<p>It is about the group itself.</p>")
	}
	if len(e.Posts) > 0 {
		lines := make([]string, len(e.Posts))
		for i, p := range e.Posts {
			lines[i] = html.EscapeString(p.Page)
			if p.State != storage.Relayed {
				lines[i] += " (" + string(p.State) + ")"
			}
		}
		fmt.Fprintf(&b, "<p>Posts of the group it names:<br>%s</p>", strings.Join(lines, "<br>"))
	}
	return b.String()
}

// reportCommands are the commands that act on a report: remove each post
// still shared, ban the account, resolve the report.
func reportCommands(e ReportEntry) []string {
	var lines []string
	for _, p := range e.Posts {
		if p.State == storage.Relayed {
			lines = append(lines, "remove "+p.Address)
		}
	}
	if e.Account != "" && e.Standing != string(storage.Banned) {
		lines = append(lines, "ban "+e.Account)
	}
	return append(lines, "resolve "+strconv.FormatInt(e.ID, 10))
}

// Reports lists the group's open reports, oldest first.
func (s *Service) Reports(ctx context.Context, group string) ([]ReportEntry, error) {
	var out []ReportEntry
	_, err := s.viewGroup(ctx, group, func(tx *storage.Tx, g storage.Group) (err error) {
		out, err = openReports(tx, g)
		return err
	})
	return out, err
}

func openReports(tx *storage.Tx, g storage.Group) ([]ReportEntry, error) {
	reports, err := tx.Reports(g.ID, storage.ReportOpen, reportListLimit)
	if err != nil {
		return nil, err
	}
	out := make([]ReportEntry, 0, len(reports))
	for _, r := range reports {
		e, err := reportEntry(tx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ResolveReport closes one of the group's open reports.
func (s *Service) ResolveReport(ctx context.Context, group string, id int64) error {
	return s.inGroup(ctx, group, func(tx *storage.Tx, g storage.Group) error {
		return resolveReport(tx, g, id, byAdmin)
	})
}

// resolveReport closes g's open report id, for a moderator (by).
func resolveReport(tx *storage.Tx, g storage.Group, id int64, by string) error {
	err := tx.ResolveReport(g.ID, id, by)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%d: %w", id, ErrNoSuchReport)
	}
	if err != nil {
		return err
	}
	return logAction(tx, g, by, "resolve", "report "+strconv.FormatInt(id, 10), "")
}

// noticedReportsPerServer is how many open reports from one server the
// moderators are told of one by one. Past it, reports are kept and listed
// by "reports" but not announced: a server must not be able to fill the
// moderators' inboxes by reporting each member and post in turn.
const noticedReportsPerServer = 3

// reportsOverflow reports whether host already has more open reports about
// g than the moderators are told of one by one.
func (s *Service) reportsOverflow(tx *storage.Tx, g storage.Group, host string) (bool, error) {
	n, err := tx.CountOpenReportsFrom(g.ID, host)
	return n > noticedReportsPerServer, err
}
