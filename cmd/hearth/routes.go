package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/metrics"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/templates"
)

// routes is the instance's whole HTTP surface: every path and method it
// answers is registered here and nowhere else. HEAD is answered wherever
// GET is, once, by middleware.GetHead: uptime checkers and peers probe
// with it before fetching.
func routes(fed *federation.Service, pages *templates.Pages, store *storage.Store, logger *slog.Logger, m *metrics.Metrics) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(accessLog(logger, m))
	// Recoverer sits inside the access log so that a panic is logged as the
	// 500 it turns into.
	r.Use(middleware.Recoverer)
	r.Use(middleware.GetHead)
	// A server the instance does not federate with is refused whatever it
	// asks for, once its request is signed.
	r.Use(fed.RefuseUnfederated)

	// The web.
	r.Get("/", pages.Home)
	r.Get("/healthz", healthz(store, logger))
	r.Get("/g/{name}/posts/{post}", pages.Thread)
	r.Get("/g/{name}/follow", pages.Follow)
	r.Get("/g/{name}/icon", pages.Icon)

	// The admin console. Setup and sign-in are open; everything else needs
	// a signed-in administrator. Every form carries a token (pages.Console).
	r.Route("/admin", func(r chi.Router) {
		r.Use(pages.Console)
		r.Get("/setup", pages.SetupForm)
		r.Post("/setup", pages.Setup)
		r.Get("/login", pages.LoginForm)
		r.Post("/login", pages.Login)
		r.Group(func(r chi.Router) {
			r.Use(pages.RequireAdmin)
			r.Post("/logout", pages.Logout)
			r.Get("/", pages.Groups)
			r.Get("/groups/new", pages.NewGroupForm)
			r.Post("/groups", pages.CreateGroup)
			r.Get("/groups/{name}", pages.GroupProfile)
			r.Post("/groups/{name}", pages.UpdateGroup)
			r.Post("/groups/{name}/icon", pages.UploadIcon)
			r.Get("/groups/{name}/members", pages.Members)
			r.Post("/groups/{name}/members", pages.DecideMember)
			r.Get("/groups/{name}/moderators", pages.Moderators)
			r.Post("/groups/{name}/moderators", pages.ChangeModerators)
			r.Get("/groups/{name}/posts", pages.Posts)
			r.Post("/groups/{name}/posts", pages.ChangePosts)
			r.Get("/groups/{name}/held", pages.Held)
			r.Post("/groups/{name}/held", pages.DecideHeld)
			r.Get("/groups/{name}/reports", pages.Reports)
			r.Post("/groups/{name}/reports", pages.DecideReport)
			r.Get("/groups/{name}/log", pages.ModerationLog)
			r.Get("/federation", pages.Federation)
			r.Get("/federation/domains", pages.Domains)
			r.Post("/federation/domains", pages.ChangeDomains)
			r.Get("/settings", pages.Settings)
			r.Post("/settings", pages.SaveSettings)
		})
	})

	// What other servers ask for: discovery, documents and inboxes. Each
	// client address may ask only so often (server.trusted_proxies says
	// when it is read from X-Forwarded-For); the inboxes also limit each
	// signing server.
	r.Group(func(r chi.Router) {
		r.Use(fed.LimitClients)
		federationRoutes(r, fed, pages)
	})
	return r
}

// federationRoutes are the paths other servers use.
func federationRoutes(r chi.Router, fed *federation.Service, pages *templates.Pages) {
	// Discovery. Browser-based tools read these from other origins, as they
	// do from Mastodon's, so any origin may.
	h := fed.Handle
	r.Get("/.well-known/webfinger", anyOrigin(h(fed.WebFinger)))
	r.Get("/.well-known/host-meta", anyOrigin(h(fed.HostMeta)))
	r.Get("/.well-known/host-meta.json", anyOrigin(h(fed.HostMetaJSON)))
	r.Get("/.well-known/nodeinfo", anyOrigin(h(fed.NodeInfoDiscovery)))
	r.Get("/nodeinfo/2.1", anyOrigin(h(fed.NodeInfo("2.1"))))
	r.Get("/nodeinfo/2.0", anyOrigin(h(fed.NodeInfo("2.0"))))

	// Actors, their collections, and what the groups author and send. In
	// authorized-fetch mode all but the actors, whose keys peers need to
	// check any signature, are served to signed requests alone.
	signed := fed.AuthorizedFetch
	r.Get("/actor", h(fed.InstanceActor))
	r.Get("/g/{name}", negotiate(h(fed.GroupActor), pages.Group))
	r.Get("/g/{name}/outbox", h(signed(fed.OutboxCollection)))
	r.Get("/g/{name}/followers", h(signed(fed.FollowersCollection)))
	r.Get("/g/{name}/featured", h(signed(fed.FeaturedCollection)))
	r.Get("/g/{name}/moderators", h(signed(fed.ModeratorsCollection)))
	r.Get("/g/{name}/notes/{token}", h(signed(fed.NoteDocument)))
	r.Get("/g/{name}/activities/{token}", h(signed(fed.ActivityDocument)))

	// Inboxes. The shared one and each group's run the same pipeline: what
	// an activity means is decided by its content, not by the door it came
	// through.
	r.Post("/inbox", h(fed.Inbox))
	r.Post("/g/{name}/inbox", h(fed.Inbox))
}

// negotiate serves one URL to two audiences: the ActivityPub document to a
// server that asks for one, the web page to everyone else.
func negotiate(document, page http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if activitypub.AcceptsActivityPub(r.Header.Get("Accept")) {
			document(w, r)
			return
		}
		page(w, r)
	}
}

// anyOrigin lets scripts on any web origin read the response.
func anyOrigin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h(w, r)
	}
}

// healthz answers "ok" only when the database answers a query.
func healthz(store *storage.Store, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := store.View(r.Context(), func(tx *storage.Tx) error {
			_, err := tx.InstanceKey()
			return err
		})
		if err != nil {
			logger.Error("health check failed", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok")
	}
}

// accessLog logs one line per request and times it for the metrics, by
// its route (the pattern, never the path, which names groups and posts).
// The query string is left out: it is not needed to follow traffic and may
// carry what a visitor typed.
func accessLog(logger *slog.Logger, m *metrics.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			took := time.Since(start)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			remote, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				remote = r.RemoteAddr
			}
			m.HTTPRequest(route, status, took)
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", middleware.GetReqID(r.Context())),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", took),
				slog.String("remote", remote),
			)
		})
	}
}
