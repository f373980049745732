package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/transport"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// The defaults keep "go test -bench ." quick; the figures in the README come
// from -fanout.followers=10000 -fanout.servers=1000.
var (
	fanoutFollowers = flag.Int("fanout.followers", 200, "members of the group in the fan-out benchmarks")
	fanoutServers   = flag.Int("fanout.servers", 20, "fake servers the members are spread over")
	fanoutFailing   = flag.Float64("fanout.failing", 0.3, "share of servers that fail in BenchmarkFanOutWithFailingServers: half answer 503, half hang")
	fanoutWorkers   = flag.Int("fanout.workers", 0, "Hearth's delivery workers (delivery.workers); 0 is its default")
	fanoutPosts     = flag.Int("fanout.posts", 100, "posts to the group, from as many members, in BenchmarkPostsDuringFanOuts")
	fanoutReplies   = flag.Int("fanout.replies", 200, "replies to one thread, from as many members (at most all but the thread's author), in BenchmarkReplyStorm")
	fanoutProfile   = flag.String("fanout.cpuprofile", "", "write a CPU profile of BenchmarkFanOut's fan-outs alone, the setup with its Follows left out, to this file")
	fanoutStorm     = flag.Duration("fanout.storm", 0, "time over which BenchmarkReplyStorm's replies are sent, evenly; 0 sends them as fast as Hearth answers")
)

const benchGroup = "bench"

// softwareMix is what the fake servers run, in turn: mostly Mastodon, which
// is sent the boost alone, some Lemmy, sent the FEP-1b12 Announce alone, and
// some Friendica, which Hearth does not single out and sends both.
var softwareMix = []string{"mastodon", "mastodon", "mastodon", "lemmy", "friendica"}

// announcesPer is how many Announces of one post a server running software
// receives.
var announcesPer = map[string]int{"mastodon": 1, "lemmy": 1, "friendica": 2}

// fanout is Hearth with one group whose members are spread over a fake
// fediverse, in a child process, whose servers verify every signature they
// receive.
type fanout struct {
	b         *testing.B
	fediverse *remoteFediverse
	store     *storage.Store
	svc       *federation.Service
	followers int
	servers   int
	follows   rate // Follows from new actors, accepted by the inbox
	creates   rate // Creates from known actors, accepted by the inbox
	signRate  float64
	key       *rsa.PrivateKey // the group's
	// accepts are how long each post timed by fanOut took to be answered.
	accepts []time.Duration
}

// rate is how many requests took how long, and how long each took to be
// answered, at the median and the 99th percentile.
type rate struct {
	N       int           `json:"n"`
	Seconds float64       `json:"seconds"`
	P50     time.Duration `json:"p50"`
	P99     time.Duration `json:"p99"`
}

func (r rate) perSecond() float64 { return float64(r.N) / r.Seconds }

func newFanout(b *testing.B, followers, servers int) *fanout {
	b.Helper()
	ctx := context.Background()
	base, _ := url.Parse("http://" + hearthHost)
	iris := activitypub.NewIRIs(base)
	// Hearth's listener comes first: the child needs its address, and
	// Hearth's transport needs the child's.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { listener.Close() })
	f := &fanout{b: b, followers: followers, servers: servers}
	f.fediverse = startFediverse(b, fediverseConfig{
		Followers: followers,
		Servers:   servers,
		Hearth:    listener.Addr().String(),
		Group:     iris.Group(benchGroup),
	})
	store, err := storage.Open(ctx, storagetest.Location(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	f.store = store
	// Hearth's own pool of connections, so that the connections it keeps
	// to a thousand servers cost what they would in production.
	toFediverse := transport.NewPool(f.fediverse.Dial)
	b.Cleanup(toFediverse.CloseIdleConnections)
	f.svc, err = federation.New(ctx, federation.Config{
		BaseURL:     base,
		InsecureDev: true,
		Transport:   toFediverse,
		Logger:      slog.New(slog.DiscardHandler),
		Workers:     *fanoutWorkers,
	}, store)
	if err != nil {
		b.Fatal(err)
	}
	server := &http.Server{Handler: testRoutes(b, f.svc, store)}
	go server.Serve(listener)
	b.Cleanup(func() { server.Close() })
	group := storage.Group{Name: benchGroup}
	if err := f.svc.CreateGroup(ctx, &group); err != nil {
		b.Fatal(err)
	}

	// The inbox is measured first, while the delivery workers are still
	// stopped: the Accepts the Follows cause are queued in the same
	// transactions and sent once the workers start.
	f.follows = call[rate](f.fediverse, "send", sendRequest{Activity: "follow"})
	// What each server is sent depends on its software, which Hearth
	// learns in the background after the first Follow from there.
	if err := f.svc.Settle(ctx); err != nil {
		b.Fatal(err)
	}
	if err := f.svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stop, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		f.svc.Stop(stop)
	})
	all := make([]int, servers)
	accepts := make([]int, servers)
	for s := range servers {
		all[s] = s
		accepts[s] = followers / servers
		if s < followers%servers {
			accepts[s]++
		}
	}
	call[arrivals](f.fediverse, "await", awaitRequest{Servers: all, From: make([]int, servers), Want: accepts, Type: "Accept"})
	// Creates that address no group: verified, recorded as seen, relayed
	// nowhere. How long they take to be answered on an idle Hearth is the
	// floor of what a post to the group can take.
	f.creates = call[rate](f.fediverse, "send", sendRequest{Activity: "create"})
	key, err := activitypub.ParsePrivateKey(group.PrivateKeyPEM)
	if err != nil {
		b.Fatal(err)
	}
	f.key, f.signRate = key, signingRate(key, time.Second)
	return f
}

