package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/delivery"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// The processes of TestTwoProcessesShareOneFanOut are this test binary
// started again with serveProcessEnv set: each runs Main as "hearth serve"
// does, configured from HEARTH_* variables, on one PostgreSQL database.
const (
	serveProcessEnv = "HEARTH_TEST_SERVE_PROCESS"
	// processHeader names, on every request a process sends, which
	// process sent it.
	processHeader = "X-Test-Process"
	servingPrefix = "hearth serving on "
)

// serveProcess is what a child process is told beyond its configuration.
type serveProcess struct {
	Name    string `json:"name"`
	Network string `json:"network"` // the fake fediverse's address
}

// TestServeProcess is one Hearth process of the multi-process tests; run
// as a plain test it skips. It serves until its standard input closes, or
// until it is killed.
func TestServeProcess(t *testing.T) {
	raw := os.Getenv(serveProcessEnv)
	if raw == "" {
		t.Skip("only runs as a process of TestTwoProcessesShareOneFanOut")
	}
	var p serveProcess
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("%s: %v", serveProcessEnv, err)
	}
	cfg, err := LoadConfig("", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg, cfg.NewLogger(os.Stderr))
	m.Listener = ln
	m.Transport = namedTransport{name: p.Name, base: &http.Transport{DialContext: dialer(p.Network), MaxIdleConnsPerHost: 8}}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println(servingPrefix + ln.Addr().String())
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// namedTransport marks each request with the name of the process sending
// it.
type namedTransport struct {
	name string
	base http.RoundTripper
}

func (n namedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(processHeader, n.name)
	return n.base.RoundTrip(r)
}

func startServeProcess(tb testing.TB, name string, network *fedtest.Network, env []string) *child {
	tb.Helper()
	raw, err := json.Marshal(serveProcess{Name: name, Network: network.Addr()})
	if err != nil {
		tb.Fatal(err)
	}
	return startChild(tb, "TestServeProcess", append(env, serveProcessEnv+"="+string(raw)), servingPrefix)
}

// balancer spreads requests over the processes still in it, in turn, as a
// load balancer in front of them would; like one, it tries a GET that
// failed for want of its process on the next.
type balancer struct {
	mu    sync.Mutex
	addrs []string
	next  int
}

func (b *balancer) add(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addrs = append(b.addrs, addr)
}

func (b *balancer) only(i int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addrs = b.addrs[i : i+1]
}

func (b *balancer) pick() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	return b.addrs[b.next%len(b.addrs)]
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.serve(w, r, 2)
}

func (b *balancer) serve(w http.ResponseWriter, r *http.Request, tries int) {
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: b.pick()})
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Method == http.MethodGet && tries > 1 && r.Context().Err() == nil {
			b.serve(w, r, tries-1)
			return
		}
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	proxy.ServeHTTP(w, r)
}

// sharedGroup is a group whose members are on servers of a fake fediverse,
// one each and each known to run Mastodon, in a database that Hearth
// processes started by start serve behind one address.
type sharedGroup struct {
	location  string
	network   *fedtest.Network
	lb        *balancer
	instances []*fedtest.Instance
	author    *fedtest.Actor
}

