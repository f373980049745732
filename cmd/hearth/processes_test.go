package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
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

// child is a running process of TestServeProcess.
type child struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	addr   string
	output *strings.Builder
	done   chan error
}

func startServeProcess(t *testing.T, name string, network *fedtest.Network, env []string) *child {
	t.Helper()
	raw, err := json.Marshal(serveProcess{Name: name, Network: network.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeProcess$")
	cmd.Env = append(append(os.Environ(), env...), serveProcessEnv+"="+string(raw))
	output := &strings.Builder{}
	var mu sync.Mutex
	cmd.Stderr = writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return output.Write(b) })
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, output: output, done: make(chan error, 1)}
	// Everything the process prints besides its address is kept, to show
	// should it fail.
	lines := bufio.NewScanner(stdout)
	for c.addr == "" && lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), servingPrefix); ok {
			c.addr = addr
		} else {
			cmd.Stderr.Write([]byte(lines.Text() + "\n"))
		}
	}
	go func() {
		for lines.Scan() {
			cmd.Stderr.Write([]byte(lines.Text() + "\n"))
		}
		c.done <- cmd.Wait()
	}()
	if c.addr == "" {
		stdin.Close()
		err := <-c.done
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("process %s did not start: %v\n%s", name, err, output)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := <-c.done; err != nil && !c.killed() {
			mu.Lock()
			defer mu.Unlock()
			t.Errorf("process %s: %v\n%s", name, err, output)
		}
	})
	return c
}

func (c *child) killed() bool {
	return c.cmd.ProcessState != nil && !c.cmd.ProcessState.Exited()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

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

// TestTwoProcessesShareOneFanOut runs two Hearth processes on one
// PostgreSQL database behind one address, and has a member post to a
// group whose members are on 2,000 servers, sending the post to both
// processes at once. Both deliver, and one is killed mid-way: every server
// gets the post, and gets it once, except for the requests the killed
// process had in flight, which the other sends again once their lease runs
// out.
func TestTwoProcessesShareOneFanOut(t *testing.T) {
	if storagetest.Postgres() == "" {
		t.Skip("set " + storagetest.PostgresVariable + " to run Hearth processes on one PostgreSQL database")
	}
	t.Parallel()
	const servers, workers = 2000, 8
	ctx := context.Background()
	location := storagetest.Location(t)
	network := fedtest.NewNetwork(t)
	lb := &balancer{}
	network.Route(hearthHost, lb)

	store, err := storage.Open(ctx, location)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	group := storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
	group.PrivateKeyPEM, group.PublicKeyPEM = testGroupKeys(t)
	instances := make([]*fedtest.Instance, servers)
	for i := range instances {
		instances[i] = network.NewInstance(fmt.Sprintf("s%04d.test", i))
	}
	author := instances[0].NewActor("author")
	err = store.Update(ctx, func(tx *storage.Tx) error {
		if err := tx.CreateGroup(&group); err != nil {
			return err
		}
		if err := tx.SetMembership(group.ID, author.ID, storage.Member, ""); err != nil {
			return err
		}
		for i, inst := range instances {
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
		t.Fatal(err)
	}

	env := []string{
		"HEARTH_STORAGE_DRIVER=postgres", "HEARTH_STORAGE_DSN=" + location,
		"HEARTH_SERVER_BASE_URL=http://" + hearthHost, "HEARTH_FEDERATION_INSECURE_DEV=true",
		"HEARTH_METRICS_LISTEN=127.0.0.1:0", "HEARTH_LOG_LEVEL=warn",
		fmt.Sprintf("HEARTH_DELIVERY_WORKERS=%d", workers), "HEARTH_DELIVERY_LEASE=2s",
	}
	a := startServeProcess(t, "a", network, env)
	b := startServeProcess(t, "b", network, env)
	lb.add(a.addr)
	lb.add(b.addr)

	groupIRI := "http://" + hearthHost + "/g/grief"
	create := author.Create(publicNote(author, groupIRI, "Nobody tells you about the quiet."))
	noteID := objectField(create, "id").(string)
	// The author's server sends the post twice at once, and the balancer
	// hands one copy to each process: it is relayed once.
	var posts sync.WaitGroup
	for range 2 {
		posts.Go(func() {
			if status := post(t, author, "http://"+hearthHost+"/inbox", create); status != http.StatusAccepted {
				t.Errorf("posting: status %d, want 202", status)
			}
		})
	}
	posts.Wait()

	var received atomic.Int64
	quarter, all := make(chan struct{}), make(chan struct{})
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, inst := range instances {
		go func() {
			if _, err := inst.WaitDeliveries(waitCtx, 1); err != nil {
				return
			}
			switch received.Add(1) {
			case servers / 4:
				close(quarter)
			case servers:
				close(all)
			}
		}()
	}
	select {
	case <-quarter:
	case <-waitCtx.Done():
		t.Fatalf("%d of %d servers got the post", received.Load(), servers)
	}
	lb.only(0)
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-all:
	case <-waitCtx.Done():
		t.Fatalf("%d of %d servers got the post after one process was killed", received.Load(), servers)
	}

	sentBy := map[string]int{}
	resent := 0
	for _, inst := range instances {
		verified := 0
		for _, d := range inst.Deliveries() {
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
		resent += len(inst.Deliveries()) - 1
	}
	// What the killed process had in flight is sent again: at most one
	// request per worker.
	if resent > workers {
		t.Errorf("%d servers got the post twice, more than the %d requests the killed process could have had in flight", resent, workers)
	}
	if sentBy["a"] == 0 || sentBy["b"] == 0 {
		t.Errorf("deliveries by process: %v; want both to share the fan-out", sentBy)
	}
	t.Logf("deliveries by process %v, sent again after the kill: %d", sentBy, resent)
}

// testGroupKeys is a key pair for a group made outside Hearth.
func testGroupKeys(t *testing.T) (private, public string) {
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
