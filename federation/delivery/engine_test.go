package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation/delivery"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/federation/signature"
	"github.com/hearth-social/hearth/federation/transport"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

const wait = 10 * time.Second

// clock is the time the store and the engine both see; tests move it
// instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rig is a queue on disk, a fake fediverse whose servers verify every
// signature, and a sender whose key those servers can fetch.
type rig struct {
	t       *testing.T
	network *fedtest.Network
	clock   *clock
	path    string
	store   *storage.Store
	sender  *fedtest.Actor
	lastID  int
}

func newRig(t *testing.T) *rig {
	t.Helper()
	network := fedtest.NewNetwork(t)
	r := &rig{
		t:       t,
		network: network,
		clock:   &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		path:    storagetest.Location(t),
		sender:  network.NewInstance("hearth.test").NewActor("group"),
	}
	r.open()
	return r
}

// open opens the database, as a restarted process does.
func (r *rig) open() {
	r.t.Helper()
	store, err := storage.Open(context.Background(), r.path, storage.WithClock(r.clock.Now))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { store.Close() })
	r.store = store
}

// config is an engine configuration for the rig: its clock, its network,
// the sender's key and jitter fixed at zero. schedule zero means the default.
func (r *rig) config(schedule delivery.Schedule) delivery.Config {
	return delivery.Config{
		Client: r.network.Client(),
		Signer: func(context.Context, int64) (*signature.Signer, error) {
			return signature.NewSigner(r.sender.KeyID, r.sender.Key), nil
		},
		Now:      r.clock.Now,
		Schedule: schedule,
		Random:   func() float64 { return 0.5 },
	}
}

// start runs an engine until the test ends.
func (r *rig) start(cfg delivery.Config) *delivery.Engine {
	r.t.Helper()
	e := delivery.New(r.store, cfg)
	if err := e.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		e.Stop(ctx)
	})
	return e
}

// enqueue queues a fresh activity from the sender to inboxes and returns its id.
func (r *rig) enqueue(inboxes ...string) string {
	r.t.Helper()
	r.lastID++
	id := fmt.Sprintf("http://hearth.test/activities/%d", r.lastID)
	body := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Announce","actor":%q,"object":"http://hearth.test/notes/1"}`,
		id, r.sender.ID)
	err := r.store.Update(context.Background(), func(tx *storage.Tx) error {
		return tx.Enqueue(storage.Activity{ID: id, Type: "Announce", Body: []byte(body)}, inboxes)
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

func (r *rig) view(fn func(*storage.Tx) error) {
	r.t.Helper()
	if err := r.store.View(context.Background(), fn); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) stats() (s storage.QueueStats) {
	r.t.Helper()
	r.view(func(tx *storage.Tx) (err error) { s, err = tx.QueueStats(); return err })
	return s
}

func (r *rig) failures() (f []storage.FailedDelivery) {
	r.t.Helper()
	r.view(func(tx *storage.Tx) (err error) { f, err = tx.RecentFailures(100); return err })
	return f
}

func (r *rig) failingHosts() (h []storage.Host) {
	r.t.Helper()
	r.view(func(tx *storage.Tx) (err error) { h, err = tx.FailingHosts(); return err })
	return h
}

func (r *rig) nextDue() (next time.Time) {
	r.t.Helper()
	r.view(func(tx *storage.Tx) (err error) { next, err = tx.NextDue(); return err })
	return next
}

// eventually waits until cond holds, failing the test with what it last
// saw when it does not within the deadline. Outcomes are written in
// batches, shortly after the request they record.
func (r *rig) eventually(cond func() (bool, string)) {
	r.t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("condition not met within %v: %s", wait, state)
		}
		<-tick.C
	}
}

// settled waits until nothing is in flight and the next retry is at want.
func (r *rig) settled(want time.Time) {
	r.t.Helper()
	r.eventually(func() (bool, string) {
		next := r.nextDue()
		return next.Equal(want), fmt.Sprintf("next due %v, want %v", next, want)
	})
}

// barrier proves that the engine has claimed at least once since now:
// it queues a delivery to a healthy host and waits for it to arrive.
// Whatever the engine did not send in that claim, it chose not to send.
func (r *rig) barrier(e *delivery.Engine, healthy *fedtest.Instance) {
	r.t.Helper()
	before := len(healthy.Deliveries())
	id := r.enqueue(healthy.SharedInbox())
	e.Wake()
	healthy.AwaitDelivery(r.t, wait, func(d fedtest.Delivery) bool { return d.Verified && d.Activity["id"] == id })
	if got := len(healthy.Deliveries()); got != before+1 {
		r.t.Fatalf("barrier host got %d deliveries, want %d", got, before+1)
	}
}

func TestBackoffDoublesWithinJitterUpToTheLongestWait(t *testing.T) {
	t.Parallel()
	s := delivery.DefaultSchedule
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{1, 30 * time.Second},
		{2, time.Minute},
		{3, 2 * time.Minute},
		{6, 16 * time.Minute},
		{11, 512 * time.Minute},
		{12, 12 * time.Hour},
		{40, 12 * time.Hour},
	} {
		t.Run(fmt.Sprint(tc.failures), func(t *testing.T) {
			if got := s.Backoff(tc.failures, 0.5); got != tc.want {
				t.Errorf("Backoff(%d) without jitter = %v, want %v", tc.failures, got, tc.want)
			}
			low, high := s.Backoff(tc.failures, 0), s.Backoff(tc.failures, 0.999999)
			minWait := time.Duration(float64(tc.want) * (1 - s.Jitter))
			maxWait := time.Duration(float64(tc.want) * (1 + s.Jitter))
			if low != minWait || high > maxWait || high < maxWait-time.Second {
				t.Errorf("Backoff(%d) spans [%v, %v], want [%v, %v]", tc.failures, low, high, minWait, maxWait)
			}
		})
	}
}

