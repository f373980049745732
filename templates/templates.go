// Package templates is Hearth's web side: the pages a person sees in a
// browser, rendered from embedded html/template files that escape everything.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

//go:embed *.html
var files embed.FS

// contentSecurityPolicy allows no scripts, frames or remote styles: the pages
// need none, and a support group's page should give an injected script
// nothing to run with.
const contentSecurityPolicy = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src https: data:"

// Pages renders the public web pages of one instance.
type Pages struct {
	store *storage.Store
	iris  activitypub.IRIs
	log   *slog.Logger
	pages map[string]*template.Template
}

// New parses every template once and returns the page handlers.
func New(store *storage.Store, iris activitypub.IRIs, logger *slog.Logger) (*Pages, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Pages{store: store, iris: iris, log: logger, pages: map[string]*template.Template{}}
	for _, name := range []string{"home.html", "group.html", "error.html"} {
		t, err := template.New(name).ParseFS(files, "layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		p.pages[name] = t
	}
	return p, nil
}

// render executes a page into a buffer first, so that a failing template
// produces a clean error page instead of half a page under a 200 status.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := p.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		p.log.Error("page failed", "path", r.URL.Path, "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		if p.pages["error.html"].ExecuteTemplate(&buf, "layout", internalError) != nil {
			http.Error(w, internalError.Message, status)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is what error.html shows.
type errorPage struct {
	Title   string
	Message string
}

var internalError = errorPage{Title: "Something went wrong", Message: "The server could not show this page. Please try again later."}

func (p *Pages) notFound(w http.ResponseWriter, r *http.Request, message string) {
	p.render(w, r, http.StatusNotFound, "error.html", errorPage{Title: "Not found", Message: message})
}

// fail logs err and shows a page that reveals nothing about it.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	p.log.Error("page failed", "path", r.URL.Path, "err", err)
	p.render(w, r, http.StatusInternalServerError, "error.html", internalError)
}
