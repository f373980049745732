package main

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/templates"
)

// routes is the instance's whole HTTP surface in one table.
func (m *Main) routes(pages *templates.Pages) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(accessLog(m.Logger))
	// Recoverer sits inside the access log so that a panic is logged as the
	// 500 it turns into.
	r.Use(middleware.Recoverer)
	// Uptime checkers probe with HEAD; answer it wherever GET is routed.
	r.Use(middleware.GetHead)

	r.Get("/healthz", m.healthz)
	r.Get("/", pages.Home)
	m.Service.Routes(r, federation.Pages{Group: http.HandlerFunc(pages.Group)})
	return r
}

// healthz answers "ok" only when the database answers a query.
func (m *Main) healthz(w http.ResponseWriter, r *http.Request) {
	err := m.Store.View(r.Context(), func(tx *storage.Tx) error {
		_, err := tx.InstanceKey()
		return err
	})
	if err != nil {
		m.Logger.Error("health check failed", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}

// accessLog logs one line per request. The query string is left out: it is
// not needed to follow traffic and may carry what a visitor typed.
func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", middleware.GetReqID(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}