func TestDefaultScheduleRetriesForAboutThreeDays(t *testing.T) {
	t.Parallel()
	s := delivery.DefaultSchedule
	var elapsed time.Duration
	attempts := 1
	for elapsed+s.Backoff(attempts, 0.5) < s.GiveUpAfter {
		elapsed += s.Backoff(attempts, 0.5)
		attempts++
	}
	if s.GiveUpAfter != 72*time.Hour || attempts < 15 || attempts > 20 {
		t.Errorf("a delivery gets %d attempts over %v, want 15 to 20 over 72h", attempts, s.GiveUpAfter)
	}
}

func TestHostRestStartsAtTheThresholdAndDoubles(t *testing.T) {
	t.Parallel()
	s := delivery.DefaultSchedule
	for failures, want := range map[int]time.Duration{
		1: 0, 4: 0, 5: time.Minute, 6: 2 * time.Minute, 9: 16 * time.Minute, 30: 6 * time.Hour,
	} {
		if got := s.HostRest(failures); got != want {
			t.Errorf("HostRest(%d) = %v, want %v", failures, got, want)
		}
	}
}

func TestDeliversOneSignedRequestPerInbox(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	var instances []*fedtest.Instance
	var inboxes []string
	for i := range 5 {
		inst := r.network.NewInstance(fmt.Sprintf("s%d.test", i))
		instances = append(instances, inst)
		inboxes = append(inboxes, inst.SharedInbox())
	}
	r.start(r.config(delivery.Schedule{}))
	id := r.enqueue(inboxes...)
	for _, inst := range instances {
		got := inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Activity["id"] == id })
		if !got.Verified || got.KeyID != r.sender.KeyID {
			t.Errorf("%s: %v", inst.Host, got)
		}
	}
	r.eventually(func() (bool, string) {
		s := r.stats()
		return s.Queued == 0 && s.Failed == 0, fmt.Sprintf("%+v", s)
	})
	for _, inst := range instances {
		if n := len(inst.Deliveries()); n != 1 {
			t.Errorf("%s received %d requests, want 1", inst.Host, n)
		}
	}
}

func TestRefusalIsGivenUpWithItsReasonAndTheHostStaysHealthy(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	gone := r.network.NewInstance("gone.test")
	gone.SetFailure(fedtest.Failure{Status: http.StatusGone})
	r.start(r.config(delivery.Schedule{}))
	id := r.enqueue(gone.SharedInbox())
	r.eventually(func() (bool, string) {
		f := r.failures()
		return len(f) == 1, fmt.Sprintf("failures %+v", f)
	})
	f := r.failures()[0]
	if f.ActivityID != id || f.Attempts != 1 || !strings.Contains(f.LastError, "410") {
		t.Errorf("given up as %+v, want one attempt refused with 410", f)
	}
	if hosts := r.failingHosts(); len(hosts) != 0 {
		t.Errorf("a host that answered 410 is listed as failing: %+v", hosts)
	}
	if s := r.stats(); s.Queued != 0 || s.Failed != 1 {
		t.Errorf("queue %+v, want nothing queued and one failed", s)
	}
}

func TestServerErrorsAreRetriedOnTheBackoffSchedule(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	busy := r.network.NewInstance("busy.test")
	busy.SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable, Times: 2})
	e := r.start(r.config(delivery.Schedule{}))
	start := r.clock.Now()
	id := r.enqueue(busy.SharedInbox())

	busy.AwaitDeliveries(t, 1, wait)
	r.settled(start.Add(30 * time.Second))
	r.clock.advance(30 * time.Second)
	e.Wake()
	busy.AwaitDeliveries(t, 2, wait)
	r.settled(start.Add(30*time.Second + time.Minute))
	r.clock.advance(time.Minute)
	e.Wake()
	got := busy.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Status == http.StatusAccepted })
	if got.Activity["id"] != id || !got.Verified {
		t.Errorf("third attempt %v", got)
	}
	r.eventually(func() (bool, string) {
		s := r.stats()
		return s.Queued == 0 && s.Failed == 0, fmt.Sprintf("%+v", s)
	})
	if n := len(busy.Deliveries()); n != 3 {
		t.Errorf("host received %d requests, want 3", n)
	}
}

