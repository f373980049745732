// Package delivery sends what the groups publish: it claims queued
// deliveries from storage, signs each request with the sending group's key,
// POSTs it, and records the outcome, retrying what may still succeed.
// Activities for a whole group arrive as fan-outs, which it expands into
// deliveries in batches, off the path of the request that caused them.
//
// The queue lives in the database, so nothing is lost to a crash or a
// restart: a delivery leaves the queue only when its inbox took it, when
// it has been given up with its reason kept, or when the account it was for
// is gone.
package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/metrics"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/federation/transport"
	"github.com/hearth-social/hearth/storage"
)

// SignerFunc returns the signer of a group's activities (groupID 0 is the
// instance actor). The engine keeps the first answer for each group, so a
// group's key is parsed about once: first uses of one group at the same
// moment may each ask. It is called concurrently for different groups.
type SignerFunc func(ctx context.Context, groupID int64) (*signature.Signer, error)

// Config tunes an Engine. Zero values take the defaults.
type Config struct {
	// Workers bounds requests in flight to hosts that answer well. It is
	// above the core count, since requests mostly wait on the network, but
	// small enough that the requests in flight do not crowd the memory or
	// the only writer, whose claims grow with it.
	Workers int
	// CautiousWorkers bounds, apart from Workers, requests in flight to
	// hosts that have not answered well yet (new, failing or unreachable)
	// and requests that have gone slow: a request unanswered for several
	// times as long as answers usually take moves from Workers to here
	// while there is room. Servers that hang then hold these, and the
	// healthy ones keep moving. Zero means cautiousShare times Workers.
	CautiousWorkers int
	// SlowAfter is the least time a request must wait for its answer to
	// count as slow; longer when answers usually take longer.
	SlowAfter time.Duration
	// PerHost bounds requests in flight to one host.
	PerHost int
	// Lease is how long a claimed delivery stays this engine's before a
	// claim, in any process, may take it again: how long the deliveries
	// of a process that died wait. It should outlast Client's timeout,
	// so that a request still in flight is not sent twice at once.
	Lease  time.Duration
	Client *http.Client
	Signer SignerFunc
	// Metrics counts the outcome of each attempt; nil counts nothing.
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	// Poll is how often the engine looks for work that another process
	// (the CLI) queued; work queued in this process wakes it at once.
	Poll     time.Duration
	Schedule Schedule
	// Random returns a number in [0, 1) for jitter; tests fix it.
	Random func() float64
	// Audience decides which members' servers get each activity queued
	// for a whole group (storage.QueueFanOut), and in which pass; the
	// servers the instance does not federate with are left out there.
	// Nil sends every such activity to every member's server, first.
	Audience storage.Audience
	// FanOutBatch is how many member inboxes one transaction expands.
	FanOutBatch int
}

// Engine is the pool of delivery workers.
type Engine struct {
	store *storage.Store
	cfg   Config
	log   *slog.Logger

	wake     chan struct{}
	fanOuts  chan struct{}
	outcomes chan result
	// slots counts the requests in flight against each budget.
	slots slots
	// freed wakes the dispatcher when a request leaves a budget.
	freed chan struct{}
	// answerTime is a moving average of how long answers take, in
	// nanoseconds: what "slow" is measured against.
	answerTime atomic.Int64

	signersMu sync.Mutex
	signers   map[int64]*signature.Signer
	// signing holds a token per signature being made. Signing is most of a
	// delivery's CPU: with hundreds of workers signing at once, everything
	// else that needs a core (inbound requests, the transaction holding
	// the only writer) would queue behind them. As many signatures at once
	// as there are cores keep the cores as busy.
	signing chan struct{}

	hostsMu      sync.Mutex
	hostFailures map[string]int

	// claimed holds the jobs this engine leased whose outcome is not
	// written yet: at Stop they go back to the queue. Other processes
	// sharing a PostgreSQL database hold leases of their own, which are
	// not this one's to release.
	claimedMu sync.Mutex
	claimed   map[int64]time.Time // by job id, the lease

	stop        context.CancelFunc
	requestStop context.CancelFunc
	dispatched  sync.WaitGroup
	expanded    sync.WaitGroup
	inFlight    sync.WaitGroup
	recorded    chan struct{}
}