// signingRate measures this machine's RSA-2048 PKCS#1 v1.5 SHA-256
// signatures per second on every core, with the group's own key: one
// signature per request is the least a fan-out costs.
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

// softwareOf is the software server s runs, by its place in the mix.
func softwareOf(s int) string { return softwareMix[s%len(softwareMix)] }

// fanOut has one member post and waits until the given servers have
// received its Announces, each verified and accepted. It returns the time
// from Hearth's 202 to the last arrival, how many deliveries there were,
// how many requests the failing servers had received by then, and the
// signing floor of both, measured just before the post: on a shared
// machine the signing rate drifts within a run.
func (f *fanout) fanOut(author int, servers, failing []int) fanned {
	f.b.Helper()
	signRate := signingRate(f.key, 300*time.Millisecond)
	counts := call[[]int](f.fediverse, "received", struct{}{})
	arg := awaitRequest{Servers: servers, Type: "Announce", Failing: failing}
	for _, s := range servers {
		arg.From = append(arg.From, counts[s])
		arg.Want = append(arg.Want, announcesPer[softwareOf(s)])
	}
	for _, s := range failing {
		arg.FailingFrom = append(arg.FailingFrom, counts[s])
	}
	accepted := call[posted](f.fediverse, "post", postRequest{Author: author})
	f.accepts = append(f.accepts, accepted.Took)
	found := call[arrivals](f.fediverse, "await", arg)
	floor := func(requests int) time.Duration {
		return time.Duration(float64(requests) / signRate * float64(time.Second))
	}
	one := fanned{took: found.Last.Sub(accepted.At), deliveries: found.Deliveries, failing: found.FailingBefore,
		floor: floor(found.Deliveries), signedFloor: floor(found.Deliveries + found.FailingBefore)}
	line := fmt.Sprintf("post %d: %d deliveries in %v, the first after %v, %.2f× their floor at %.0f signs/s",
		author, one.deliveries, one.took.Round(time.Millisecond), found.First.Sub(accepted.At).Round(time.Millisecond),
		one.took.Seconds()/one.floor.Seconds(), signRate)
	if len(failing) > 0 {
		line += fmt.Sprintf("; %d requests to failing servers before the last of them", one.failing)
	}
	f.b.Log(line)
	return one
}

// fanned is what the fan-outs timed came to, added up.
type fanned struct {
	took       time.Duration
	deliveries int
	// failing is how many requests went to failing servers before the
	// last delivery to a healthy one: Hearth signs them too, not knowing
	// in advance that they will fail.
	failing int
	// floor is the signing floor of the deliveries, signedFloor that of
	// the deliveries and the failing servers' requests.
	floor, signedFloor time.Duration
}

func (a fanned) add(b fanned) fanned {
	return fanned{took: a.took + b.took, deliveries: a.deliveries + b.deliveries, failing: a.failing + b.failing,
		floor: a.floor + b.floor, signedFloor: a.signedFloor + b.signedFloor}
}

