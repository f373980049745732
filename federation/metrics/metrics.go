// Package metrics is what Hearth tells Prometheus: what came in and how it
// was answered, what went out and how it fared, and the state of the
// queue. Every name starts with hearth_. Nothing here names a member, an
// inbox or an activity: labels are types, outcomes, reasons and routes.
package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every series Hearth updates as it works. A nil *Metrics
// records nothing, so that code built without them (tests, the CLI) needs
// no checks.
type Metrics struct {
	registry *prometheus.Registry

	inbound           *prometheus.CounterVec
	signatureFailures *prometheus.CounterVec
	deliveries        *prometheus.CounterVec
	fetches           *prometheus.HistogramVec
	httpRequests      *prometheus.HistogramVec
	rateLimitRefusals *prometheus.CounterVec
}

// New makes the series and registers them, with the Go runtime's and the
// process's, on a registry of their own.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_inbound_activities_total",
			Help: "Activities posted to the inboxes, by activity type and outcome (accepted, refused, failed).",
		}, []string{"type", "outcome"}),
		signatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_signature_failures_total",
			Help: "Signed requests refused, by the reason the signature failed.",
		}, []string{"reason"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_deliveries_total",
			Help: "Delivery attempts, by outcome (delivered, retry, refused, gave_up, unsigned).",
		}, []string{"outcome"}),
		fetches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hearth_fetch_duration_seconds",
			Help:    "Fetches of other servers' documents, by outcome (ok, gone, unavailable, refused, failed).",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 8),
		}, []string{"outcome"}),
		httpRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hearth_http_request_duration_seconds",
			Help:    "HTTP requests served, by route and status.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"route", "status"}),
		rateLimitRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_rate_limit_refusals_total",
			Help: "Requests answered 429, by the limit they met (host or ip).",
		}, []string{"limit"}),
	}
	m.registry.MustRegister(m.inbound, m.signatureFailures, m.deliveries, m.fetches, m.httpRequests, m.rateLimitRefusals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the series are registered, for the /metrics handler
// and for collectors that read state when scraped.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Inbound counts an activity posted to an inbox.
func (m *Metrics) Inbound(activityType, outcome string) {
	if m != nil {
		m.inbound.WithLabelValues(activityType, outcome).Inc()
	}
}

// SignatureFailure counts a signature refused for reason.
func (m *Metrics) SignatureFailure(reason string) {
	if m != nil {
		m.signatureFailures.WithLabelValues(reason).Inc()
	}
}

// Delivery counts a delivery attempt's outcome.
func (m *Metrics) Delivery(outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(outcome).Inc()
	}
}

// Fetch records a fetch of another server's document.
func (m *Metrics) Fetch(outcome string, took time.Duration) {
	if m != nil {
		m.fetches.WithLabelValues(outcome).Observe(took.Seconds())
	}
}

// HTTPRequest records a request served.
func (m *Metrics) HTTPRequest(route string, status int, took time.Duration) {
	if m != nil {
		m.httpRequests.WithLabelValues(route, statusText(status)).Observe(took.Seconds())
	}
}

// RateLimitRefusal counts a request answered 429 by the limit named.
func (m *Metrics) RateLimitRefusal(limit string) {
	if m != nil {
		m.rateLimitRefusals.WithLabelValues(limit).Inc()
	}
}

func statusText(status int) string { return strconv.Itoa(status) }

// State is what the queue and the database look like at a scrape.
type State struct {
	Queued      int       // deliveries waiting, due or not
	Due         int       // deliveries due now
	Oldest      time.Time // when the oldest delivery waiting was queued; zero when none waits
	Unreachable int       // hosts resting after repeated failures
	Database    int64     // bytes the database takes on disk
}

// stateCollector reads State afresh at each scrape, so the figures are never
// stale and nothing keeps them up to date in between.
type stateCollector struct {
	read  func(context.Context) (State, error)
	now   func() time.Time
	descs struct{ queued, due, oldest, unreachable, database *prometheus.Desc }
}

// WatchState has every scrape read the queue and the database with read.
func (m *Metrics) WatchState(read func(context.Context) (State, error), now func() time.Time) {
	c := &stateCollector{read: read, now: now}
	c.descs.queued = prometheus.NewDesc("hearth_delivery_queue_depth", "Deliveries waiting, due now or later.", nil, nil)
	c.descs.due = prometheus.NewDesc("hearth_delivery_queue_due", "Deliveries due now.", nil, nil)
	c.descs.oldest = prometheus.NewDesc("hearth_delivery_oldest_age_seconds", "How long the oldest delivery still waiting has waited; 0 when none waits.", nil, nil)
	c.descs.unreachable = prometheus.NewDesc("hearth_unreachable_hosts", "Servers resting after repeated failures.", nil, nil)
	c.descs.database = prometheus.NewDesc("hearth_database_size_bytes", "Bytes the database takes on disk.", nil, nil)
	m.registry.MustRegister(c)
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.descs.queued
	ch <- c.descs.due
	ch <- c.descs.oldest
	ch <- c.descs.unreachable
	ch <- c.descs.database
}

// scrapeTimeout bounds the reads of one scrape.
const scrapeTimeout = 5 * time.Second

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	s, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.descs.queued, err)
		return
	}
	var oldest float64
	if !s.Oldest.IsZero() {
		oldest = max(c.now().Sub(s.Oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.descs.queued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(c.descs.due, prometheus.GaugeValue, float64(s.Due))
	ch <- prometheus.MustNewConstMetric(c.descs.oldest, prometheus.GaugeValue, oldest)
	ch <- prometheus.MustNewConstMetric(c.descs.unreachable, prometheus.GaugeValue, float64(s.Unreachable))
	ch <- prometheus.MustNewConstMetric(c.descs.database, prometheus.GaugeValue, float64(s.Database))
}
