package delivery

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// Schedule decides when a failed delivery is tried again and when the
// engine stops trying.
type Schedule struct {
	// First is the wait after the first failure; each later failure doubles it.
	First time.Duration
	// Longest caps a single wait.
	Longest time.Duration
	// GiveUpAfter is how long after it was queued a delivery is abandoned.
	GiveUpAfter time.Duration
	// Jitter spreads retries by up to this fraction either way, so that a
	// server coming back is not hit by every retry in the same second.
	Jitter float64
	// HostThreshold consecutive failures mark a host unreachable.
	HostThreshold int
	// HostFirst and HostLongest bound how long an unreachable host rests
	// before one delivery probes it again.
	HostFirst   time.Duration
	HostLongest time.Duration
}

// DefaultSchedule retries for about three days, like Mastodon's: 30 s, 1 min,
// 2 min, … doubling to 12 h between attempts.
var DefaultSchedule = Schedule{
	First:         30 * time.Second,
	Longest:       12 * time.Hour,
	GiveUpAfter:   72 * time.Hour,
	Jitter:        0.2,
	HostThreshold: 5,
	HostFirst:     time.Minute,
	HostLongest:   6 * time.Hour,
}

// Backoff is the wait after the given number of consecutive failures of one
// delivery (1 for the first failure). random is in [0, 1).
func (s Schedule) Backoff(failures int, random float64) time.Duration {
	wait := doubling(s.First, s.Longest, failures)
	spread := (random*2 - 1) * s.Jitter
	return time.Duration(float64(wait) * (1 + spread))
}

// HostRest is how long an unreachable host waits before it is probed, or 0
// while it has failed fewer than HostThreshold times in a row.
func (s Schedule) HostRest(failures int) time.Duration {
	if failures < s.HostThreshold {
		return 0
	}
	return doubling(s.HostFirst, s.HostLongest, failures-s.HostThreshold+1)
}

func doubling(first, longest time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	factor := math.Pow(2, float64(n-1))
	if factor > float64(longest/first) {
		return longest
	}
	return time.Duration(float64(first) * factor)
}

// retryAfter reads a Retry-After header in either of its forms, seconds or
// an HTTP date. ok is false when the header is absent or unreadable.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	value := h.Get("Retry-After")
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.Atoi(value); err == nil && seconds >= 0 {
		return time.Duration(seconds) * time.Second, true
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