func (f *fanout) report(total fanned) {
	b := f.b
	deliveries, took, floor := total.deliveries, total.took, total.floor
	signRate := float64(deliveries) / floor.Seconds()
	peak := peakRSS()
	fediversePeak := call[int64](f.fediverse, "peak", struct{}{})
	b.ReportMetric(took.Seconds(), "fanout-s")
	b.ReportMetric(float64(deliveries)/took.Seconds(), "deliveries/s")
	b.ReportMetric(signRate, "signs/s")
	b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
	if total.failing > 0 {
		ratio := took.Seconds() / total.signedFloor.Seconds()
		b.ReportMetric(ratio, "x-floor-signed")
		b.Logf("%d requests to the failing servers went out before the last healthy delivery: "+
			"a floor of %v for every request signed by then, ratio %.2f",
			total.failing, total.signedFloor.Round(time.Millisecond), ratio)
	}
	b.ReportMetric(f.follows.perSecond(), "follows/s")
	b.ReportMetric(f.creates.perSecond(), "creates/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(float64(fediversePeak)/(1<<20), "fediverse-peak-MiB")
	var slowest time.Duration
	for _, d := range f.accepts {
		slowest = max(slowest, d)
	}
	b.ReportMetric(milliseconds(slowest), "accept-ms")
	b.ReportMetric(milliseconds(f.creates.P50), "idle-create-p50-ms")
	b.Logf("202 to a post to the %d members: at most %v over %d posts (goal < 50 ms); "+
		"floor, a Create relayed nowhere on an idle Hearth: p50 %v, p99 %v",
		f.followers, slowest.Round(time.Microsecond), len(f.accepts),
		f.creates.P50.Round(time.Microsecond), f.creates.P99.Round(time.Microsecond))
	b.Logf("%d followers on %d servers, %d cores: %d deliveries in %v (%.0f/s); signing floor %v at %.0f signs/s, ratio %.2f; "+
		"inbound %d follows at %.0f/s, %d creates at %.0f/s; peak RSS of Hearth and the benchmark's driver %d MiB "+
		"(the fake fediverse, in its own process, %d MiB)",
		f.followers, f.servers, runtime.GOMAXPROCS(0), deliveries, took.Round(time.Millisecond),
		float64(deliveries)/took.Seconds(), floor.Round(time.Millisecond), signRate, took.Seconds()/floor.Seconds(),
		f.follows.N, f.follows.perSecond(), f.creates.N, f.creates.perSecond(), peak>>20, fediversePeak>>20)
}

func milliseconds(d time.Duration) float64 { return d.Seconds() * 1000 }

// peakRSS is the process's high-water resident memory (VmHWM), in bytes.
// In the benchmark's process that is Hearth and the thin driver around it:
// the fake fediverse runs in a process of its own.
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
	all := make([]int, f.servers)
	for s := range all {
		all[s] = s
	}
	var total fanned
	profiled(b, *fanoutProfile, func() {
		for i := 0; b.Loop(); i++ {
			total = total.add(f.fanOut(i, all, nil))
		}
	})
	f.report(total)
}

// profiled runs fn under a CPU profile written to path, if path is set.
// Most of a fan-out benchmark's time is its setup, so that go test's own
// -cpuprofile shows the Follows more than the fan-out.
func profiled(b *testing.B, path string, fn func()) {
	b.Helper()
	if path == "" {
		fn()
		return
	}
	file, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	if err := pprof.StartCPUProfile(file); err != nil {
		b.Fatal(err)
	}
	defer pprof.StopCPUProfile()
	fn()
}

// BenchmarkPostsDuringFanOuts times how fast members' posts to the group
// are answered while the group's fan-outs run: one post starts a fan-out,
// then -fanout.posts members post at once, each post starting another.
func BenchmarkPostsDuringFanOuts(b *testing.B) {
	f := newFanout(b, *fanoutFollowers, *fanoutServers)
	var during rate
	for i := 0; b.Loop(); i++ {
		call[posted](f.fediverse, "post", postRequest{Author: i})
		during = call[rate](f.fediverse, "send", sendRequest{Activity: "post", Count: *fanoutPosts})
	}
	b.ReportMetric(during.perSecond(), "posts/s")
	b.ReportMetric(milliseconds(during.P50), "post-p50-ms")
	b.ReportMetric(milliseconds(during.P99), "post-p99-ms")
	b.ReportMetric(milliseconds(f.creates.P99), "idle-create-p99-ms")
	b.Logf("%d posts to a group of %d members on %d servers, %d cores, while its fan-outs run: %.0f/s, p50 %v, p99 %v "+
		"(goal < 100 ms); floor, a Create relayed nowhere on an idle Hearth: p50 %v, p99 %v",
		during.N, f.followers, f.servers, runtime.GOMAXPROCS(0), during.perSecond(),
		during.P50.Round(time.Microsecond), during.P99.Round(time.Microsecond),
		f.creates.P50.Round(time.Microsecond), f.creates.P99.Round(time.Microsecond))
}

