// Package templates is Hearth's web side: the public pages a person reads in
// a browser and the admin console, rendered from embedded html/template
// files that escape everything.
package templates

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

//go:embed *.html
var files embed.FS

// contentSecurityPolicy allows no scripts, frames or remote styles: the pages
// need none, and a support group's page should give an injected script
// nothing to run with. Images come from the instance (uploaded icons) or
// over https.
const contentSecurityPolicy = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; " +
	"base-uri 'none'; frame-ancestors 'none'"

// consolePolicy is the console's: its forms post to the instance alone.
// The public group page cannot have it, since its follow form ends on the
// visitor's own server.
const consolePolicy = contentSecurityPolicy + "; form-action 'self'"

// Federation is what the web side asks of the federation service; cmd wires
// the service in. Pages read the database themselves; whatever other
// servers must hear of (an Accept, a profile Update, a released post) goes
// through here, in the same transaction as the change.
type Federation interface {
	CreateGroup(ctx context.Context, g *storage.Group) error
	UpdateGroup(ctx context.Context, name string, change func(*storage.Group)) (storage.Group, error)
	ApproveMember(ctx context.Context, group, account string) (storage.Actor, error)
	RejectMember(ctx context.Context, group, account string) (storage.Actor, error)
	BanMember(ctx context.Context, group, account string, days int, reason string) (storage.Actor, error)
	UnbanMember(ctx context.Context, group, account string) (storage.Actor, error)
	AddModerator(ctx context.Context, group, account string) (storage.Actor, error)
	RemoveModerator(ctx context.Context, group, account string) (storage.Actor, error)
	ReleasePost(ctx context.Context, group, url string) error
	DeclinePost(ctx context.Context, group, url string) error
	RemovePost(ctx context.Context, group, url, reason string) error
	PinPost(ctx context.Context, group, url string) error
	UnpinPost(ctx context.Context, group, url string) error
	Reports(ctx context.Context, group string) ([]Report, error)
	ResolveReport(ctx context.Context, group string, id int64) error
	ModerationLog(ctx context.Context, group string, limit int) ([]LogLine, error)
	BlockDomain(ctx context.Context, domain, reason string) (Cutoff, error)
	AllowDomain(ctx context.Context, domain, reason string) error
	RemoveDomainRule(ctx context.Context, policy storage.DomainPolicyKind, domain string) error
	DomainRules(ctx context.Context) ([]DomainRule, error)
	// Allowlist reports whether the instance federates only with the
	// domains it allows.
	Allowlist() bool
	RemoteFollowURL(ctx context.Context, account, group string) (string, error)
	// ClientAddress is who a request comes from, for the rate limits:
	// behind a trusted reverse proxy, the client it names.
	ClientAddress(r *http.Request) string
}

// Config is what the composition root hands the web side.
type Config struct {
	Store      *storage.Store
	IRIs       activitypub.IRIs
	Federation Federation
	Logger     *slog.Logger
	// PasswordCost is the bcrypt cost of passwords set in the console; 0
	// means DefaultPasswordCost.
	PasswordCost int
	Now          func() time.Time
}

// Pages renders the public web pages and the admin console of one instance.
type Pages struct {
	store        *storage.Store
	iris         activitypub.IRIs
	fed          Federation
	log          *slog.Logger
	now          func() time.Time
	passwordCost int
	// secure marks cookies Secure: the instance is served over https.
	secure  bool
	logins  *limiter
	follows *limiter
	pages   map[string]*template.Template

	unknownAdmin sync.Once
	unknownHash  []byte
}

// publicPages and consolePages are every template, each parsed with the
// layout; console pages get the console's navigation too.
var (
	publicPages  = []string{"home.html", "group.html", "thread.html", "error.html"}
	consolePages = []string{"admin_setup.html", "admin_login.html", "admin_groups.html", "admin_group_new.html",
		"admin_group.html", "admin_members.html", "admin_moderators.html", "admin_posts.html", "admin_held.html",
		"admin_reports.html", "admin_log.html", "admin_federation.html", "admin_domains.html", "admin_settings.html"}
)

var funcs = template.FuncMap{
	"when":   func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"add":    func(a, b int) int { return a + b },
	"plural": func(n int, one, many string) string { return map[bool]string{true: one, false: many}[n == 1] },
}

// New parses every template once and returns the page handlers.
func New(cfg Config) (*Pages, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = DefaultPasswordCost
	}
	p := &Pages{
		store:        cfg.Store,
		iris:         cfg.IRIs,
		fed:          cfg.Federation,
		log:          cfg.Logger,
		now:          cfg.Now,
		passwordCost: cfg.PasswordCost,
		secure:       strings.HasPrefix(cfg.IRIs.Base(), "https://"),
		logins:       newLimiter(loginAttempts, loginWindow, cfg.Now),
		follows:      newLimiter(followLookups, followWindow, cfg.Now),
		pages:        map[string]*template.Template{},
	}
	for _, name := range publicPages {
		if err := p.parse(name, "layout.html", "post.html", name); err != nil {
			return nil, err
		}
	}
	for _, name := range consolePages {
		if err := p.parse(name, "layout.html", "admin.html", name); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Pages) parse(name string, sources ...string) error {
	t, err := template.New(name).Funcs(funcs).ParseFS(files, sources...)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	p.pages[name] = t
	return nil
}

// frame is what the layout needs to know about every page; each page's data
// embeds it.
type frame struct {
	// Indexable lets search engines index the page: only the pages of a
	// group that opted in.
	Indexable bool
	// Console pages: who is signed in, the form token, which section is
	// open, and what the last action did.
	Admin   string
	CSRF    string
	Section string
	Notice  string
	Error   string
}

func (f *frame) pageFrame() *frame { return f }

// framed is the data of any page.
type framed interface{ pageFrame() *frame }

// render executes a page into a buffer first, so that a failing template
// produces a clean error page instead of half a page under a 200 status.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, page string, data framed) {
	var buf bytes.Buffer
	if err := p.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		p.log.Error("page failed", "path", r.URL.Path, "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		data = &internalError
		if p.pages["error.html"].ExecuteTemplate(&buf, "layout", data) != nil {
			http.Error(w, internalError.Message, status)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(page, "admin_") {
		h.Set("Content-Security-Policy", consolePolicy)
		h.Set("Cache-Control", "no-store")
		// Under no-referrer, browsers send the console's forms with
		// "Origin: null", and the console could not tell them from
		// another site's.
		h.Set("Referrer-Policy", "same-origin")
	} else {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
	}
	if !data.pageFrame().Indexable {
		h.Set("X-Robots-Tag", "noindex")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is what error.html shows.
type errorPage struct {
	frame
	Title   string
	Message string
}

var internalError = errorPage{Title: "Something went wrong", Message: "The server could not show this page. Please try again later."}

func (p *Pages) notFound(w http.ResponseWriter, r *http.Request, message string) {
	p.render(w, r, http.StatusNotFound, "error.html", &errorPage{Title: "Not found", Message: message})
}

// fail logs err and shows a page that reveals nothing about it.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	p.log.Error("page failed", "path", r.URL.Path, "err", err)
	e := internalError
	p.render(w, r, http.StatusInternalServerError, "error.html", &e)
}