// DefaultLease is how long a claim lasts before another claim may take the
// job. It outlives the client's timeout, so a job is never sent twice at
// once.
const DefaultLease = 5 * time.Minute

// sweepEvery is how often deliveries queued for longer than
// Schedule.GiveUpAfter are given up. Most are given up by their own last
// attempt; the sweep catches those whose host rested past the deadline.
const sweepEvery = time.Minute

// flushEvery bounds how long an outcome waits before it is written; outcomes
// are written in batches because one transaction per delivery would cost
// more than the delivery.
const flushEvery = 20 * time.Millisecond

const flushBatch = 256

// fanOutBatch is how many member inboxes one transaction expands by
// default. A post that arrives while a fan-out expands waits for the batch
// in hand: with 1,000, posts to a group of 10,000 during its fan-outs were
// answered at p99 50-112 ms, with 250 at 63-69 ms, and the fan-outs were
// no slower (a group's members share a few inboxes per server).
const fanOutBatch = 250

// writeTimeout bounds each write of outcomes, and the release of claims on
// Stop, so that a database that stops answering cannot hold up shutdown for
// ever. Outcomes that failed to be written are tried again with the next
// batch.
const writeTimeout = 30 * time.Second

// New returns an engine over store; call Start to run it.
func New(store *storage.Store, cfg Config) *Engine {
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.CautiousWorkers <= 0 {
		cfg.CautiousWorkers = cautiousShare * cfg.Workers
	}
	if cfg.SlowAfter <= 0 {
		cfg.SlowAfter = slowAfter
	}
	if cfg.PerHost <= 0 {
		cfg.PerHost = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Schedule == (Schedule{}) {
		cfg.Schedule = DefaultSchedule
	}
	if cfg.Random == nil {
		cfg.Random = rand.Float64
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Audience == nil {
		cfg.Audience = func(string, storage.Target) storage.Turn { return storage.First }
	}
	if cfg.FanOutBatch <= 0 {
		cfg.FanOutBatch = fanOutBatch
	}
	return &Engine{
		store:        store,
		cfg:          cfg,
		log:          cfg.Logger,
		wake:         make(chan struct{}, 1),
		fanOuts:      make(chan struct{}, 1),
		outcomes:     make(chan result, cfg.Workers),
		slots:        slots{healthy: cfg.Workers, cautious: cfg.CautiousWorkers, slow: map[string]int{}},
		freed:        make(chan struct{}, 1),
		signers:      map[int64]*signature.Signer{},
		signing:      make(chan struct{}, runtime.GOMAXPROCS(0)),
		hostFailures: map[string]int{},
		claimed:      map[int64]time.Time{},
		recorded:     make(chan struct{}),
	}
}

// Wake tells the engine that new work is queued; it never blocks.
func (e *Engine) Wake() {
	for _, ch := range []chan struct{}{e.wake, e.fanOuts} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// wakeDispatch tells the dispatcher alone that deliveries are queued.
func (e *Engine) wakeDispatch() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Start returns leased jobs of a previous process to the queue and starts
// the workers. On SQLite there is one serving process per database, so
// every lease still held belongs to a process that stopped without
// finishing. On PostgreSQL other processes may be serving: a lease left by
// one that died is taken by a claim once it runs out.
func (e *Engine) Start(ctx context.Context) error {
	if !e.store.Postgres() {
		var released int64
		err := e.store.Update(ctx, func(tx *storage.Tx) (err error) {
			released, err = tx.ReleaseClaims()
			return err
		})
		if err != nil {
			return fmt.Errorf("delivery: release claims: %w", err)
		}
		if released > 0 {
			e.log.Info("resuming deliveries left in flight", "count", released)
		}
	}
	dispatchCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	requestCtx, requestStop := context.WithCancel(context.WithoutCancel(ctx))
	e.stop, e.requestStop = stop, requestStop
	e.dispatched.Add(1)
	go e.dispatch(dispatchCtx, requestCtx)
	e.expanded.Add(1)
	go e.expand(dispatchCtx)
	go e.record()
	return nil
}

// Stop stops claiming and expanding, lets requests in flight finish until
// ctx ends, cancels the rest (they stay queued) and writes every outcome.
func (e *Engine) Stop(ctx context.Context) error {
	e.stop()
	e.dispatched.Wait()
	e.expanded.Wait()
	done := make(chan struct{})
	go func() { e.inFlight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		e.requestStop()
		<-done
		err = ctx.Err()
	}
	e.requestStop()
	close(e.outcomes)
	<-e.recorded
	releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	e.claimedMu.Lock()
	var held []storage.Job
	for id, lease := range e.claimed {
		held = append(held, storage.Job{ID: id, Lease: lease})
	}
	e.claimedMu.Unlock()
	releaseErr := e.store.UpdateQueue(releaseCtx, func(tx *storage.Tx) error {
		return tx.ReleaseJobs(held)
	})
	return errors.Join(err, releaseErr)
}

// dispatch claims due jobs while either budget has room and starts a
// request for each. It sleeps until woken, until a request leaves its
// budget, or until a waiting job becomes due.
func (e *Engine) dispatch(ctx, requestCtx context.Context) {
	defer e.dispatched.Done()
	var nextSweep time.Time
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if now := e.cfg.Now(); !now.Before(nextSweep) {
			e.sweep(ctx, now)
			nextSweep = now.Add(sweepEvery)
		}
		exhausted := false
		if healthy, cautious := e.slots.wanted(); healthy+cautious > 0 {
			jobs, err := e.claim(ctx, healthy, cautious, e.slots.slowHosts())
			if err != nil && ctx.Err() == nil {
				e.log.Error("claiming deliveries", "err", err)
			}
			exhausted = len(jobs) < healthy+cautious
			e.slots.claimed(cautious, jobs)
			for _, job := range jobs {
				e.inFlight.Add(1)
				go e.work(requestCtx, job, e.slots.take(job))
			}
		}
		// With work left in the queue, a request leaving its budget is
		// what wakes the dispatcher; only an exhausted queue needs to know
		// when the next waiting job falls due.
		wait := e.cfg.Poll
		if exhausted {
			wait = e.idleWait(ctx)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		case <-e.freed:
		}
	}
}

// slots counts the requests in flight against the two budgets: Workers for
// hosts that answer well, CautiousWorkers for the others and for requests
// gone slow. It knows the hosts with a slow request in flight: they are
// sent nothing more until it ends, as a host not known to answer would be.
type slots struct {
	mu                        sync.Mutex
	healthy, cautious         int
	busyHealthy, busyCautious int
	// stuck counts the slow requests that found no room in the cautious
	// budget and hold healthy workers: while they wait, those workers are
	// not coming back soon.
	stuck int
	slow  map[string]int
	// cautiousWaiting is whether the last claim found as many cautious
	// jobs as it asked for: more may be waiting.
	cautiousWaiting bool
}

// flight is one request's place in the budgets.
type flight struct {
	host                 string
	cautious, slow, done bool
}

// wanted is how many jobs of each kind to claim now: when nothing is in
// flight, or once half of a budget is free, the cautious one only while the
// last claim found as many cautious jobs as it asked for. A claim reads the
// head of the queue, a few times what it asks for: claiming for each freed
// slot, or for a cautious budget with nothing to take, would cost more
// than the deliveries themselves (a quarter of the processor, in the
// fan-out benchmark). At most as many cautious jobs as Workers are asked
// for at once: the cautious budget is mostly room for requests that wait.
func (s *slots) wanted() (healthy, cautious int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	healthy, cautious = s.healthy-s.busyHealthy, min(s.cautious-s.busyCautious, s.healthy)
	half := func(free, size int) bool { return free > 0 && free >= min(64, size/2+1) }
	// Half of the healthy workers that are not stuck: otherwise, with half
	// of them stuck, the free ones would wait for requests that hang.
	if s.busyHealthy+s.busyCautious == 0 || half(healthy, s.healthy-s.stuck) || s.cautiousWaiting && half(cautious, s.healthy) {
		return healthy, cautious
	}
	return 0, 0
}

// claimed notes whether a claim that asked for cautious jobs found them all:
// if not, the queue's head has no more for now.
func (s *slots) claimed(asked int, jobs []storage.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := 0
	for _, job := range jobs {
		if job.Cautious {
			found++
		}
	}
	s.cautiousWaiting = found >= asked
}

func (s *slots) take(job storage.Job) *flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	if job.Cautious {
		s.busyCautious++
	} else {
		s.busyHealthy++
	}
	return &flight{host: job.Host, cautious: job.Cautious}
}

// wentSlow marks a request still in flight as slow, and moves it from the
// healthy budget to the cautious one if that has room; if not, it is stuck
// in the healthy one. It reports whether the budgets changed, which may
// let the dispatcher claim more.
func (s *slots) wentSlow(f *flight) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.done || f.slow {
		return false
	}
	f.slow = true
	s.slow[f.host]++
	switch {
	case f.cautious:
		return false
	case s.busyCautious >= s.cautious:
		s.stuck++
		return true
	}
	f.cautious = true
	s.busyHealthy--
	s.busyCautious++
	return true
}