// BenchmarkFanOutWithFailingServers times the fan-out to the healthy
// servers while the others answer 503 or hang, and checks that every
// delivery to the failing ones is still queued for a retry.
func BenchmarkFanOutWithFailingServers(b *testing.B) {
	f := newFanout(b, *fanoutFollowers, *fanoutServers)
	// The failing servers are picked at random (the same ones every run):
	// taking the first ones by name would put all of them at the head of
	// the queue, which is not how failures fall.
	order := rand.New(rand.NewPCG(1, 2)).Perm(f.servers)
	failing := int(float64(f.servers) * *fanoutFailing)
	var failures failRequest
	failingDeliveries := 0
	for n, s := range order[:failing] {
		if n%2 == 0 {
			failures.Unavailable = append(failures.Unavailable, s)
		} else {
			failures.Hanging = append(failures.Hanging, s)
		}
		failingDeliveries += announcesPer[softwareOf(s)]
	}
	call[struct{}](f.fediverse, "fail", failures)
	healthy := order[failing:]
	slices.Sort(healthy)
	var total fanned
	for i := 0; b.Loop(); i++ {
		total = total.add(f.fanOut(i, healthy, order[:failing]))
		f.awaitQueued((i + 1) * failingDeliveries)
	}
	f.report(total)
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

// BenchmarkReplyStorm has -fanout.replies members reply to one member's
// post within -fanout.storm, each reply relayed to every member's server.
// It checks that every server got every reply once in each form it reads,
// and times how fast the replies were answered and how long the queue
// took to drain, from the first reply's 202 to the last arrival.
func BenchmarkReplyStorm(b *testing.B) {
	f := newFanout(b, *fanoutFollowers, *fanoutServers)
	replies := min(*fanoutReplies, f.followers-1)
	all := make([]int, f.servers)
	perReply := 0
	for s := range all {
		all[s] = s
		perReply += announcesPer[softwareOf(s)]
	}
	var answers rate
	var requests int
	var drain time.Duration
	for i := 0; b.Loop(); i++ {
		counts := call[[]int](f.fediverse, "received", struct{}{})
		thread := call[posted](f.fediverse, "post", postRequest{Author: i})
		want := make([]int, f.servers)
		for s := range want {
			want[s] = announcesPer[softwareOf(s)]
		}
		call[arrivals](f.fediverse, "await", awaitRequest{Servers: all, From: counts, Want: want, Type: "Announce"})

		counts = call[[]int](f.fediverse, "received", struct{}{})
		storm := call[stormed](f.fediverse, "storm", stormRequest{Thread: thread.Note, Replies: replies, Seconds: fanoutStorm.Seconds()})
		for s := range want {
			want[s] = replies * announcesPer[softwareOf(s)]
		}
		found := call[arrivals](f.fediverse, "await", awaitRequest{Servers: all, From: counts, Want: want, Type: "Announce"})
		call[struct{}](f.fediverse, "once", onceRequest{From: counts, Notes: storm.Notes})
		answers = storm.Answers
		requests += found.Deliveries
		drain += found.Last.Sub(storm.First)
	}
	// The queue cannot drain before the last reply comes in, nor faster
	// than the requests can be signed.
	signing := time.Duration(float64(requests) / f.signRate * float64(time.Second))
	floor := max(signing, *fanoutStorm)
	b.ReportMetric(drain.Seconds(), "drain-s")
	b.ReportMetric(drain.Seconds()/floor.Seconds(), "x-floor")
	b.ReportMetric(f.signRate, "signs/s")
	b.ReportMetric(milliseconds(answers.P50), "reply-p50-ms")
	b.ReportMetric(milliseconds(answers.P99), "reply-p99-ms")
	b.ReportMetric(milliseconds(f.creates.P99), "idle-create-p99-ms")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-MiB")
	b.Logf("%d replies to one thread over %v in a group of %d members on %d servers (%d requests a reply), %d cores: "+
		"answered p50 %v, p99 %v (goal < 100 ms; floor, a Create relayed nowhere on an idle Hearth: p99 %v); "+
		"%d requests drained in %v, floor %v (signing at %.0f signs/s: %v), ratio %.2f (goal ≤ 1.5); every server got every reply once in each form it reads",
		answers.N, *fanoutStorm, f.followers, f.servers, perReply, runtime.GOMAXPROCS(0),
		answers.P50.Round(time.Microsecond), answers.P99.Round(time.Microsecond), f.creates.P99.Round(time.Microsecond),
		requests, drain.Round(time.Millisecond), floor.Round(time.Millisecond), f.signRate, signing.Round(time.Millisecond),
		drain.Seconds()/floor.Seconds())
}
