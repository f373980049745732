package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hearth-social/hearth/federation/metrics"
	"github.com/hearth-social/hearth/storage"
)

// serveMetrics starts the listener of metrics.listen: /metrics for
// Prometheus and /debug/pprof for profiles. They are on a listener of
// their own, on the loopback interface by default, so that nothing about
// the server's insides is served to the internet.
func (m *Main) serveMetrics() error {
	m.Metrics.WatchState(func(ctx context.Context) (metrics.State, error) {
		return readState(ctx, m.Store)
	}, time.Now)
	if m.MetricsListener == nil {
		ln, err := net.Listen("tcp", m.Config.Metrics.Listen)
		if err != nil {
			return err
		}
		m.MetricsListener = ln
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Metrics.Registry(), promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.metricsServer = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	// Close clears these fields, perhaps before the goroutine has run.
	server, listener := m.metricsServer, m.MetricsListener
	go func() {
		if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("metrics listener stopped", "err", err)
		}
	}()
	m.Logger.Info("serving metrics", "listen", m.MetricsListener.Addr().String())
	return nil
}

// readState reads what a scrape reports of the queue and the database.
func readState(ctx context.Context, store *storage.Store) (metrics.State, error) {
	var s metrics.State
	err := store.View(ctx, func(tx *storage.Tx) error {
		stats, err := tx.QueueStats()
		if err != nil {
			return err
		}
		s.Queued, s.Due, s.Oldest = stats.Queued, stats.Due, stats.Oldest
		if s.Unreachable, err = tx.CountUnreachableHosts(); err != nil {
			return err
		}
		s.Database, err = tx.DatabaseSize()
		return err
	})
	return s, err
}
