package dereference

import "time"

// memoryLimit bounds each of the fetcher's maps: they are keyed by what
// remote servers send, so they must not grow without end.
const memoryLimit = 4096

// remember records key at now in m. When m is full, entries older than
// keep are dropped, and if none is, the single oldest: a flood of new keys
// can only push out the oldest memories, never wipe them all at once.
func remember[V any](m map[string]memory[V], key string, value V, now time.Time, keep time.Duration) {
	if _, known := m[key]; !known && len(m) >= memoryLimit {
		oldestKey, oldest := "", now
		for k, entry := range m {
			if now.Sub(entry.at) >= keep {
				delete(m, k)
			} else if !entry.at.After(oldest) {
				oldestKey, oldest = k, entry.at
			}
		}
		if len(m) >= memoryLimit {
			delete(m, oldestKey)
		}
	}
	m[key] = memory[V]{at: now, value: value}
}

// memory is one remembered fact and when it was learned.
type memory[V any] struct {
	at    time.Time
	value V
}

// recall returns what m remembers of key, if it is younger than keep.
func recall[V any](m map[string]memory[V], key string, now time.Time, keep time.Duration) (V, bool) {
	entry, ok := m[key]
	if !ok || now.Sub(entry.at) >= keep {
		var zero V
		return zero, false
	}
	return entry.value, true
}