// The statuses are judged as Mastodon judges them: a 401 often means the
// server could not fetch the group's key just then, and 501 means it never
// takes such requests.
func TestUnauthorizedTimeoutsAndServerErrorsAreRetriedOtherRefusalsAndNotImplementedAreFinal(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	retried := map[int]*fedtest.Instance{}
	final := map[int]*fedtest.Instance{}
	var inboxes []string
	statusAt := map[string]int{}
	for _, status := range []int{401, 408, 429, 500, 502, 503, 400, 403, 404, 422, 501} {
		inst := r.network.NewInstance(fmt.Sprintf("s%d.test", status))
		inst.SetFailure(fedtest.Failure{Status: status, Times: 1})
		inboxes = append(inboxes, inst.SharedInbox())
		statusAt[inst.SharedInbox()] = status
		if status == 501 || status < 500 && status != 401 && status != 408 && status != 429 {
			final[status] = inst
		} else {
			retried[status] = inst
		}
	}
	e := r.start(r.config(delivery.Schedule{}))
	start := r.clock.Now()
	id := r.enqueue(inboxes...)
	// Every first attempt must have been recorded, not merely made: a
	// retry's failure counts against its host only once its outcome is
	// written, and only then is its next attempt set.
	r.eventually(func() (bool, string) {
		s, f, next, failing := r.stats(), r.failures(), r.nextDue(), r.failingHosts()
		return s.Queued == len(retried) && len(f) == len(final) && len(failing) == len(retried) && next.Equal(start.Add(30*time.Second)),
			fmt.Sprintf("queue %+v, next due %v, failures %+v, failing hosts %d", s, next, f, len(failing))
	})
	for _, f := range r.failures() {
		status := statusAt[f.Inbox]
		if final[status] == nil || f.LastError != fmt.Sprintf("refused with HTTP %d", status) {
			t.Errorf("%s given up as %q, want only final refusals given up, with their status", f.Inbox, f.LastError)
		}
	}

	r.clock.advance(30 * time.Second)
	e.Wake()
	for status, inst := range retried {
		got := inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Status == http.StatusAccepted })
		if got.Activity["id"] != id || !got.Verified {
			t.Errorf("retry after %d: %v", status, got)
		}
	}
	r.eventually(func() (bool, string) {
		s := r.stats()
		return s.Queued == 0 && s.Failed == len(final), fmt.Sprintf("%+v", s)
	})
	for status, inst := range final {
		if n := len(inst.Deliveries()); n != 1 {
			t.Errorf("the server that answered %d received %d requests, want 1", status, n)
		}
	}
	r.eventually(func() (bool, string) {
		h := r.failingHosts()
		return len(h) == 0, fmt.Sprintf("failing hosts %+v, want none: every server answered, then took the retries", h)
	})
}

func TestRetryAfterInSecondsIsHonoured(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	limited := r.network.NewInstance("limited.test")
	limited.SetFailure(fedtest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Minute, Times: 1})
	e := r.start(r.config(delivery.Schedule{}))
	start := r.clock.Now()
	r.enqueue(limited.SharedInbox())
	limited.AwaitDeliveries(t, 1, wait)
	r.settled(start.Add(7 * time.Minute))
	r.clock.advance(7 * time.Minute)
	e.Wake()
	limited.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Status == http.StatusAccepted })
}

func TestRetryAfterAsAnHTTPDateIsHonoured(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.start(r.config(delivery.Schedule{}))
	start := r.clock.Now()
	until := start.Add(2 * time.Hour)
	var mu sync.Mutex
	requests := 0
	r.network.Route("dated.test", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		w.Header().Set("Retry-After", until.Format(http.TimeFormat))
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	r.enqueue("http://dated.test/inbox")
	r.settled(until)
	mu.Lock()
	defer mu.Unlock()
	if requests != 1 {
		t.Errorf("dated.test received %d requests, want 1", requests)
	}
}

func TestDeliveryIsGivenUpAfterItsDeadlineWithTheReason(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	down := r.network.NewInstance("down.test")
	down.SetFailure(fedtest.Failure{Status: http.StatusBadGateway})
	schedule := delivery.DefaultSchedule
	schedule.GiveUpAfter = time.Hour
	schedule.HostThreshold = 100
	e := r.start(r.config(schedule))
	start := r.clock.Now()
	id := r.enqueue(down.SharedInbox())
	down.AwaitDeliveries(t, 1, wait)
	r.settled(start.Add(30 * time.Second))

	r.clock.advance(time.Hour)
	e.Wake()
	r.eventually(func() (bool, string) {
		f := r.failures()
		return len(f) == 1, fmt.Sprintf("failures %+v", f)
	})
	f := r.failures()[0]
	if f.ActivityID != id || f.LastError != "gave up after retrying: HTTP 502" {
		t.Errorf("given up as %+v", f)
	}
	if s := r.stats(); s.Queued != 0 {
		t.Errorf("still queued: %+v", s)
	}
}

func TestDeliveriesWaitingOnARestingHostAreGivenUpAtTheDeadline(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	down := r.network.NewInstance("down.test")
	down.SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable})
	schedule := delivery.DefaultSchedule
	schedule.HostThreshold = 1
	schedule.HostFirst = 96 * time.Hour
	schedule.HostLongest = 96 * time.Hour
	e := r.start(r.config(schedule))
	r.enqueue(down.SharedInbox())
	down.AwaitDeliveries(t, 1, wait)
	r.eventually(func() (bool, string) {
		h := r.failingHosts()
		return len(h) == 1 && !h[0].RetryAt.IsZero(), fmt.Sprintf("failing hosts %+v", h)
	})
	waiting := r.enqueue(down.SharedInbox())

	r.clock.advance(73 * time.Hour)
	e.Wake()
	r.eventually(func() (bool, string) {
		f := r.failures()
		return len(f) == 2, fmt.Sprintf("failures %+v", f)
	})
	for _, f := range r.failures() {
		if f.LastError != "gave up after retrying: HTTP 503" {
			t.Errorf("%s given up as %q, want the host's last error kept", f.ActivityID, f.LastError)
		}
		if f.ActivityID == waiting && f.Attempts != 0 {
			t.Errorf("the delivery queued while the host rested was attempted %d times", f.Attempts)
		}
	}
	if n := len(down.Deliveries()); n != 1 {
		t.Errorf("resting host received %d requests, want 1", n)
	}
}

