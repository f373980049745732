package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
)

// The fan-out benchmarks run the fake fediverse in a child process, the test
// binary itself started with fediverseEnv set, so that the memory they
// measure is Hearth's and not that of a thousand fake servers and
// everything those record. The benchmark drives the child over HTTP, at
// controlHost on the child's network.
const (
	fediverseEnv    = "HEARTH_FANOUT_FEDIVERSE"
	controlHost     = "control.fedtest"
	listeningPrefix = "fake fediverse listening on "
)

// fediverseConfig is what the child builds: servers and members, and where
// Hearth listens.
type fediverseConfig struct {
	Followers int    `json:"followers"`
	Servers   int    `json:"servers"`
	Hearth    string `json:"hearth"` // the address Hearth listens on
	Group     string `json:"group"`  // the IRI of the group the members follow
}

// TestFakeFediverseProcess is the child process of the fan-out benchmarks;
// run as a plain test it skips. It serves until its standard input closes.
func TestFakeFediverseProcess(t *testing.T) {
	raw := os.Getenv(fediverseEnv)
	if raw == "" {
		t.Skip("only runs as the fake fediverse of the fan-out benchmarks")
	}
	var cfg fediverseConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("%s: %v", fediverseEnv, err)
	}
	fv := newFediverse(t, cfg)
	fmt.Println(listeningPrefix + fv.network.Addr())
	// The benchmark keeps the pipe open for as long as it needs the servers.
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		t.Fatal(err)
	}
}

// fediverse is the child's side: the fake servers and their members.
type fediverse struct {
	cfg     fediverseConfig
	network *fedtest.Network
	servers []*fedtest.Instance
	members []*fedtest.Actor
	// hearth reaches Hearth's listener directly, so that the members'
	// requests do not pass through the network's own server first.
	hearth *http.Client
}

func newFediverse(t *testing.T, cfg fediverseConfig) *fediverse {
	fv := &fediverse{cfg: cfg, network: fedtest.NewNetwork(t)}
	toHearth := &http.Transport{DialContext: dialer(cfg.Hearth), MaxIdleConnsPerHost: 64}
	t.Cleanup(toHearth.CloseIdleConnections)
	fv.hearth = &http.Client{Transport: toHearth}
	// The fake servers fetch the group's key through their network, which
	// passes the request on to Hearth's listener.
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: cfg.Hearth})
	proxy.Transport = toHearth
	fv.network.Route(hearthHost, proxy)
	for s := range cfg.Servers {
		inst := fv.network.NewInstance(fmt.Sprintf("s%04d.test", s))
		inst.SetSoftware(softwareOf(s))
		fv.servers = append(fv.servers, inst)
	}
	for m := range cfg.Followers {
		fv.members = append(fv.members, fv.servers[m%cfg.Servers].NewActor(fmt.Sprintf("m%d", m)))
	}
	control := http.NewServeMux()
	control.HandleFunc("POST /send", serveControl(fv.send))
	control.HandleFunc("POST /post", serveControl(fv.post))
	control.HandleFunc("POST /received", serveControl(fv.received))
	control.HandleFunc("POST /await", serveControl(fv.await))
	control.HandleFunc("POST /fail", serveControl(fv.fail))
	control.HandleFunc("POST /peak", serveControl(fv.peak))
	control.HandleFunc("POST /storm", serveControl(fv.storm))
	control.HandleFunc("POST /once", serveControl(fv.once))
	fv.network.Route(controlHost, control)
	return fv
}

