package templates

import (
	"sync"
	"time"
)

const (
	// loginAttempts in loginWindow, per client address and per username,
	// bound password guessing in the console.
	loginAttempts = 10
	loginWindow   = 15 * time.Minute
	// followLookups in followWindow, per client address, bound how often
	// a visitor can make the instance ask other servers about a handle.
	followLookups = 20
	followWindow  = 10 * time.Minute
	// limiterKeys bounds the memory of a limiter: past it, the windows
	// that ended are forgotten, and if all are still running, every one.
	limiterKeys = 10000
)

// limiter allows each key a number of events in a fixed window of time.
type limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]*counter
}

type counter struct {
	start time.Time
	n     int
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, seen: map[string]*counter{}}
}

// allow counts one event for key and reports whether it is within the limit.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	c, ok := l.seen[key]
	if !ok || now.Sub(c.start) >= l.window {
		if !ok && len(l.seen) >= limiterKeys {
			l.forget(now)
		}
		c = &counter{start: now}
		l.seen[key] = c
	}
	c.n++
	return c.n <= l.max
}

func (l *limiter) forget(now time.Time) {
	for key, c := range l.seen {
		if now.Sub(c.start) >= l.window {
			delete(l.seen, key)
		}
	}
	if len(l.seen) >= limiterKeys {
		clear(l.seen)
	}
}
