package dereference

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hearth-social/hearth/activitypub"
)

// fetchesPerHost bounds the requests in flight to one server. Inbound
// requests decide what is fetched, so without a bound a stream of them
// naming new keys on a server that never answers would hold a request
// open for each until it times out.
const fetchesPerHost = 4

// queueWait is how long a request waits for a turn at a server already
// serving fetchesPerHost of ours before it is given up as unavailable, and
// whoever needed it is told to try again later.
const queueWait = 2 * time.Second

// errBusy is the error of a request that found no free turn in time.
var errBusy = errors.New("too many requests in flight to this server")

// hostTurns are the turns of one server: each value in slots is a request
// in flight. waiting counts the requests holding or awaiting a turn, so
// that the entry is dropped when the server has none.
type hostTurns struct {
	slots   chan struct{}
	waiting int
}

// takeTurn waits for a turn at the server of u, for at most queueWait, and
// returns the function that gives it back.
func (f *Fetcher) takeTurn(ctx context.Context, u string) (done func(), err error) {
	host, err := activitypub.Host(u)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	turns := f.turns[host]
	if turns == nil {
		turns = &hostTurns{slots: make(chan struct{}, fetchesPerHost)}
		f.turns[host] = turns
	}
	turns.waiting++
	f.mu.Unlock()
	leave := func() {
		f.mu.Lock()
		if turns.waiting--; turns.waiting == 0 {
			delete(f.turns, host)
		}
		f.mu.Unlock()
	}
	select {
	case turns.slots <- struct{}{}:
	default:
		timer := time.NewTimer(f.queueWait)
		defer timer.Stop()
		select {
		case turns.slots <- struct{}{}:
		case <-timer.C:
			leave()
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, errBusy)
		case <-ctx.Done():
			leave()
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
	}
	return func() {
		<-turns.slots
		leave()
	}, nil
}