func (s *slots) release(f *flight) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.done = true
	if f.cautious {
		s.busyCautious--
	} else {
		s.busyHealthy--
	}
	if f.slow {
		if !f.cautious {
			s.stuck--
		}
		if s.slow[f.host]--; s.slow[f.host] == 0 {
			delete(s.slow, f.host)
		}
	}
}

// slowHosts lists the hosts with a slow request in flight.
func (s *slots) slowHosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	hosts := make([]string, 0, len(s.slow))
	for host := range s.slow {
		hosts = append(hosts, host)
	}
	return hosts
}

// signalFreed wakes the dispatcher: a request left its budget.
func (e *Engine) signalFreed() {
	select {
	case e.freed <- struct{}{}:
	default:
	}
}

// expand turns fan-outs into deliveries, one batch of member inboxes per
// transaction so that the writer is never held for long, and wakes the
// dispatcher for each batch. Between batches it leaves the writer to
// others for as long as the batch held it: inbound activities waiting for
// it go first, and batches are still queued far faster than they can be
// signed and sent. With nothing left to expand it sleeps until woken, or
// for the poll interval, since another process may queue fan-outs without
// waking it.
func (e *Engine) expand(ctx context.Context) {
	defer e.expanded.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		started := time.Now()
		step, err := e.expandStep(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			e.log.Error("expanding a fan-out", "err", err)
			step.Pending = false
		case step.Queued > 0:
			e.wakeDispatch()
		}
		if step.Pending {
			timer.Reset(time.Since(started))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			continue
		}
		timer.Reset(e.cfg.Poll)
		select {
		case <-ctx.Done():
			return
		case <-e.fanOuts:
		case <-timer.C:
		}
	}
}