func TestUnreachableHostRestsAndRevivesOnFirstSuccess(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	down := r.network.NewInstance("down.test")
	healthy := r.network.NewInstance("healthy.test")
	down.SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable})
	schedule := delivery.DefaultSchedule
	schedule.HostThreshold = 2
	schedule.HostFirst = 10 * time.Minute
	e := r.start(r.config(schedule))
	start := r.clock.Now()
	var ids []string
	for range 4 {
		ids = append(ids, r.enqueue(down.SharedInbox()))
	}

	// One failure rests the host for as long as the delivery that failed
	// waits to be tried again: the other three are not sent meanwhile.
	down.AwaitDeliveries(t, 1, wait)
	r.eventually(func() (bool, string) {
		h := r.failingHosts()
		return len(h) == 1 && h[0].Failures == 1, fmt.Sprintf("failing hosts %+v", h)
	})
	if host := r.failingHosts()[0]; !host.RetryAt.Equal(start.Add(30*time.Second)) || !host.UnreachableSince.IsZero() {
		t.Errorf("host after one failure %+v, want a 30s rest and not yet unreachable", host)
	}
	r.barrier(e, healthy)
	if n := len(down.Deliveries()); n != 1 {
		t.Fatalf("host resting after one failure received %d requests, want 1", n)
	}

	// Its rest ends, one probe goes and fails too: now it is unreachable.
	r.clock.advance(30 * time.Second)
	e.Wake()
	down.AwaitDeliveries(t, 2, wait)
	r.eventually(func() (bool, string) {
		h := r.failingHosts()
		return len(h) == 1 && h[0].Failures == 2 && !h[0].UnreachableSince.IsZero(), fmt.Sprintf("failing hosts %+v", h)
	})
	host := r.failingHosts()[0]
	if !host.RetryAt.Equal(start.Add(30*time.Second+10*time.Minute)) || host.Queued != 4 || host.LastError != "HTTP 503" {
		t.Errorf("unreachable host %+v, want a 10m rest, 4 queued and the last error", host)
	}
	if s := r.stats(); s.Waiting != 4 {
		t.Errorf("queue %+v, want 4 waiting on the unreachable host", s)
	}

	// Its jobs wait: past their own retry times but inside the rest,
	// nothing reaches the host.
	r.clock.advance(5 * time.Minute)
	r.barrier(e, healthy)
	if n := len(down.Deliveries()); n != 2 {
		t.Fatalf("resting host received %d requests, want 2", n)
	}

	// The rest ends; one probe goes, succeeds, and the rest follow.
	down.SetFailure(fedtest.Failure{})
	r.clock.advance(5 * time.Minute)
	e.Wake()
	for _, id := range ids {
		down.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Status == http.StatusAccepted && d.Activity["id"] == id })
	}
	r.eventually(func() (bool, string) {
		h, s := r.failingHosts(), r.stats()
		return len(h) == 0 && s.Queued == 0, fmt.Sprintf("failing hosts %+v, queue %+v", h, s)
	})
	if n := len(down.Deliveries()); n != 6 {
		t.Errorf("host received %d requests in all, want 2 failures and 4 deliveries", n)
	}
}

func TestStopReturnsWithinItsBoundAndLeavesHangingJobsQueued(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	stuck := r.network.NewInstance("stuck.test")
	stuck.SetFailure(fedtest.Failure{Hang: true})
	e := delivery.New(r.store, r.config(delivery.Schedule{}))
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := r.enqueue(stuck.SharedInbox())
	e.Wake()
	stuck.AwaitDeliveries(t, 1, wait)

	const bound = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	began := time.Now()
	err := e.Stop(ctx)
	if took := time.Since(began); took > bound+time.Second {
		t.Errorf("Stop took %v with a bound of %v", took, bound)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want the deadline reported", err)
	}
	if s := r.stats(); s.Queued != 1 || s.Failed != 0 || s.Due != 1 {
		t.Errorf("after Stop the queue is %+v, want the job queued and due", s)
	}
	if h := r.failingHosts(); len(h) != 0 {
		t.Errorf("the interrupted attempt counted against the host: %+v", h)
	}

	// The next start sends it.
	stuck.SetFailure(fedtest.Failure{})
	r.start(r.config(delivery.Schedule{}))
	stuck.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Status == http.StatusAccepted && d.Activity["id"] == id })
}

func TestAbandonedClaimsAreDeliveredAfterARestart(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	var instances []*fedtest.Instance
	var inboxes []string
	for i := range 12 {
		inst := r.network.NewInstance(fmt.Sprintf("s%d.test", i))
		instances = append(instances, inst)
		inboxes = append(inboxes, inst.SharedInbox(), inst.URL("/users/u"+fmt.Sprint(i))+"/inbox")
		inst.NewActor("u" + fmt.Sprint(i))
	}
	ids := []string{r.enqueue(inboxes...), r.enqueue(inboxes...)}

	// A process claims part of the fan-out and dies before recording
	// anything: its leases are still held when the next one starts.
	err := r.store.Update(context.Background(), func(tx *storage.Tx) error {
		jobs, err := tx.ClaimDeliveries(20, 20, 4, tx.Now().Add(5*time.Minute))
		if len(jobs) == 0 && err == nil {
			err = errors.New("nothing claimed")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.store.Close()
	r.open()
	if r.store.Postgres() {
		// Other processes may serve a PostgreSQL database, so a lease is
		// not released when one starts: it is taken again once it runs out.
		r.clock.advance(5*time.Minute + time.Second)
	}

	r.start(r.config(delivery.Schedule{}))
	for i, inst := range instances {
		for _, id := range ids {
			for _, inbox := range inboxes[2*i : 2*i+2] {
				inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
					return d.Status == http.StatusAccepted && d.Inbox == inbox && d.Activity["id"] == id
				})
			}
		}
	}
	r.eventually(func() (bool, string) {
		s := r.stats()
		return s.Queued == 0 && s.Failed == 0, fmt.Sprintf("%+v", s)
	})
	for _, inst := range instances {
		if n := len(inst.Deliveries()); n != 4 {
			t.Errorf("%s received %d requests, want 4: nothing was in flight, so nothing twice", inst.Host, n)
		}
	}
}

// logger logs at level and above into a buffer the test can read.
func logger(level slog.Level) (*slog.Logger, *fedtest.LogBuffer) {
	b := &fedtest.LogBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level})), b
}

