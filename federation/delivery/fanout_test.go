package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// The defaults keep "go test -bench ." quick; the figures in the README come
// from -fanout.followers=10000 -fanout.servers=1000.
var (
	fanoutFollowers = flag.Int("fanout.followers", 200, "members of the group in the fan-out benchmarks")
	fanoutServers   = flag.Int("fanout.servers", 20, "fake servers the members are spread over")
	fanoutFailing   = flag.Float64("fanout.failing", 0.3, "share of servers that fail in BenchmarkFanOutWithFailingServers: half answer 503, half hang")
)

const benchGroup = "bench"

// softwareMix is what the fake servers run, in turn: mostly Mastodon, which
// is sent the boost alone, some Lemmy, sent the FEP-1b12 Announce alone, and
// some Friendica, which Hearth does not single out and sends both.
var softwareMix = []string{"mastodon", "mastodon", "mastodon", "lemmy", "friendica"}

// announcesPer is how many Announces of one post a server running software
// receives.
var announcesPer = map[string]int{"mastodon": 1, "lemmy": 1, "friendica": 2}

// fanout is Hearth on a fake fediverse whose servers verify every
// signature they receive, with one group and its members.
type fanout struct {
	b        *testing.B
	network  *fedtest.Network
	store    *storage.Store
	svc      *federation.Service
	group    string // the group's actor IRI
	servers  []*fedtest.Instance
	members  []*fedtest.Actor
	follows  rate // Follows from new actors, accepted by the inbox
	creates  rate // Creates from known actors, accepted by the inbox
	signRate float64
}

// rate is how many requests took how long.
type rate struct {
	n    int
	took time.Duration
}

func (r rate) perSecond() float64 { return float64(r.n) / r.took.Seconds() }