// expandStep expands one batch of the next fan-out. It looks for one with
// a read first, so that an engine with nothing to expand does not take the
// only writer each time it polls.
func (e *Engine) expandStep(ctx context.Context) (storage.Expansion, error) {
	var pending bool
	err := e.store.View(ctx, func(tx *storage.Tx) (err error) {
		pending, err = tx.FanOutsPending()
		return err
	})
	if err != nil || !pending {
		return storage.Expansion{}, err
	}
	var step storage.Expansion
	err = e.store.Update(ctx, func(tx *storage.Tx) (err error) {
		step, err = tx.ExpandFanOut(e.cfg.FanOutBatch, e.cfg.Audience)
		return err
	})
	return step, err
}

// sweep gives up the deliveries that have been queued for too long, keeping
// the last error as the reason.
func (e *Engine) sweep(ctx context.Context, now time.Time) {
	var expired int64
	err := e.store.Update(ctx, func(tx *storage.Tx) (err error) {
		expired, err = tx.ExpireDeliveries(now.Add(-e.cfg.Schedule.GiveUpAfter))
		return err
	})
	switch {
	case err != nil && ctx.Err() == nil:
		e.log.Error("giving up expired deliveries", "err", err)
	case expired > 0:
		e.log.Info("gave up deliveries retried for too long", "count", expired, "after", e.cfg.Schedule.GiveUpAfter)
	}
}

