package templates

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

// postsListed bounds the shared posts a group's Posts tab lists; an older
// one is acted on by its address.
const postsListed = 50

// postRow is a post the group shares, as the console lists it.
type postRow struct {
	ID int64
	// Address is how the federation service names the post: the group's
	// copy, or the member's post it boosted.
	Address string
	// Link is where to read it: the member's web page, or the address.
	Link string
	// Author and AuthorURL are empty for an anonymous post: the console
	// does not name who wrote one.
	Author    string
	AuthorURL string
	Time      time.Time
	Warning   string
	Content   template.HTML
	Pinned    bool
}

func postRowOf(tx *storage.Tx, post storage.Post) (postRow, error) {
	row := postRow{ID: post.ID, Address: post.ObjectID, Time: post.CreatedAt, Warning: post.Summary,
		Content: template.HTML(activitypub.SanitizeHTML(post.Content)), Pinned: !post.PinnedAt.IsZero()}
	if post.CopyID != "" {
		row.Address = post.CopyID
	}
	row.Link = row.Address
	if post.Anonymous {
		return row, nil
	}
	if post.URL != "" {
		row.Link = post.URL
	}
	a, err := accountOf(tx, post.AuthorID, time.Time{})
	row.Author, row.AuthorURL = a.Handle, a.ID
	return row, err
}

// postItem is one post of the Posts tab with what its forms need.
type postItem struct {
	Group string
	CSRF  string
	Post  postRow
}

func init() {
	funcs["postItem"] = func(page *postsPage, post postRow) postItem {
		return postItem{Group: page.Name, CSRF: page.CSRF, Post: post}
	}
}

type postsPage struct {
	groupTab
	Pinned []postRow
	Posts  []postRow
	// Capped is set when older posts than those listed are shared.
	Capped bool
	// Post and Reason are what was typed in the form that failed.
	Post   string
	Reason string
}

// Posts lists the posts a group shares, the pinned ones first, to remove,
// pin or unpin.
func (p *Pages) Posts(w http.ResponseWriter, r *http.Request) {
	p.posts(w, r, http.StatusOK, "", "")
}

func (p *Pages) posts(w http.ResponseWriter, r *http.Request, status int, problem, post string) {
	page := postsPage{Post: post}
	if problem != "" {
		page.Reason = r.PostFormValue("reason")
	}
	var err error
	page.groupTab, err = p.consoleGroup(r, "posts", func(tx *storage.Tx, g storage.Group) error {
		pinned, err := tx.PinnedPosts(g.ID)
		if err != nil {
			return err
		}
		for _, post := range pinned {
			row, err := postRowOf(tx, post)
			if err != nil {
				return err
			}
			page.Pinned = append(page.Pinned, row)
		}
		recent, err := tx.Posts(g.ID, storage.Relayed, postsListed)
		if err != nil {
			return err
		}
		page.Capped = len(recent) == postsListed
		for _, post := range recent {
			if !post.PinnedAt.IsZero() {
				continue
			}
			row, err := postRowOf(tx, post)
			if err != nil {
				return err
			}
			page.Posts = append(page.Posts, row)
		}
		return nil
	})
	page.Error = problem
	p.showTab(w, r, status, "admin_posts.html", &page, err)
}

// ChangePosts removes, pins or unpins a post the group shares.
func (p *Pages) ChangePosts(w http.ResponseWriter, r *http.Request) {
	actions := map[string]func(*http.Request, string, string) error{
		"remove-post": p.removePost,
		"pin":         func(r *http.Request, group, post string) error { return p.fed.PinPost(r.Context(), group, post) },
		"unpin":       func(r *http.Request, group, post string) error { return p.fed.UnpinPost(r.Context(), group, post) },
	}
	p.act(w, r, actions, "post", "/posts", p.posts)
}

// removePost takes a post back from everywhere the group sent it, and
// tells its author the posted reason.
func (p *Pages) removePost(r *http.Request, group, post string) error {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if !validText(reason, maxReason) {
		return errors.New("the reason is too long")
	}
	return p.fed.RemovePost(r.Context(), group, post, reason)
}

// Report is an open report about a group, as the federation service
// lists it.
type Report struct {
	ID        int64
	From      string // the server the reports came from
	Reports   int    // how many of its reports were merged into this one
	Comment   string
	Account   string // the reported account's handle; "" when it names none
	AccountID string
	Standing  string // the account's standing in the group, or ""
	Posts     []ReportedPost
	Received  time.Time
}

// ReportedPost is a post of the group that a report names.
type ReportedPost struct {
	Address string // how the federation service names it
	Page    string // where to read it
	State   storage.PostState
}

// Shared reports whether the group still shares the post, and so may
// remove it.
func (p ReportedPost) Shared() bool { return p.State == storage.Relayed }

type reportsPage struct {
	groupTab
	Reports []Report
}

// Reports lists a group's open reports, oldest first.
func (p *Pages) Reports(w http.ResponseWriter, r *http.Request) {
	p.reports(w, r, http.StatusOK, "", "")
}

func (p *Pages) reports(w http.ResponseWriter, r *http.Request, status int, problem, _ string) {
	var page reportsPage
	var err error
	page.groupTab, err = p.consoleGroup(r, "reports", func(*storage.Tx, storage.Group) error { return nil })
	if err == nil {
		page.Reports, err = p.fed.Reports(r.Context(), page.Name)
	}
	page.Error = problem
	p.showTab(w, r, status, "admin_reports.html", &page, err)
}

// DecideReport resolves a report.
func (p *Pages) DecideReport(w http.ResponseWriter, r *http.Request) {
	actions := map[string]func(*http.Request, string, string) error{
		"resolve": func(r *http.Request, group, report string) error {
			id, err := strconv.ParseInt(report, 10, 64)
			if err != nil {
				return errors.New("no report has this number")
			}
			return p.fed.ResolveReport(r.Context(), group, id)
		},
	}
	p.act(w, r, actions, "report", "/reports", p.reports)
}

// LogLine is one line of a group's moderation log, as the federation
// service writes it: accounts as their handles where they are known.
type LogLine struct {
	At     time.Time
	By     string // a moderator, "admin" or "expiry"
	Action string
	Target string // an account, a post's address or a report
	Reason string
}

// Linked reports whether the line's target is an address to link to.
func (l LogLine) Linked() bool {
	return strings.HasPrefix(l.Target, "https://") || strings.HasPrefix(l.Target, "http://")
}

// logListed bounds the lines the moderation log tab shows; "hearth modlog
// --limit" shows more.
const logListed = 200

type logPage struct {
	groupTab
	Lines  []LogLine
	Capped bool
	Limit  int
}

// ModerationLog shows a group's moderation log, newest first.
func (p *Pages) ModerationLog(w http.ResponseWriter, r *http.Request) {
	page := logPage{Limit: logListed}
	var err error
	page.groupTab, err = p.consoleGroup(r, "log", func(*storage.Tx, storage.Group) error { return nil })
	if err == nil {
		page.Lines, err = p.fed.ModerationLog(r.Context(), page.Name, logListed+1)
	}
	if len(page.Lines) > logListed {
		page.Lines, page.Capped = page.Lines[:logListed], true
	}
	p.showTab(w, r, http.StatusOK, "admin_log.html", &page, err)
}