func newSharedGroup(tb testing.TB, location string, servers int) *sharedGroup {
	tb.Helper()
	ctx := context.Background()
	g := &sharedGroup{location: location, network: fedtest.NewNetwork(tb), lb: &balancer{}}
	g.network.Route(hearthHost, g.lb)
	store, err := storage.Open(ctx, location)
	if err != nil {
		tb.Fatal(err)
	}
	defer store.Close()
	group := storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
	group.PrivateKeyPEM, group.PublicKeyPEM = testGroupKeys(tb)
	g.instances = make([]*fedtest.Instance, servers)
	for i := range g.instances {
		g.instances[i] = g.network.NewInstance(fmt.Sprintf("s%04d.test", i))
	}
	g.author = g.instances[0].NewActor("author")
	err = store.Update(ctx, func(tx *storage.Tx) error {
		if err := tx.CreateGroup(&group); err != nil {
			return err
		}
		if err := tx.SetMembership(group.ID, g.author.ID, storage.Member, ""); err != nil {
			return err
		}
		for i, inst := range g.instances {
			id := inst.URL(fmt.Sprintf("/users/m%d", i))
			err := tx.PutActor(storage.Actor{ID: id, Type: "Person", Host: inst.Host, Inbox: id + "/inbox", SharedInbox: inst.SharedInbox()})
			if err == nil {
				err = tx.SetMembership(group.ID, id, storage.Member, "")
			}
			if err == nil {
				err = tx.SetHostSoftware(inst.Host, "mastodon")
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// start starts a Hearth process called name on the group's database,
// with workers delivery workers and the given lease, behind the balancer.
func (g *sharedGroup) start(tb testing.TB, name string, workers int, lease time.Duration) *child {
	tb.Helper()
	loc := storage.ParseLocation(g.location)
	env := []string{
		"HEARTH_SERVER_BASE_URL=http://" + hearthHost, "HEARTH_FEDERATION_INSECURE_DEV=true",
		"HEARTH_METRICS_LISTEN=127.0.0.1:0", "HEARTH_LOG_LEVEL=warn",
		fmt.Sprintf("HEARTH_DELIVERY_WORKERS=%d", workers), "HEARTH_DELIVERY_LEASE=" + lease.String(),
	}
	if loc.Postgres {
		env = append(env, "HEARTH_STORAGE_DRIVER=postgres", "HEARTH_STORAGE_DSN="+loc.Name)
	} else {
		env = append(env, "HEARTH_STORAGE_DRIVER=sqlite", "HEARTH_STORAGE_PATH="+loc.Name)
	}
	c := startServeProcess(tb, name, g.network, env)
	g.lb.add(c.addr)
	return c
}

// post has the author post to the group, sending it copies times at once
// (the balancer hands each to the next process), and returns the note's id.
func (g *sharedGroup) post(tb testing.TB, copies int) string {
	tb.Helper()
	groupIRI := "http://" + hearthHost + "/g/grief"
	create := g.author.Create(publicNote(g.author, groupIRI, "Nobody tells you about the quiet."))
	var posts sync.WaitGroup
	for range copies {
		posts.Go(func() {
			resp, err := g.author.Post(context.Background(), "http://"+hearthHost+"/inbox", create)
			if err != nil {
				tb.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				tb.Errorf("posting: status %d, want 202", resp.StatusCode)
			}
		})
	}
	posts.Wait()
	return objectField(create, "id").(string)
}

// reached returns a channel for each count in counts, closed once that
// many servers have received something.
func (g *sharedGroup) reached(ctx context.Context, counts ...int) []chan struct{} {
	chans := make([]chan struct{}, len(counts))
	for i := range chans {
		chans[i] = make(chan struct{})
	}
	var received atomic.Int64
	for _, inst := range g.instances {
		go func() {
			if _, err := inst.WaitDeliveries(ctx, 1); err != nil {
				return
			}
			n := int(received.Add(1))
			for i, count := range counts {
				if n == count {
					close(chans[i])
				}
			}
		}()
	}
	return chans
}

// TestTwoProcessesShareOneFanOut runs two Hearth processes on one
// PostgreSQL database behind one address, and has a member post to a
// group whose members are on 2,000 servers, sending the post to both
// processes at once. Both deliver, and one is killed mid-way: every server
// gets the post, and gets it once, except for what the killed process had
// sent without writing so yet (requests in flight, outcomes waiting for
// their batch), which the other sends again once their lease runs out.
func TestTwoProcessesShareOneFanOut(t *testing.T) {
	if storagetest.Postgres() == "" {
		t.Skip("set " + storagetest.PostgresVariable + " to run Hearth processes on one PostgreSQL database")
	}
	t.Parallel()
	const servers, workers = 2000, 8
	g := newSharedGroup(t, storagetest.Location(t), servers)
	g.start(t, "a", workers, 2*time.Second)
	b := g.start(t, "b", workers, 2*time.Second)
	waitCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reached := g.reached(waitCtx, servers/4, servers)
	noteID := g.post(t, 2)
	select {
	case <-reached[0]:
	case <-waitCtx.Done():
		t.Fatalf("fewer than %d of %d servers got the post", servers/4, servers)
	}
	g.lb.only(0)
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached[1]:
	case <-waitCtx.Done():
		t.Fatalf("not every server got the post after one process was killed")
	}

	sentBy := map[string]int{}
	resent := 0
	for _, inst := range g.instances {
		deliveries := inst.Deliveries()
		verified := 0
		for _, d := range deliveries {
			if d.Type() != "Announce" || d.Activity["object"] != noteID {
				t.Errorf("%s got %s %s", inst.Host, d.Type(), d.Raw)
			}
			sentBy[d.Header.Get(processHeader)]++
			if d.Verified {
				verified++
			} else if d.Header.Get(processHeader) != "b" {
				// A request cut off by the kill fails, while the receiving
				// server fetches the key, for want of its sender.
				t.Errorf("%s: unverified delivery from a process still running: %s", inst.Host, d.Err)
			}
		}
		if verified == 0 {
			t.Errorf("%s never got the post signed whole", inst.Host)
		}
		// A delivery is sent again only when the killed process sent it
		// without recording so: in flight, or its outcome not yet written.
		if len(deliveries) > 1 {
			resent++
			if len(deliveries) > 2 || deliveries[0].Header.Get(processHeader) != "b" || deliveries[1].Header.Get(processHeader) != "a" {
				t.Errorf("%s got the post %d times, from %s then %s; want a second only after the killed process",
					inst.Host, len(deliveries), deliveries[0].Header.Get(processHeader), deliveries[1].Header.Get(processHeader))
			}
		}
	}
	if sentBy["a"] == 0 || sentBy["b"] == 0 {
		t.Errorf("deliveries by process: %v; want both to share the fan-out", sentBy)
	}
	t.Logf("deliveries by process %v; sent again after the kill: %d", sentBy, resent)
}

// testGroupKeys is a key pair for a group made outside Hearth.
func testGroupKeys(t testing.TB) (private, public string) {
	t.Helper()
	key, err := fedtest.Key()
	if err != nil {
		t.Fatal(err)
	}
	private, public, err = activitypub.EncodeKeyPair(key)
	if err != nil {
		t.Fatal(err)
	}
	return private, public
}

// BenchmarkFanOutAcrossProcesses has a member post to a group with a member
// on each of -fanout.servers servers, served by one Hearth process on
// SQLite, then one and two processes on PostgreSQL (when
// HEARTH_TEST_POSTGRES names a server), and reports the time from the post
// to the last server's delivery, next to the signing floor: the time the
// machine's cores take to sign that many deliveries. The fake servers run
// in the benchmark's own process; each process has -fanout.workers
// delivery workers (Hearth's default when 0).
func BenchmarkFanOutAcrossProcesses(b *testing.B) {
	key, err := fedtest.Key()
	if err != nil {
		b.Fatal(err)
	}
	signRate := signingRate(key, time.Second)
	workers := *fanoutWorkers
	if workers == 0 {
		workers = defaults["delivery.workers"].(int)
	}
	for _, run := range []struct {
		name      string
		postgres  bool
		processes int
	}{{"sqlite-1", false, 1}, {"postgres-1", true, 1}, {"postgres-2", true, 2}} {
		b.Run(run.name, func(b *testing.B) {
			if run.postgres && storagetest.Postgres() == "" {
				b.Skip("set " + storagetest.PostgresVariable + " to measure PostgreSQL")
			}
			servers := *fanoutServers
			for b.Loop() {
				b.StopTimer()
				location := filepath.Join(b.TempDir(), "hearth.db")
				if run.postgres {
					location = storagetest.Location(b)
				}
				g := newSharedGroup(b, location, servers)
				for p := range run.processes {
					g.start(b, fmt.Sprint(p), workers, delivery.DefaultLease)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				reached := g.reached(ctx, servers)
				b.StartTimer()
				start := time.Now()
				g.post(b, 1)
				select {
				case <-reached[0]:
				case <-ctx.Done():
					b.Fatalf("not every server got the post")
				}
				took := time.Since(start)
				cancel()
				floor := time.Duration(float64(servers) / signRate * float64(time.Second))
				b.ReportMetric(took.Seconds(), "s/fanout")
				b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
				b.Logf("%s: %d servers in %v (%.0f/s); signing floor %v at %.0f signs/s: ratio %.2f",
					run.name, servers, took.Round(time.Millisecond), float64(servers)/took.Seconds(),
					floor.Round(time.Millisecond), signRate, took.Seconds()/floor.Seconds())
			}
		})
	}
}

// TestTheCommandLineReachesEveryProcess blocks a domain with "hearth
// domain block" while two processes serve one PostgreSQL database: within
// two seconds both refuse the domain's requests.
func TestTheCommandLineReachesEveryProcess(t *testing.T) {
	if storagetest.Postgres() == "" {
		t.Skip("set " + storagetest.PostgresVariable + " to run Hearth processes on one PostgreSQL database")
	}
	t.Parallel()
	g := newSharedGroup(t, storagetest.Location(t), 1)
	g.start(t, "a", 4, delivery.DefaultLease)
	g.start(t, "b", 4, delivery.DefaultLease)
	spam := g.network.NewInstance("spam.test").NewActor("sam")
	// Two requests in a row reach both processes, in turn.
	bothRefuse := func() bool {
		for range 2 {
			resp, err := spam.Post(context.Background(), "http://"+hearthHost+"/g/grief/inbox", spam.Follow("http://"+hearthHost+"/g/grief"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				return false
			}
		}
		return true
	}
	if bothRefuse() {
		t.Fatal("spam.test is refused before it is blocked")
	}
	loc := storage.ParseLocation(g.location)
	mustHearth(t, envOf(map[string]string{"HEARTH_STORAGE_DRIVER": "postgres", "HEARTH_STORAGE_DSN": loc.Name}), "domain", "block", "spam.test")
	deadline := time.Now().Add(2 * time.Second)
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for !bothRefuse() {
		if time.Now().After(deadline) {
			t.Fatal("a process still takes spam.test's requests 2 s after the block")
		}
		<-poll.C
	}
}