func (e *Engine) claim(ctx context.Context, healthy, cautious int, skip []string) ([]storage.Job, error) {
	var jobs []storage.Job
	err := e.store.UpdateQueue(ctx, func(tx *storage.Tx) (err error) {
		jobs, err = tx.ClaimDeliveries(healthy, cautious, e.cfg.PerHost, tx.Now().Add(e.cfg.Lease), skip...)
		return err
	})
	e.claimedMu.Lock()
	for _, job := range jobs {
		e.claimed[job.ID] = job.Lease
	}
	e.claimedMu.Unlock()
	return jobs, err
}

// idleWait is how long the dispatcher may sleep when nothing else wakes it:
// until the next waiting job is due, and never longer than the poll
// interval, since another process may queue work without waking this one.
func (e *Engine) idleWait(ctx context.Context) time.Duration {
	var next time.Time
	err := e.store.View(ctx, func(tx *storage.Tx) (err error) {
		next, err = tx.NextDue()
		return err
	})
	if err != nil || next.IsZero() {
		return e.cfg.Poll
	}
	return min(max(next.Sub(e.cfg.Now()), time.Millisecond), e.cfg.Poll)
}

func (e *Engine) work(ctx context.Context, job storage.Job, f *flight) {
	defer e.inFlight.Done()
	if r, ok := e.deliver(ctx, job, f); ok {
		e.cfg.Metrics.Delivery(outcomeName(r))
		e.outcomes <- r
	}
	e.slots.release(f)
	e.signalFreed()
}

// result is what an attempt leaves to record.
type result struct {
	storage.Outcome
	// goneInbox is the job's inbox when it answered 410 Gone: if that is an
	// account's own inbox, the account is gone.
	goneInbox string
}

// deliver makes one attempt and decides what it means. ok is false when the
// attempt was cut short by shutdown: it does not count, and the job goes
// back to the queue as it was.
func (e *Engine) deliver(ctx context.Context, job storage.Job, f *flight) (r result, ok bool) {
	status, header, err := e.post(ctx, job, f)
	if ctx.Err() != nil {
		return r, false
	}
	// An inbox can name a person, an anonymous author for one: it is logged
	// at debug only, and the records above debug name the host instead.
	e.log.Debug("delivery attempt", "activity", job.ActivityID, "inbox", job.Inbox, "status", status, "err", err)
	now := e.cfg.Now()
	// The outcome waits for its batch without the job's body.
	r.Outcome = storage.Outcome{Job: storage.Job{ID: job.ID, Host: job.Host, Lease: job.Lease}}
	var unsigned signingError
	switch {
	case err == nil && status >= 200 && status < 300:
		r.Verdict = storage.Delivered
		e.hostRecovered(job.Host)
		return r, true
	case err == nil && final(status):
		// The server understood and refused; asking again will not change
		// its mind. The host itself is healthy.
		r.Verdict = storage.Refused
		r.Error = fmt.Sprintf("refused with HTTP %d", status)
		if status == http.StatusGone {
			r.goneInbox = job.Inbox
		}
		e.hostRecovered(job.Host)
		e.log.Info("delivery refused", "activity", job.ActivityID, "host", job.Host, "status", status)
		return r, true
	case errors.Is(err, transport.ErrRefused):
		// Our own guard refused the inbox's address or scheme: asking
		// again cannot change that, and the host was never asked.
		r.Verdict = storage.Refused
		r.Error = err.Error()
		e.log.Warn("delivery refused by the outgoing guard", "activity", job.ActivityID, "host", job.Host, "err", r.Error)
		return r, true
	case errors.As(err, &unsigned):
		r.Local = true
		r.Error = err.Error()
	case err != nil:
		r.Error = err.Error()
	default:
		r.Error = fmt.Sprintf("HTTP %d", status)
	}
	failures := job.Attempts + 1
	wait := e.cfg.Schedule.Backoff(failures, e.cfg.Random())
	if asked, ok := retryAfter(header, now); ok {
		wait = min(max(asked, time.Second), e.cfg.Schedule.Longest)
	}
	deadline := job.CreatedAt.Add(e.cfg.Schedule.GiveUpAfter)
	switch {
	case !now.Before(deadline):
		r.Verdict = storage.GiveUp
		r.Error = "gave up after retrying: " + r.Error
	default:
		r.Verdict = storage.RetryLater
		r.NextAttempt = now.Add(wait)
		if r.NextAttempt.After(deadline) {
			r.NextAttempt = deadline
		}
	}
	if r.Local {
		// The fault is ours and needs an admin; the host was not asked,
		// and its health stays as it was.
		e.log.Error("delivery not signed", "activity", job.ActivityID, "group", job.GroupID, "attempt", failures,
			"err", r.Error, "verdict", verdictName(r.Verdict))
		return r, true
	}
	// The server's other deliveries wait with the one that failed: sent
	// meanwhile, each would cost a signature and most would fail too,
	// while healthy servers wait for the signing. Once it has failed
	// HostThreshold times in a row it is unreachable, and rests longer.
	rest := e.cfg.Schedule.HostRest(e.hostFailed(job))
	r.HostUnreachable = rest > 0
	r.HostRetryAt = now.Add(max(wait, rest))
	e.log.Info("delivery failed", "activity", job.ActivityID, "host", job.Host, "attempt", failures,
		"err", r.Error, "verdict", verdictName(r.Verdict))
	return r, true
}