func newFanout(b *testing.B, followers, servers int) *fanout {
	b.Helper()
	ctx := context.Background()
	f := &fanout{b: b, network: fedtest.NewNetwork(b)}
	store, err := storage.Open(ctx, filepath.Join(b.TempDir(), "hearth.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	f.store = store
	base, _ := url.Parse("http://hearth.test")
	f.svc, err = federation.New(ctx, federation.Config{
		BaseURL:     base,
		InsecureDev: true,
		Transport:   f.network.Transport(),
		Logger:      slog.New(slog.DiscardHandler),
	}, store)
	if err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	f.svc.Routes(r, federation.Pages{Group: http.NotFoundHandler()})
	f.network.Route("hearth.test", r)
	if err := f.svc.CreateGroup(ctx, &storage.Group{Name: benchGroup}); err != nil {
		b.Fatal(err)
	}
	f.group = f.svc.IRIs().Group(benchGroup)

	for s := range servers {
		inst := f.network.NewInstance(fmt.Sprintf("s%04d.test", s))
		inst.SetSoftware(softwareMix[s%len(softwareMix)])
		f.servers = append(f.servers, inst)
	}
	for m := range followers {
		f.members = append(f.members, f.servers[m%servers].NewActor(fmt.Sprintf("m%d", m)))
	}

	// The inbox is measured first, while the delivery workers are still
	// stopped: the Accepts the Follows cause are queued in the same
	// transactions and sent once the workers start.
	f.follows = f.send(func(a *fedtest.Actor) any { return a.Follow(f.group) })
	if err := f.svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stop, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		f.svc.Stop(stop)
	})
	for s, inst := range f.servers {
		want := followers / servers
		if s < followers%servers {
			want++
		}
		inst.AwaitDeliveries(b, want, time.Minute)
	}
	// Creates that address no group: verified, recorded as seen, relayed
	// nowhere.
	f.creates = f.send(func(a *fedtest.Actor) any {
		return a.Create(map[string]any{"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "content": "elsewhere"})
	})
	f.signRate = signingRate(f.members[0].Key, time.Second)
	return f
}

// send posts one activity from every member to the group's inbox, signed
// beforehand so that only Hearth's side is timed, and returns how fast they
// were accepted.
func (f *fanout) send(activity func(*fedtest.Actor) any) rate {
	f.b.Helper()
	requests := make([]*http.Request, len(f.members))
	for i, a := range f.members {
		requests[i] = signedPost(f.b, a, f.group+"/inbox", activity(a))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	start := time.Now()
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(requests)); i = next.Add(1) - 1 {
				if err := expectAccepted(f.network.Client(), requests[i]); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	select {
	case err := <-errs:
		f.b.Fatal(err)
	default:
	}
	return rate{n: len(requests), took: took}
}

func signedPost(b *testing.B, a *fedtest.Actor, inbox string, activity any) *http.Request {
	b.Helper()
	body, err := json.Marshal(activity)
	if err != nil {
		b.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", activitypub.ContentType)
	if err := a.Sign(req, body); err != nil {
		b.Fatal(err)
	}
	return req
}

func expectAccepted(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST %s: %s: %s", req.URL, resp.Status, body)
	}
	return nil
}

// signingRate measures this machine's RSA-2048 PKCS#1 v1.5 SHA-256
// signatures per second on every core: one signature per request is the
// least a fan-out costs.
func signingRate(key *rsa.PrivateKey, d time.Duration) float64 {
	digest := sha256.Sum256([]byte("hearth"))
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Since(start) < d {
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
					panic(err)
				}
				total.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

// post sends one member's public post to the group and returns when Hearth
// answered 202.
func (f *fanout) post(author *fedtest.Actor) time.Time {
	f.b.Helper()
	note := author.Create(map[string]any{
		"to":      []string{"https://www.w3.org/ns/activitystreams#Public", f.group},
		"content": "<p>Thank you all for being here.</p>",
	})
	req := signedPost(f.b, author, f.group+"/inbox", note)
	if err := expectAccepted(f.network.Client(), req); err != nil {
		f.b.Fatal(err)
	}
	return time.Now()
}

// received counts what each server has received so far.
func received(servers []*fedtest.Instance) []int {
	counts := make([]int, len(servers))
	for i, inst := range servers {
		counts[i] = len(inst.Deliveries())
	}
	return counts
}

// lastArrival waits until every server has received the Announces of one
// post, checks that each was verified and accepted, and returns when the
// last one arrived and how many there were.
func (f *fanout) lastArrival(servers []*fedtest.Instance, before []int) (last time.Time, deliveries int) {
	f.b.Helper()
	for i, inst := range servers {
		want := announcesPer[softwareOf(f.servers, inst)]
		deliveries += want
		for _, d := range inst.AwaitDeliveries(f.b, before[i]+want, time.Minute)[before[i]:] {
			if d.Type() != "Announce" || !d.Verified || d.Status != http.StatusAccepted {
				f.b.Fatalf("unexpected delivery %v", d)
			}
			if d.At.After(last) {
				last = d.At
			}
		}
	}
	return last, deliveries
}

// softwareOf is the software the server runs, by its place in the mix.
func softwareOf(servers []*fedtest.Instance, inst *fedtest.Instance) string {
	for s, candidate := range servers {
		if candidate == inst {
			return softwareMix[s%len(softwareMix)]
		}
	}
	panic("not a server of the benchmark: " + inst.Host)
}

func (f *fanout) report(deliveries int, took time.Duration) {
	b := f.b
	floor := time.Duration(float64(deliveries) / f.signRate * float64(time.Second))
	peak := peakRSS()
	b.ReportMetric(took.Seconds(), "fanout-s")
	b.ReportMetric(float64(deliveries)/took.Seconds(), "deliveries/s")
	b.ReportMetric(f.signRate, "signs/s")
	b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
	b.ReportMetric(f.follows.perSecond(), "follows/s")
	b.ReportMetric(f.creates.perSecond(), "creates/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.Logf("%d followers on %d servers, %d cores: %d deliveries in %v (%.0f/s); signing floor %v at %.0f signs/s, ratio %.2f; "+
		"inbound %d follows at %.0f/s, %d creates at %.0f/s; peak RSS %d MiB",
		len(f.members), len(f.servers), runtime.GOMAXPROCS(0), deliveries, took.Round(time.Millisecond),
		float64(deliveries)/took.Seconds(), floor.Round(time.Millisecond), f.signRate, took.Seconds()/floor.Seconds(),
		f.follows.n, f.follows.perSecond(), f.creates.n, f.creates.perSecond(), peak>>20)
}

// peakRSS is the process's high-water resident memory (VmHWM), in bytes.
// The process holds the fake fediverse too, so Hearth's own share is less.
func peakRSS() int64 {
	file, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer file.Close()
	lines := bufio.NewScanner(file)
	for lines.Scan() {
		if value, ok := strings.CutPrefix(lines.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkFanOut times one member's post reaching every member's server.
func BenchmarkFanOut(b *testing.B) {
	f := newFanout(b, *fanoutFollowers, *fanoutServers)
	var deliveries int
	var took time.Duration
	for i := 0; b.Loop(); i++ {
		before := received(f.servers)
		accepted := f.post(f.members[i%len(f.members)])
		last, n := f.lastArrival(f.servers, before)
		took += last.Sub(accepted)
		deliveries += n
	}
	f.report(deliveries, took)
}

// BenchmarkFanOutWithFailingServers times the fan-out to the healthy
// servers while the others answer 503 or hang, and checks that every
// delivery to the failing ones is still queued for a retry.
func BenchmarkFanOutWithFailingServers(b *testing.B) {
	f := newFanout(b, *fanoutFollowers, *fanoutServers)
	// The failing servers are picked at random (the same ones every run):
	// taking the first ones by name would put all of them at the head of
	// the queue, which is not how failures fall.
	order := rand.New(rand.NewPCG(1, 2)).Perm(len(f.servers))
	failing := int(float64(len(f.servers)) * *fanoutFailing)
	failingDeliveries := 0
	isFailing := make(map[int]bool)
	for n, s := range order[:failing] {
		inst := f.servers[s]
		if n%2 == 0 {
			inst.SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable})
		} else {
			inst.SetFailure(fedtest.Failure{Hang: true})
		}
		isFailing[s] = true
		failingDeliveries += announcesPer[softwareOf(f.servers, inst)]
	}
	var healthy []*fedtest.Instance
	for s, inst := range f.servers {
		if !isFailing[s] {
			healthy = append(healthy, inst)
		}
	}
	var deliveries int
	var took time.Duration
	for i := 0; b.Loop(); i++ {
		before := received(healthy)
		accepted := f.post(f.members[i%len(f.members)])
		last, n := f.lastArrival(healthy, before)
		took += last.Sub(accepted)
		deliveries += n
		f.awaitQueued((i + 1) * failingDeliveries)
	}
	f.report(deliveries, took)
}

// awaitQueued waits until the queue holds exactly want deliveries, none of
// them given up. Outcomes are written shortly after the requests they
// record, so the healthy servers' deliveries leave the queue a little after
// they arrive.
func (f *fanout) awaitQueued(want int) {
	f.b.Helper()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var stats storage.QueueStats
		err := f.store.View(context.Background(), func(tx *storage.Tx) (err error) {
			stats, err = tx.QueueStats()
			return err
		})
		switch {
		case err != nil:
			f.b.Fatal(err)
		case stats.Queued == want && stats.Failed == 0:
			return
		case stats.Failed != 0 || time.Now().After(deadline):
			f.b.Fatalf("queue %+v, want %d deliveries to the failing servers queued and none given up", stats, want)
		}
		<-tick.C
	}
}
