// Package ratelimit keeps a token bucket for each remote party (a server,
// a client address) so that none can take more than its share of the
// instance. Buckets are keyed by what the network sends, so their number
// is capped: when full, the one used longest ago is forgotten, which can
// only ever forgive a party, never throttle one more.
package ratelimit

import (
	"container/list"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxParties is how many parties a Limiter keeps a bucket for: some
// megabytes at most.
const maxParties = 10000

// reportEvery is the least time between two log lines about one party.
const reportEvery = time.Minute

// Limiter lets each key take Rate requests per second on average, and up
// to Burst at once. A nil Limiter allows everything.
type Limiter struct {
	rate     float64
	burst    float64
	capacity int
	subject  string
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element
	recent  *list.List // of *bucket, most recently used first
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time // when tokens was last counted
	// refused counts the requests turned away since reported, the time of
	// the last log line about this key.
	refused  int
	reported time.Time
}

// Config describes a Limiter.
type Config struct {
	// Rate is the requests per second each key may make; 0 turns the
	// limit off.
	Rate int
	// Burst is how many requests a key that has been quiet may make at once.
	Burst int
	// Subject names the key in log lines: "host", "ip".
	Subject string
	Logger  *slog.Logger
	Now     func() time.Time
}

// New returns a Limiter, or nil (allowing everything) when cfg.Rate is 0.
func New(cfg Config) *Limiter {
	if cfg.Rate <= 0 {
		return nil
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Limiter{
		rate:     float64(cfg.Rate),
		burst:    float64(max(cfg.Burst, 1)),
		capacity: maxParties,
		subject:  cfg.Subject,
		log:      cfg.Logger,
		now:      cfg.Now,
		buckets:  map[string]*list.Element{},
		recent:   list.New(),
	}
}

// Allow takes a token from key's bucket. When there is none, it returns
// false and how long until there is one, and logs the refusal, once per
// key per minute with the count refused since the last line.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	b.refused++
	if b.reported.IsZero() || now.Sub(b.reported) >= reportEvery {
		l.log.Info("refusing requests over the rate limit", l.subject, key, "refused", b.refused)
		b.refused, b.reported = 0, now
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// bucket returns key's bucket, made full if it is new, and marks it as
// the most recently used.
func (l *Limiter) bucket(key string, now time.Time) *bucket {
	if e, ok := l.buckets[key]; ok {
		l.recent.MoveToFront(e)
		return e.Value.(*bucket)
	}
	if len(l.buckets) >= l.capacity {
		oldest := l.recent.Back()
		l.recent.Remove(oldest)
		delete(l.buckets, oldest.Value.(*bucket).key)
	}
	b := &bucket{key: key, tokens: l.burst, at: now}
	l.buckets[key] = l.recent.PushFront(b)
	return b
}

// Refuse answers 429 Too Many Requests, with Retry-After in whole seconds,
// at least one.
func Refuse(w http.ResponseWriter, retryAfter time.Duration) {
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(int(max(1, math.Ceil(retryAfter.Seconds())))))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	w.Write([]byte("too many requests; try again later\n"))
}