// final reports whether an answer refuses the delivery for good, as
// Mastodon judges it. A 401 may pass: Mastodon answers it when it cannot
// fetch the group's key for a moment (our restart, a proxy's hiccup). A 501
// will not: the server does not take such requests at all.
func final(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	case http.StatusNotImplemented:
		return true
	}
	return status >= 400 && status < 500
}

// outcomeName names an attempt's outcome for the metrics.
func outcomeName(r result) string {
	switch {
	case r.Local:
		return "unsigned"
	case r.Verdict == storage.Delivered:
		return "delivered"
	case r.Verdict == storage.Refused:
		return "refused"
	case r.Verdict == storage.GiveUp:
		return "gave_up"
	}
	return "retry"
}

func verdictName(v storage.Verdict) string {
	if v == storage.GiveUp {
		return "give up"
	}
	return "retry"
}

// responseLimit bounds how much of an inbox's answer is read; the body is
// only drained so the connection can be reused.
const responseLimit = 64 << 10

func (e *Engine) post(ctx context.Context, job storage.Job, f *flight) (int, http.Header, error) {
	signer, err := e.signer(ctx, job.GroupID)
	if err != nil {
		return 0, nil, signingError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.Inbox, bytes.NewReader(job.Body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", activitypub.ContentType)
	req.Header.Set("Accept", activitypub.ContentType)
	select {
	case e.signing <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
	err = signer.SignPost(req, job.Body)
	<-e.signing
	if err != nil {
		return 0, nil, signingError{fmt.Errorf("signing: %w", err)}
	}
	sent := time.Now()
	watch := time.AfterFunc(e.slowAfter(), func() {
		if e.slots.wentSlow(f) {
			e.signalFreed()
		}
	})
	defer watch.Stop()
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, cleanError(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, responseLimit))
	e.answered(time.Since(sent))
	return resp.StatusCode, resp.Header, nil
}

// cautiousShare is how many times Workers CautiousWorkers is by default. A
// request that waits costs memory but no processor time, and when servers
// hang they come in numbers: each holds one of these until the client's
// timeout, and a healthy worker when none is left.
const cautiousShare = 4

// slowFactor is how many times the usual answer time a request waits for
// its answer before it counts as slow.
const slowFactor = 8

// slowAfter is the default of Config.SlowAfter: on a network where answers
// come in milliseconds, a server that has not answered in this long is
// more likely hanging than busy.
const slowAfter = 100 * time.Millisecond

// slowAfter is how long a request may wait for its answer before it counts
// as slow and leaves the healthy budget.
func (e *Engine) slowAfter() time.Duration {
	return max(e.cfg.SlowAfter, slowFactor*time.Duration(e.answerTime.Load()))
}

// answered adds an answer's time to the moving average, an eighth at a
// time: recent enough to follow the network, steady enough that one slow
// answer does not move it far.
func (e *Engine) answered(took time.Duration) {
	for {
		old := e.answerTime.Load()
		next := int64(took)
		if old > 0 {
			next = old + (int64(took)-old)/8
		}
		if e.answerTime.CompareAndSwap(old, next) {
			return
		}
	}
}

// signingError is a failure to sign on this side, before anything was sent:
// the group's key could not be loaded or used.
type signingError struct{ err error }

func (e signingError) Error() string { return e.err.Error() }

// cleanError drops the method and URL that net/http puts in front of every
// error: the inbox is recorded beside it already, and it must not reach
// the logs. The cause stays reachable for errors.Is.
func cleanError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "\": "); i >= 0 {
		msg = msg[i+3:]
	}
	return requestError{msg: msg, cause: err}
}

