package federation

import (
	"context"
	"sync"
	"time"

	"github.com/hearth-social/hearth/storage"
)

// maxLearners bounds how many servers are asked at once what they run.
const maxLearners = 8

// learnTimeout bounds the asking of one server: NodeInfo takes two requests.
const learnTimeout = time.Minute

// learner asks, in the background, the servers of new members what
// software they run, which decides the form of the posts they are sent.
// Asking before answering a Follow would make its sender wait on a third
// request, and a server whose NodeInfo hangs could never join: its sender
// would give up and send the Follow again, to wait again. Each server is
// asked by one worker at a time, for at most learnTimeout; what is queued
// when the service stops is dropped, and learned on a later Follow.
type learner struct {
	ctx    context.Context
	cancel context.CancelFunc
	learn  func(context.Context, storage.Actor)

	mu      sync.Mutex
	queue   []storage.Actor
	hosts   map[string]bool // queued or being asked
	workers int
	settled chan struct{} // closed while no server is queued or being asked
}

func newLearner(learn func(context.Context, storage.Actor)) *learner {
	ctx, cancel := context.WithCancel(context.Background())
	settled := make(chan struct{})
	close(settled)
	return &learner{ctx: ctx, cancel: cancel, learn: learn, hosts: map[string]bool{}, settled: settled}
}

// add queues the server of a, unless it is queued or being asked already.
func (l *learner) add(a storage.Actor) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx.Err() != nil || l.hosts[a.Host] {
		return
	}
	if len(l.hosts) == 0 {
		l.settled = make(chan struct{})
	}
	l.hosts[a.Host] = true
	l.queue = append(l.queue, a)
	if l.workers < maxLearners {
		l.workers++
		go l.work()
	}
}

func (l *learner) work() {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.workers--
			l.mu.Unlock()
			return
		}
		a := l.queue[0]
		l.queue = l.queue[1:]
		l.mu.Unlock()
		if l.ctx.Err() == nil {
			ctx, cancel := context.WithTimeout(l.ctx, learnTimeout)
			l.learn(ctx, a)
			cancel()
		}
		l.mu.Lock()
		delete(l.hosts, a.Host)
		if len(l.hosts) == 0 {
			close(l.settled)
		}
		l.mu.Unlock()
	}
}

// wait returns once no server is queued or being asked, or with ctx's error.
func (l *learner) wait(ctx context.Context) error {
	l.mu.Lock()
	settled := l.settled
	l.mu.Unlock()
	select {
	case <-settled:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop cancels what is being asked, drops what is queued, and waits until
// the workers are done or ctx ends.
func (l *learner) stop(ctx context.Context) error {
	l.cancel()
	return l.wait(ctx)
}