// A personal inbox names its account, and an anonymous author's must not
// end up in logs kept at the usual level.
func TestInfoLogsNameTheHostOfAFailedDeliveryButNotItsInbox(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	busy := r.network.NewInstance("busy.test")
	busy.SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable})
	strict := r.network.NewInstance("strict.test")
	strict.SetFailure(fedtest.Failure{Status: http.StatusForbidden})
	authors := []*fedtest.Actor{busy.NewActor("author"), strict.NewActor("author")}
	cfg := r.config(delivery.Schedule{})
	var logs *fedtest.LogBuffer
	cfg.Logger, logs = logger(slog.LevelInfo)
	r.start(cfg)
	start := r.clock.Now()
	r.enqueue(authors[0].Inbox, authors[1].Inbox)
	r.eventually(func() (bool, string) {
		f, next := r.failures(), r.nextDue()
		return len(f) == 1 && next.Equal(start.Add(30*time.Second)), fmt.Sprintf("failures %+v, next due %v", f, next)
	})
	got := logs.String()
	for _, host := range []string{"busy.test", "strict.test"} {
		if !strings.Contains(got, "host="+host) {
			t.Errorf("the logs do not name %s:\n%s", host, got)
		}
	}
	if strings.Contains(got, "/users/author") {
		t.Errorf("the logs name the author:\n%s", got)
	}
}

// inboxServer answers deliveries with status by path (202 for the rest) and
// counts them.
type inboxServer struct {
	status map[string]int
	mu     sync.Mutex
	posts  map[string]int
}