// requestError is a failed request, told without its URL.
type requestError struct {
	msg   string
	cause error
}

func (e requestError) Error() string { return e.msg }
func (e requestError) Unwrap() error { return e.cause }

// signer loads a group's signer on its first use and keeps it. The load
// reads the database, so no lock is held meanwhile: groups loading at once
// must not wait on each other. Two first uses of one group may both load
// it; the first kept serves from then on.
func (e *Engine) signer(ctx context.Context, groupID int64) (*signature.Signer, error) {
	e.signersMu.Lock()
	s, ok := e.signers[groupID]
	e.signersMu.Unlock()
	if ok {
		return s, nil
	}
	s, err := e.cfg.Signer(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	e.signersMu.Lock()
	defer e.signersMu.Unlock()
	if kept, ok := e.signers[groupID]; ok {
		return kept, nil
	}
	e.signers[groupID] = s
	return s, nil
}

// hostFailed counts a failed attempt against the job's host and returns the
// host's consecutive failures. The count starts from what the queue knew at
// the claim, so a restart does not forget how long a host has been failing.
func (e *Engine) hostFailed(job storage.Job) int {
	e.hostsMu.Lock()
	defer e.hostsMu.Unlock()
	n, ok := e.hostFailures[job.Host]
	if !ok {
		n = job.HostFailures
	}
	e.hostFailures[job.Host] = n + 1
	return n + 1
}

func (e *Engine) hostRecovered(host string) {
	e.hostsMu.Lock()
	defer e.hostsMu.Unlock()
	delete(e.hostFailures, host)
}

// record writes outcomes in batches. A failed write is retried: dropping an
// outcome would leave its job leased until the lease ends and then send it
// again, which is safe but wasteful.
func (e *Engine) record() {
	defer close(e.recorded)
	var batch []storage.Outcome
	var gone []result
	ticker := time.NewTicker(flushEvery)
	defer ticker.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := e.save(batch, gone); err != nil {
			e.log.Error("recording delivery outcomes", "count", len(batch), "err", err)
			return
		}
		batch, gone = batch[:0], gone[:0]
		e.wakeDispatch()
	}
	for {
		select {
		case r, ok := <-e.outcomes:
			if !ok {
				flush()
				return
			}
			batch = append(batch, r.Outcome)
			if r.goneInbox != "" {
				gone = append(gone, r)
			}
			if len(batch) >= flushBatch {
				flush()
			}
		case <-ticker.C:
			flush()
		}
	}
}

// save writes outcomes in one transaction, together with what the 410s
// among them mean for the accounts whose inboxes answered them.
func (e *Engine) save(outcomes []storage.Outcome, gone []result) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	ended := make([]int64, len(gone))
	// Ending memberships is a change like any other, which waits for its
	// turn; outcomes alone need not.
	update := e.store.UpdateQueue
	if len(gone) > 0 {
		update = e.store.Update
	}
	err := update(ctx, func(tx *storage.Tx) error {
		if err := tx.RecordOutcomes(outcomes); err != nil {
			return err
		}
		for i, r := range gone {
			n, err := tx.InboxGone(r.goneInbox)
			if err != nil {
				return err
			}
			ended[i] = n
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.claimedMu.Lock()
	for _, o := range outcomes {
		delete(e.claimed, o.Job.ID)
	}
	e.claimedMu.Unlock()
	for i, r := range gone {
		if ended[i] > 0 {
			e.log.Info("an account is gone from its server: its memberships ended", "host", r.Job.Host, "memberships", ended[i])
			e.log.Debug("account gone", "inbox", r.goneInbox)
		}
	}
	return nil
}
