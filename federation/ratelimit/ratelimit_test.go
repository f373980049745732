package ratelimit

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// clock is a time that moves only when the test says.
type clock struct{ now time.Time }

func newClock() *clock               { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }
func (c *clock) Now() time.Time      { return c.now }
func (c *clock) Add(d time.Duration) { c.now = c.now.Add(d) }

func allowed(l *Limiter, key string) bool {
	ok, _ := l.Allow(key)
	return ok
}

func TestAPartyGetsItsBurstThenItsRate(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := New(Config{Rate: 10, Burst: 3, Now: c.Now})
	for i := range 3 {
		if !allowed(l, "a.example") {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	ok, retryAfter := l.Allow("a.example")
	if ok || retryAfter != 100*time.Millisecond {
		t.Fatalf("the request after the burst: allowed %v, retry after %v; want refused, retry after 100ms", ok, retryAfter)
	}
	if !allowed(l, "b.example") {
		t.Error("another party was refused for the first one's requests")
	}
	c.Add(100 * time.Millisecond)
	if !allowed(l, "a.example") || allowed(l, "a.example") {
		t.Error("a tenth of a second at 10 per second should allow exactly one more request")
	}
	c.Add(time.Hour)
	for i := range 3 {
		if !allowed(l, "a.example") {
			t.Fatalf("after a quiet hour, request %d of a burst of 3 refused", i+1)
		}
	}
	if allowed(l, "a.example") {
		t.Error("a quiet hour saved up more than the burst")
	}
}

func TestAZeroRateAllowsEverything(t *testing.T) {
	t.Parallel()
	l := New(Config{Rate: 0, Burst: 1})
	if l != nil {
		t.Fatal("a rate of 0 made a limiter")
	}
	for range 1000 {
		if !allowed(l, "a.example") {
			t.Fatal("the limit that is off refused a request")
		}
	}
}

func TestRefusalsAreLoggedOncePerPartyPerMinute(t *testing.T) {
	t.Parallel()
	c := newClock()
	var log bytes.Buffer
	l := New(Config{Rate: 1, Burst: 1, Subject: "host", Logger: slog.New(slog.NewTextHandler(&log, nil)), Now: c.Now})
	for range 100 {
		l.Allow("flood.example")
	}
	l.Allow("other.example")
	l.Allow("other.example")
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "host=flood.example refused=1") ||
		!strings.Contains(lines[1], "host=other.example refused=1") {
		t.Fatalf("log after 99 refusals of one host and 1 of another:\n%s\nwant one line for each", log.String())
	}
	log.Reset()
	c.Add(59 * time.Second)
	l.Allow("flood.example")
	l.Allow("flood.example")
	if log.Len() != 0 {
		t.Fatalf("logged again within the minute:\n%s", log.String())
	}
	c.Add(time.Second)
	l.Allow("flood.example")
	l.Allow("flood.example")
	// Refused since the last line: 98 in the first burst, then one each
	// time the bucket's single token was spent again.
	if got := log.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "host=flood.example refused=100") {
		t.Errorf("log a minute later:\n%s\nwant one line counting the 100 refused since the last", got)
	}
}

func TestTheLeastRecentlySeenPartyIsForgottenFirst(t *testing.T) {
	t.Parallel()
	l := New(Config{Rate: 1, Burst: 1, Now: newClock().Now})
	l.capacity = 3
	for _, key := range []string{"a", "b", "c", "a", "d"} {
		l.Allow(key)
	}
	if len(l.buckets) != 3 || l.recent.Len() != 3 {
		t.Fatalf("%d buckets, %d in order; want the capacity, 3", len(l.buckets), l.recent.Len())
	}
	if _, kept := l.buckets["b"]; kept {
		t.Error("b, the least recently seen, was kept")
	}
	if allowed(l, "a") {
		t.Error("a, seen recently, was forgotten: its spent bucket came back full")
	}
}

func TestRefuseNamesWholeSeconds(t *testing.T) {
	t.Parallel()
	for wait, want := range map[time.Duration]string{0: "1", 5 * time.Millisecond: "1", time.Second: "1", 2100 * time.Millisecond: "3"} {
		w := httptest.NewRecorder()
		Refuse(w, wait)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != want {
			t.Errorf("refusing with a wait of %v: %d, Retry-After %q; want 429, %q", wait, w.Code, w.Header().Get("Retry-After"), want)
		}
	}
}