// dialer connects to addr whatever host a request names.
func dialer(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// serveControl turns fn into a handler that reads its argument as JSON and
// writes its result as JSON, or its error as a 500.
func serveControl[Arg, Result any](fn func(context.Context, Arg) (Result, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var arg Arg
		if err := json.NewDecoder(r.Body).Decode(&arg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		result, err := fn(r.Context(), arg)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(result)
	}
}

// sendRequest names what the members send the group: "follow", "create"
// for a post that addresses no group, or "post" for a post to the group,
// which the group relays. Count limits how many members send it, from the
// first; 0 means all.
type sendRequest struct {
	Activity string `json:"activity"`
	Count    int    `json:"count"`
}

// send posts one activity from each member asked to the group's inbox,
// signed beforehand so that only Hearth's side is timed, and returns how
// fast they were accepted and how long each took to be.
func (fv *fediverse) send(ctx context.Context, arg sendRequest) (rate, error) {
	activity := func(a *fedtest.Actor) any { return a.Follow(fv.cfg.Group) }
	switch arg.Activity {
	case "follow":
	case "create":
		activity = func(a *fedtest.Actor) any {
			return a.Create(map[string]any{"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "content": "elsewhere"})
		}
	case "post":
		activity = fv.postBy
	default:
		return rate{}, fmt.Errorf("no activity %q to send", arg.Activity)
	}
	senders := fv.members
	if arg.Count > 0 && arg.Count < len(senders) {
		senders = senders[:arg.Count]
	}
	requests := make([]*http.Request, len(senders))
	for i, a := range senders {
		req, err := signedPost(ctx, a, fv.cfg.Group+"/inbox", activity(a))
		if err != nil {
			return rate{}, err
		}
		requests[i] = req
	}
	latencies := make([]time.Duration, len(requests))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	start := time.Now()
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(requests)); i = next.Add(1) - 1 {
				sent := time.Now()
				if err := expectAccepted(fv.hearth, requests[i]); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				latencies[i] = time.Since(sent)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	select {
	case err := <-errs:
		return rate{}, err
	default:
	}
	slices.Sort(latencies)
	return rate{N: len(requests), Seconds: took.Seconds(), P50: percentile(latencies, 0.5), P99: percentile(latencies, 0.99)}, nil
}

// percentile is the duration below which the share p of the sorted
// durations fall.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(math.Ceil(p*float64(len(sorted))))-1)]
}

// postBy is a member's public post to the group.
func (fv *fediverse) postBy(author *fedtest.Actor) any {
	return author.Create(map[string]any{
		"to":      []string{"https://www.w3.org/ns/activitystreams#Public", fv.cfg.Group},
		"content": "<p>Thank you all for being here.</p>",
	})
}

// replyBy is a member's public reply to note, addressed to the group as
// Mastodon addresses a reply in a group's thread.
func (fv *fediverse) replyBy(author *fedtest.Actor, note string) map[string]any {
	return author.Create(map[string]any{
		"to":        []string{"https://www.w3.org/ns/activitystreams#Public", fv.cfg.Group},
		"inReplyTo": note,
		"content":   "<p>Same here. Still awake?</p>",
	})
}

func signedPost(ctx context.Context, a *fedtest.Actor, inbox string, activity any) (*http.Request, error) {
	body, err := json.Marshal(activity)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", activitypub.ContentType)
	return req, a.Sign(req, body)
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

// postRequest picks the member who posts.
type postRequest struct {
	Author int `json:"author"`
}

// posted is when Hearth answered a post 202, how long that took, and the
// id of the post's note.
type posted struct {
	At   time.Time     `json:"at"`
	Took time.Duration `json:"took"`
	Note string        `json:"note"`
}

// post sends one member's public post to the group, signed beforehand, and
// returns when and how fast Hearth answered 202.
func (fv *fediverse) post(ctx context.Context, arg postRequest) (posted, error) {
	author := fv.members[arg.Author%len(fv.members)]
	create := fv.postBy(author)
	req, err := signedPost(ctx, author, fv.cfg.Group+"/inbox", create)
	if err != nil {
		return posted{}, err
	}
	sent := time.Now()
	if err := expectAccepted(fv.hearth, req); err != nil {
		return posted{}, err
	}
	at := time.Now()
	return posted{At: at, Took: at.Sub(sent), Note: noteOf(create)}, nil
}

// noteOf is the id of the note an activity carries or names, through an
// embedded Create for the FEP-1b12 form.
func noteOf(activity any) string {
	object := activity
	for range 3 {
		switch o := object.(type) {
		case string:
			return o
		case map[string]any:
			if o["type"] == "Note" {
				id, _ := o["id"].(string)
				return id
			}
			object = o["object"]
		}
	}
	return ""
}

// stormRequest has Replies members, from the second on, each reply once
// to the note Thread, at an even pace over Seconds, or as fast as Hearth
// answers when Seconds is 0.
type stormRequest struct {
	Thread  string  `json:"thread"`
	Replies int     `json:"replies"`
	Seconds float64 `json:"seconds"`
}

// stormed is how fast the replies were answered, when the first was
// answered, and the ids of the replies' notes.
type stormed struct {
	Answers rate      `json:"answers"`
	First   time.Time `json:"first"`
	Notes   []string  `json:"notes"`
}

// storm sends the replies, signed beforehand so that only Hearth's side is
// timed. Paced replies are sent each at its moment, whether or not the
// ones before were answered, as people do not wait on each other.
func (fv *fediverse) storm(ctx context.Context, arg stormRequest) (stormed, error) {
	if arg.Replies >= len(fv.members) {
		return stormed{}, fmt.Errorf("%d replies need more than %d members", arg.Replies, len(fv.members))
	}
	var result stormed
	requests := make([]*http.Request, arg.Replies)
	for i := range requests {
		author := fv.members[1+i]
		reply := fv.replyBy(author, arg.Thread)
		result.Notes = append(result.Notes, noteOf(reply))
		req, err := signedPost(ctx, author, fv.cfg.Group+"/inbox", reply)
		if err != nil {
			return stormed{}, err
		}
		requests[i] = req
	}
	interval := time.Duration(arg.Seconds / float64(max(arg.Replies, 1)) * float64(time.Second))
	latencies := make([]time.Duration, len(requests))
	answered := make([]time.Time, len(requests))
	// As fast as Hearth answers is as many at once as the inbound
	// benchmark sends; paced, each reply goes on its own.
	concurrency := make(chan struct{}, 4*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	start := time.Now()
	for i, req := range requests {
		if interval > 0 {
			if err := waitUntil(ctx, start.Add(time.Duration(i)*interval)); err != nil {
				return stormed{}, err
			}
		} else {
			concurrency <- struct{}{}
		}
		wg.Go(func() {
			sent := time.Now()
			if err := expectAccepted(fv.hearth, req); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
			answered[i] = time.Now()
			latencies[i] = answered[i].Sub(sent)
			if interval == 0 {
				<-concurrency
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := failed.Load(); err != nil {
		return stormed{}, *err
	}
	result.First = slices.MinFunc(answered, func(a, b time.Time) int { return a.Compare(b) })
	slices.Sort(latencies)
	result.Answers = rate{N: len(requests), Seconds: took.Seconds(), P50: percentile(latencies, 0.5), P99: percentile(latencies, 0.99)}
	return result, nil
}

// waitUntil returns at t, or with ctx's error if that ends first.
func waitUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// onceRequest asks whether each server, since it had From[s] deliveries,
// received each of Notes exactly once in each form it reads.
type onceRequest struct {
	From  []int    `json:"from"`
	Notes []string `json:"notes"`
}

// once checks that no server missed a note and none got one twice.
func (fv *fediverse) once(_ context.Context, arg onceRequest) (struct{}, error) {
	for s, inst := range fv.servers {
		got := map[string]int{}
		for _, d := range inst.Deliveries()[arg.From[s]:] {
			form := "wrapped"
			if _, named := d.Activity["object"].(string); named {
				form = "boost"
			}
			got[form+" "+noteOf(d.Activity)]++
		}
		forms := map[string][]string{"mastodon": {"boost"}, "lemmy": {"wrapped"}, "friendica": {"boost", "wrapped"}}[softwareOf(s)]
		for _, note := range arg.Notes {
			for _, form := range forms {
				if n := got[form+" "+note]; n != 1 {
					return struct{}{}, fmt.Errorf("%s (%s) received the %s of %s %d times, want once", inst.Host, softwareOf(s), form, note, n)
				}
			}
		}
		if len(got) != len(arg.Notes)*len(forms) {
			return struct{}{}, fmt.Errorf("%s (%s) received %d distinct announces of %d replies, want %d", inst.Host, softwareOf(s),
				len(got), len(arg.Notes), len(arg.Notes)*len(forms))
		}
	}
	return struct{}{}, nil
}

// received counts what each server has received so far.
func (fv *fediverse) received(context.Context, struct{}) ([]int, error) {
	counts := make([]int, len(fv.servers))
	for i, inst := range fv.servers {
		counts[i] = len(inst.Deliveries())
	}
	return counts, nil
}

// awaitRequest asks for Want[k] more deliveries of activity Type to server
// Servers[k] than the From[k] it had. Failing[k] are servers that fail,
// which had FailingFrom[k] requests before.
type awaitRequest struct {
	Servers     []int  `json:"servers"`
	From        []int  `json:"from"`
	Want        []int  `json:"want"`
	Type        string `json:"type"`
	Failing     []int  `json:"failing"`
	FailingFrom []int  `json:"failingFrom"`
}

// arrivals is what an await found: when the last delivery arrived, how
// many there were, and how many requests the failing servers had received
// by then.
type arrivals struct {
	First         time.Time `json:"first"`
	Last          time.Time `json:"last"`
	Deliveries    int       `json:"deliveries"`
	FailingBefore int       `json:"failingBefore"`
}

// awaitLimit bounds an await. With 100,000 members, the Accepts of their
// Follows alone take minutes to deliver.
const awaitLimit = 15 * time.Minute

// await waits until every server named has its deliveries, checks that each
// is of the type asked, verified and accepted, and returns when the last
// arrived.
func (fv *fediverse) await(ctx context.Context, arg awaitRequest) (arrivals, error) {
	ctx, cancel := context.WithTimeout(ctx, awaitLimit)
	defer cancel()
	var found arrivals
	for k, s := range arg.Servers {
		deliveries, err := fv.servers[s].WaitDeliveries(ctx, arg.From[k]+arg.Want[k])
		if err != nil {
			return arrivals{}, err
		}
		for _, d := range deliveries[arg.From[k]:] {
			if d.Type() != arg.Type || !d.Verified || d.Status != http.StatusAccepted {
				return arrivals{}, fmt.Errorf("unexpected delivery %v", d)
			}
			if d.At.After(found.Last) {
				found.Last = d.At
			}
			if found.First.IsZero() || d.At.Before(found.First) {
				found.First = d.At
			}
			found.Deliveries++
		}
	}
	for k, s := range arg.Failing {
		for _, d := range fv.servers[s].Deliveries()[arg.FailingFrom[k]:] {
			if !d.At.After(found.Last) {
				found.FailingBefore++
			}
		}
	}
	return found, nil
}

// failRequest names the servers that answer deliveries with 503 and those
// that never answer.
type failRequest struct {
	Unavailable []int `json:"unavailable"`
	Hanging     []int `json:"hanging"`
}

func (fv *fediverse) fail(_ context.Context, arg failRequest) (struct{}, error) {
	for _, s := range arg.Unavailable {
		fv.servers[s].SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable})
	}
	for _, s := range arg.Hanging {
		fv.servers[s].SetFailure(fedtest.Failure{Hang: true})
	}
	return struct{}{}, nil
}

// peak is the child's own peak resident memory, reported beside Hearth's.
func (fv *fediverse) peak(context.Context, struct{}) (int64, error) { return peakRSS(), nil }

// remoteFediverse is the benchmark's handle on the child process.
type remoteFediverse struct {
	b       *testing.B
	addr    string
	control *http.Client
}

// startFediverse runs the fake fediverse in a child process and returns
// once it listens. The child stops when the benchmark ends.
func startFediverse(b *testing.B, cfg fediverseConfig) *remoteFediverse {
	b.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := startChild(b, "TestFakeFediverseProcess", []string{fediverseEnv + "=" + string(raw)}, listeningPrefix)
	control := &http.Transport{DialContext: dialer(c.addr)}
	b.Cleanup(control.CloseIdleConnections)
	return &remoteFediverse{b: b, addr: c.addr, control: &http.Client{Transport: control}}
}

// call runs one of the child's control functions.
func call[Result any](fv *remoteFediverse, name string, arg any) Result {
	fv.b.Helper()
	var result Result
	if err := fv.call(name, arg, &result); err != nil {
		fv.b.Fatalf("fake fediverse %s: %v", name, err)
	}
	return result
}

func (fv *remoteFediverse) call(name string, arg, result any) error {
	body, err := json.Marshal(arg)
	if err != nil {
		return err
	}
	resp, err := fv.control.Post("http://"+controlHost+"/"+name, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return errors.New(resp.Status + ": " + string(msg))
	}
	return json.NewDecoder(resp.Body).Decode(result)
}

// Dial connects to the child's listener whatever host is asked for: the
// child tells its servers apart by the Host header.
func (fv *remoteFediverse) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialer(fv.addr)(ctx, network, addr)
}