func (s *inboxServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	s.posts[req.URL.Path]++
	s.mu.Unlock()
	if status, ok := s.status[req.URL.Path]; ok {
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *inboxServer) received(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts[path]
}

func TestAGoneMemberInboxEndsItsMembershipsButAGoneSharedInboxEndsNone(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	social := &inboxServer{status: map[string]int{"/users/gone/inbox": http.StatusGone}, posts: map[string]int{}}
	r.network.Route("social.test", social)
	big := &inboxServer{status: map[string]int{"/inbox": http.StatusGone}, posts: map[string]int{}}
	r.network.Route("big.test", big)
	gone := storage.Actor{ID: "http://social.test/users/gone", Host: "social.test",
		Inbox: "http://social.test/users/gone/inbox", SharedInbox: "http://social.test/inbox"}
	neighbour := storage.Actor{ID: "http://social.test/users/stays", Host: "social.test",
		Inbox: "http://social.test/users/stays/inbox", SharedInbox: "http://social.test/inbox"}
	elsewhere := storage.Actor{ID: "http://big.test/users/stays", Host: "big.test",
		Inbox: "http://big.test/users/stays/inbox", SharedInbox: "http://big.test/inbox"}
	var groups []int64
	err := r.store.Update(context.Background(), func(tx *storage.Tx) error {
		for _, name := range []string{"knitting", "rowing", "chess"} {
			g := &storage.Group{Name: name, Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
			if err := tx.CreateGroup(g); err != nil {
				return err
			}
			groups = append(groups, g.ID)
		}
		for _, a := range []storage.Actor{gone, neighbour, elsewhere} {
			if err := tx.PutActor(a); err != nil {
				return err
			}
		}
		for _, m := range []struct {
			group int64
			actor string
			state storage.MemberState
		}{
			{groups[0], gone.ID, storage.Member},
			{groups[1], gone.ID, storage.Pending},
			{groups[2], gone.ID, storage.Banned},
			{groups[0], neighbour.ID, storage.Member},
			{groups[0], elsewhere.ID, storage.Member},
		} {
			if err := tx.SetMembership(m.group, m.actor, m.state, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.config(delivery.Schedule{})
	var logs *fedtest.LogBuffer
	cfg.Logger, logs = logger(slog.LevelInfo)
	r.start(cfg)

	// A server not proven yet gets one request at a time, so the first
	// 410 is recorded before the next delivery to that inbox could go.
	r.enqueue(gone.Inbox, elsewhere.SharedInbox)
	r.enqueue(gone.Inbox)
	r.enqueue(gone.Inbox)
	r.eventually(func() (bool, string) {
		s := r.stats()
		return s.Queued == 0 && strings.Contains(logs.String(), "memberships=2"), fmt.Sprintf("queue %+v, logs:\n%s", s, logs)
	})
	if n := social.received("/users/gone/inbox"); n != 1 {
		t.Errorf("the gone inbox received %d requests, want 1: what was queued for it is dropped", n)
	}
	if f := r.failures(); len(f) != 2 {
		t.Errorf("given up %+v, want the two refusals", f)
	}
	r.view(func(tx *storage.Tx) error {
		for _, want := range []struct {
			group int64
			actor string
			state storage.MemberState // "" when it has none
		}{
			{groups[0], gone.ID, ""},
			{groups[1], gone.ID, ""},
			{groups[2], gone.ID, storage.Banned},
			{groups[0], neighbour.ID, storage.Member},
			{groups[0], elsewhere.ID, storage.Member},
		} {
			m, err := tx.Membership(want.group, want.actor)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if m.State != want.state {
				t.Errorf("%s in group %d is %q, want %q", want.actor, want.group, m.State, want.state)
			}
		}
		return nil
	})
	if got := logs.String(); !strings.Contains(got, "host=social.test") || strings.Contains(got, "/users/") {
		t.Errorf("the logs should name the host and not the account:\n%s", got)
	}
}

func TestAKeyThatCannotBeLoadedIsRetriedWithoutBlamingTheHost(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	healthy := r.network.NewInstance("healthy.test")
	schedule := delivery.DefaultSchedule
	schedule.HostThreshold = 1
	cfg := r.config(schedule)
	var broken atomic.Bool
	broken.Store(true)
	sign := cfg.Signer
	cfg.Signer = func(ctx context.Context, groupID int64) (*signature.Signer, error) {
		if broken.Load() {
			return nil, errors.New("database is locked")
		}
		return sign(ctx, groupID)
	}
	var logs *fedtest.LogBuffer
	cfg.Logger, logs = logger(slog.LevelInfo)
	e := r.start(cfg)
	start := r.clock.Now()
	id := r.enqueue(healthy.SharedInbox())
	r.settled(start.Add(30 * time.Second))
	if h := r.failingHosts(); len(h) != 0 {
		t.Errorf("failing hosts %+v, want none: nothing reached the host", h)
	}
	if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "database is locked") {
		t.Errorf("the signing failure is not logged as an error:\n%s", got)
	}

	broken.Store(false)
	r.clock.advance(30 * time.Second)
	e.Wake()
	got := healthy.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Activity["id"] == id })
	if !got.Verified || len(healthy.Deliveries()) != 1 {
		t.Errorf("after the key came back the host received %v", healthy.Deliveries())
	}
}

// Loading a key reads the database; one group's slow read must not hold up
// another group's deliveries.
func TestGroupsLoadTheirKeysWithoutWaitingForEachOther(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	first, second := r.network.NewInstance("first.test"), r.network.NewInstance("second.test")
	var groups []int64
	err := r.store.Update(context.Background(), func(tx *storage.Tx) error {
		for _, name := range []string{"knitting", "rowing"} {
			g := &storage.Group{Name: name, Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
			if err := tx.CreateGroup(g); err != nil {
				return err
			}
			groups = append(groups, g.ID)
		}
		for i, inbox := range []string{first.SharedInbox(), second.SharedInbox()} {
			id := fmt.Sprintf("http://hearth.test/activities/g%d", i)
			body := fmt.Sprintf(`{"id":%q,"type":"Announce","actor":%q,"object":"http://hearth.test/notes/1"}`, id, r.sender.ID)
			err := tx.Enqueue(storage.Activity{ID: id, GroupID: groups[i], Type: "Announce", Body: []byte(body)}, []string{inbox})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.config(delivery.Schedule{})
	sign := cfg.Signer
	secondLoading := make(chan struct{})
	cfg.Signer = func(ctx context.Context, groupID int64) (*signature.Signer, error) {
		if groupID == groups[1] {
			close(secondLoading)
			return sign(ctx, groupID)
		}
		select {
		case <-secondLoading:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return sign(ctx, groupID)
	}
	r.start(cfg)
	for _, inst := range []*fedtest.Instance{first, second} {
		inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Verified })
	}
}

// TestAnInboxTheGuardRefusesIsGivenUpAtOnce sends through the production
// client, which refuses loopback addresses: an inbox on one can never be
// delivered to, so it is given up at the first attempt without blaming its
// host or naming the inbox in the logs.
func TestAnInboxTheGuardRefusesIsGivenUpAtOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	log, logs := logger(slog.LevelInfo)
	cfg := r.config(delivery.Schedule{})
	cfg.Client = transport.NewClient(transport.Options{})
	cfg.Logger = log
	r.start(cfg)
	r.enqueue("https://127.0.0.1:9/users/someone/inbox")
	r.eventually(func() (bool, string) {
		f := r.failures()
		return len(f) == 1, fmt.Sprintf("failures %+v", f)
	})
	if f := r.failures()[0]; f.Attempts != 1 || !strings.Contains(f.LastError, "refused") {
		t.Errorf("given up as %+v, want one attempt refused by the guard", f)
	}
	if hosts := r.failingHosts(); len(hosts) != 0 {
		t.Errorf("the refused host is listed as failing: %+v", hosts)
	}
	if strings.Contains(logs.String(), "/users/someone") {
		t.Errorf("the logs name the inbox: %s", logs)
	}
}

// byForm is the audience of the fan-out tests: "boost" goes to every
// server but Lemmy's, first; "wrapped" to Lemmy's first and to servers of
// unknown software second, after their boost; Mastodon's gets no wrapped
// form.
func byForm(form string, t storage.Target) storage.Turn {
	switch {
	case form == "boost" && t.Software == "lemmy", form == "wrapped" && t.Software == "mastodon":
		return storage.Skip
	case form == "wrapped" && t.Software == "":
		return storage.Second
	}
	return storage.First
}

// members makes a group with two members on each instance, which runs the
// software it is mapped to ("" for unknown), and returns the group's id.
func (r *rig) members(software map[*fedtest.Instance]string) int64 {
	r.t.Helper()
	g := &storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
	err := r.store.Update(context.Background(), func(tx *storage.Tx) error {
		if err := tx.CreateGroup(g); err != nil {
			return err
		}
		for inst, name := range software {
			if err := tx.SetHostSoftware(inst.Host, name); err != nil {
				return err
			}
			for _, username := range []string{"ann", "ben"} {
				a := inst.NewActor(username)
				err := tx.PutActor(storage.Actor{ID: a.ID, Host: inst.Host, Username: a.Username, Inbox: a.Inbox, SharedInbox: a.SharedInbox})
				if err != nil {
					return err
				}
				if err := tx.SetMembership(g.ID, a.ID, storage.Member, ""); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return g.ID
}

// relay queues the two forms of a relayed post for the group's members, as
// fan-outs: the FEP-1b12 Announce, which embeds the Create, and the boost,
// which names the note. It returns their ids.
func (r *rig) relay(groupID int64) (wrapped, boost string) {
	r.t.Helper()
	wrapped, boost = "http://hearth.test/activities/wrapped", "http://hearth.test/activities/boost"
	announce := func(id, object string) []byte {
		return fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Announce","actor":%q,"object":%s}`,
			id, r.sender.ID, object)
	}
	err := r.store.Update(context.Background(), func(tx *storage.Tx) error {
		err := tx.QueueFanOut(storage.Activity{ID: wrapped, GroupID: groupID, Type: "Announce",
			Body: announce(wrapped, `{"id":"http://member.test/create/1","type":"Create","actor":"http://member.test/users/m","object":"http://member.test/notes/1"}`)}, "wrapped")
		if err != nil {
			return err
		}
		return tx.QueueFanOut(storage.Activity{ID: boost, GroupID: groupID, Type: "Announce",
			Body: announce(boost, `"http://member.test/notes/1"`)}, "boost")
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return wrapped, boost
}

func TestFanOutSendsEveryServerEachOfItsFormsOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	software := map[*fedtest.Instance]string{}
	want := map[*fedtest.Instance][]string{}
	for i, name := range []string{"mastodon", "lemmy", "", "mastodon", "lemmy", ""} {
		inst := r.network.NewInstance(fmt.Sprintf("s%d.test", i))
		software[inst] = name
		want[inst] = map[string][]string{"mastodon": {"boost"}, "lemmy": {"wrapped"}, "": {"boost", "wrapped"}}[name]
	}
	cfg := r.config(delivery.Schedule{})
	cfg.Audience, cfg.FanOutBatch = byForm, 2
	wrapped, boost := r.relay(r.members(software))
	r.start(cfg)
	r.eventually(func() (bool, string) {
		s := r.stats()
		return s.FanOuts == 0 && s.Queued == 0, fmt.Sprintf("%+v", s)
	})
	for inst, forms := range want {
		var got []string
		for _, d := range inst.Deliveries() {
			if !d.Verified {
				t.Errorf("%s: %v", inst.Host, d)
			}
			switch d.Activity["id"] {
			case wrapped:
				got = append(got, "wrapped")
			case boost:
				got = append(got, "boost")
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, forms) {
			t.Errorf("%s (%q) received %q, want %q", inst.Host, software[inst], got, forms)
		}
	}
}

func TestEveryBoostIsClaimedBeforeAnyServerGetsItsSecondForm(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	software := map[*fedtest.Instance]string{}
	softwareOf := map[string]string{}
	for i, name := range []string{"", "lemmy", "", "mastodon", "", "", "lemmy", ""} {
		inst := r.network.NewInstance(fmt.Sprintf("s%d.test", i))
		software[inst], softwareOf[inst.Host] = name, name
	}
	cfg := r.config(delivery.Schedule{})
	// One worker sends one request at a time, in the order claimed; small
	// batches have the engine claim between them. Every server has
	// answered before, so that none waits in the budget of servers not
	// known to answer, and no request is slow enough to leave the worker.
	cfg.Audience, cfg.FanOutBatch, cfg.Workers, cfg.SlowAfter = byForm, 2, 1, time.Hour
	e := r.start(cfg)
	var inboxes []string
	for inst := range software {
		inboxes = append(inboxes, inst.SharedInbox())
	}
	r.enqueue(inboxes...)
	e.Wake()
	r.eventually(func() (bool, string) { s := r.stats(); return s.Queued == 0, fmt.Sprintf("%+v", s) })
	wrapped, boost := r.relay(r.members(software))
	e.Wake()
	r.eventually(func() (bool, string) {
		s := r.stats()
		return s.FanOuts == 0 && s.Queued == 0, fmt.Sprintf("%+v", s)
	})
	var all []fedtest.Delivery
	for inst := range software {
		all = append(all, inst.Deliveries()[1:]...)
	}
	slices.SortFunc(all, func(a, b fedtest.Delivery) int { return a.At.Compare(b.At) })
	lastBoost, firstSecond := -1, len(all)
	for i, d := range all {
		switch {
		case d.Activity["id"] == boost:
			lastBoost = i
		case d.Activity["id"] == wrapped && softwareOf[d.Host] == "":
			firstSecond = min(firstSecond, i)
		}
	}
	// Five servers of unknown software get both forms, three get one.
	if len(all) != 13 || lastBoost > firstSecond {
		var order []string
		for _, d := range all {
			order = append(order, fmt.Sprintf("%s %s", d.Host, d.Activity["id"]))
		}
		t.Errorf("deliveries in the order sent:\n%s\nwant 13, every boost before any wrapped form to a server of unknown software",
			strings.Join(order, "\n"))
	}
}

// proven has every instance answer one delivery, so that the queue knows
// each as a server that answers well.
func (r *rig) proven(e *delivery.Engine, instances ...*fedtest.Instance) {
	r.t.Helper()
	var inboxes []string
	for _, inst := range instances {
		inboxes = append(inboxes, inst.SharedInbox())
	}
	r.enqueue(inboxes...)
	e.Wake()
	r.eventually(func() (bool, string) { s := r.stats(); return s.Queued == 0, fmt.Sprintf("queue %+v", s) })
}

// hangingServers is an engine with two workers for the servers that answer
// well and room for six hanging requests apart from them, a healthy
// server, and six that hang: three that answered well before (known) and
// three never tried (unknown).
type hangingServers struct {
	*rig
	engine         *delivery.Engine
	healthy        *fedtest.Instance
	known, unknown []*fedtest.Instance
	inboxes        []string // of the servers that hang
}

func newHangingServers(t *testing.T) *hangingServers {
	h := &hangingServers{rig: newRig(t)}
	h.healthy = h.network.NewInstance("healthy.test")
	for i := range 3 {
		h.known = append(h.known, h.network.NewInstance(fmt.Sprintf("known%d.test", i)))
		h.unknown = append(h.unknown, h.network.NewInstance(fmt.Sprintf("unknown%d.test", i)))
	}
	cfg := h.config(delivery.Schedule{})
	cfg.Workers, cfg.CautiousWorkers, cfg.SlowAfter = 2, 6, 10*time.Millisecond
	h.engine = h.start(cfg)
	h.proven(h.engine, append([]*fedtest.Instance{h.healthy}, h.known...)...)
	for _, inst := range append(h.known, h.unknown...) {
		inst.SetFailure(fedtest.Failure{Hang: true})
		h.inboxes = append(h.inboxes, inst.SharedInbox())
	}
	return h
}

// assertOneRequestEachToUnknown waits for a request to reach every server
// that hangs, then checks that each server never tried got a single one:
// one at a time, and it hangs.
func (h *hangingServers) assertOneRequestEachToUnknown() {
	h.t.Helper()
	for _, inst := range append(h.known, h.unknown...) {
		inst.AwaitDeliveries(h.t, 1, wait)
	}
	for _, inst := range h.unknown {
		if n := len(inst.Deliveries()); n != 1 {
			h.t.Errorf("%s, never tried, hanging, got %d requests, want one at a time", inst.Host, n)
		}
	}
}

func TestHealthyServersKeepGettingDeliveriesWhileManyServersHang(t *testing.T) {
	t.Parallel()
	h := newHangingServers(t)
	// Each server that hangs is sent two activities before the healthy
	// server's.
	h.enqueue(h.inboxes...)
	h.enqueue(h.inboxes...)
	var ids []string
	for range 8 {
		ids = append(ids, h.enqueue(h.healthy.SharedInbox()))
	}
	h.engine.Wake()
	for _, id := range ids {
		h.healthy.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
			return d.Verified && d.Status == http.StatusAccepted && d.Activity["id"] == id
		})
	}
	h.eventually(func() (bool, string) {
		s := h.stats()
		return s.Queued == 2*len(h.inboxes) && s.Failed == 0,
			fmt.Sprintf("queue %+v, want the %d deliveries to hanging servers still queued", s, 2*len(h.inboxes))
	})
	h.assertOneRequestEachToUnknown()
}

// TestBacklogsOfHangingServersDoNotHoldUpTheQueue: servers that hang have
// far more queued than a claim reads of the queue's head, all of it due
// before the healthy server's one delivery, which still goes out while
// they hang.
func TestBacklogsOfHangingServersDoNotHoldUpTheQueue(t *testing.T) {
	t.Parallel()
	h := newHangingServers(t)
	// Each claim reads a head of a few dozen deliveries here.
	for range 20 {
		h.enqueue(h.inboxes...)
	}
	id := h.enqueue(h.healthy.SharedInbox())
	h.engine.Wake()
	h.healthy.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Status == http.StatusAccepted && d.Activity["id"] == id
	})
	h.assertOneRequestEachToUnknown()
}

// TestWorkersLeftFreeBySlowRequestsKeepWorking: two servers that answered
// well start hanging, each holding one of the two healthy workers; the
// cautious budget has room for one of them only, so the other stays where
// it is. The worker left free still serves the healthy server.
func TestWorkersLeftFreeBySlowRequestsKeepWorking(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	healthy, first, second := r.network.NewInstance("healthy.test"), r.network.NewInstance("first.test"), r.network.NewInstance("second.test")
	cfg := r.config(delivery.Schedule{})
	cfg.Workers, cfg.CautiousWorkers, cfg.SlowAfter = 2, 1, 10*time.Millisecond
	e := r.start(cfg)
	r.proven(e, healthy, first, second)
	for _, inst := range []*fedtest.Instance{first, second} {
		inst.SetFailure(fedtest.Failure{Hang: true})
	}
	r.enqueue(first.SharedInbox(), second.SharedInbox())
	e.Wake()
	first.AwaitDeliveries(t, 2, wait)
	second.AwaitDeliveries(t, 2, wait)
	id := r.enqueue(healthy.SharedInbox())
	e.Wake()
	healthy.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Status == http.StatusAccepted && d.Activity["id"] == id })
}

func TestServersNotKnownToAnswerShareTheCautiousBudget(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	healthy := r.network.NewInstance("healthy.test")
	var hanging []*fedtest.Instance
	var inboxes []string
	for i := range 5 {
		inst := r.network.NewInstance(fmt.Sprintf("new%d.test", i))
		inst.SetFailure(fedtest.Failure{Hang: true})
		hanging = append(hanging, inst)
		inboxes = append(inboxes, inst.SharedInbox())
	}
	cfg := r.config(delivery.Schedule{})
	cfg.Workers, cfg.CautiousWorkers, cfg.SlowAfter = 1, 2, time.Hour
	e := r.start(cfg)
	r.proven(e, healthy)

	r.enqueue(inboxes...)
	e.Wake()
	received := func() int {
		n := 0
		for _, inst := range hanging {
			n += len(inst.Deliveries())
		}
		return n
	}
	r.eventually(func() (bool, string) {
		return received() == 2, fmt.Sprintf("%d requests reached the hanging servers, want the 2 the cautious budget holds", received())
	})
	// The healthy server's worker is free, and whatever else the engine
	// claims meanwhile, the hanging servers get nothing more.
	r.barrier(e, healthy)
	if n := received(); n != 2 {
		t.Errorf("%d requests reached the hanging servers, want 2 at most at once", n)
	}
}
