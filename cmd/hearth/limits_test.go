package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
)

// relayBound is how long a member's post may take to be relayed while
// another server floods the inbox.
const relayBound = 2 * time.Second

// TestAFloodFromOneServerDoesNotHoldUpAnother has a server send one signed
// delivery 1,000 times as fast as it can, from many addresses at once,
// against a tenth of the shipped limits. Another server's member posts meanwhile: the
// post must be accepted before the flood ends and relayed promptly, the
// flood answered 429 beyond its server's budget, and the log must name the
// flooding server once.
func TestAFloodFromOneServerDoesNotHoldUpAnother(t *testing.T) {
	t.Parallel()
	shipped, err := LoadConfig("", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	limits := shipped.FederationConfig(nil).RateLimits
	// A tenth of the shipped rate: under the race detector or on a busy
	// machine the flood itself runs slower than the shipped rate, and would
	// never meet the limit.
	limits.PerHost, limits.PerHostBurst = limits.PerHost/10, limits.PerHostBurst/10
	// The flood comes through a proxy on the network's own address, each
	// request from another client, so that only the per-server limit can
	// stop it.
	limits.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	logs := &fedtest.LogBuffer{}
	h := startHearth(t, func(c *federation.Config) {
		c.RateLimits = limits
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	group := h.createGroup("grief", nil)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	mallory := h.network.NewInstance("flood.test").NewActor("mallory")
	replay := signedOnce(t, h.network.Client(), mallory, group+"/inbox", mallory.Follow(group))

	const floodSize = 1000
	var sent, refused, admitted atomic.Int64
	floodErrs := make(chan error, 16)
	firstRefusal, floodOver := make(chan struct{}), make(chan struct{})
	noteRefusal := sync.OnceFunc(func() { close(firstRefusal) })
	start := time.Now()
	var flood sync.WaitGroup
	for range 16 {
		flood.Go(func() {
			for n := sent.Add(1); n <= floodSize; n = sent.Add(1) {
				status, retryAfter, err := replay(fmt.Sprintf("198.18.%d.%d", n/256, n%256))
				switch {
				case err != nil:
					floodErrs <- err
					return
				case status == http.StatusTooManyRequests:
					if seconds, err := strconv.Atoi(retryAfter); err != nil || seconds < 1 {
						floodErrs <- fmt.Errorf("429 with Retry-After %q", retryAfter)
						return
					}
					refused.Add(1)
					noteRefusal()
				case status == http.StatusUnauthorized:
					admitted.Add(1)
				default:
					floodErrs <- fmt.Errorf("a flood request answered %d", status)
					return
				}
			}
		})
	}
	go func() {
		flood.Wait()
		close(floodOver)
	}()
	select {
	case <-firstRefusal:
	case err := <-floodErrs:
		t.Fatal(err)
	case <-floodOver:
		t.Fatalf("the whole flood was admitted")
	}

	create := alice.Create(publicNote(alice, group, "Still here."))
	posted := time.Now()
	mustPost(t, alice, group+"/inbox", create)
	select {
	case <-floodOver:
		t.Fatal("the flood was all answered before the post")
	default:
	}
	masto.AwaitDelivery(t, relayBound, func(d fedtest.Delivery) bool {
		return d.Type() == "Announce" && d.Activity["object"] == objectField(create, "id")
	})
	relayed := time.Since(posted)
	<-floodOver
	elapsed := time.Since(start)
	close(floodErrs)
	for err := range floodErrs {
		t.Error(err)
	}
	t.Logf("flood of %d: %d refused, %d admitted in %v; the post relayed %v after it was sent",
		floodSize, refused.Load(), admitted.Load(), elapsed, relayed)
	if refused.Load()+admitted.Load() != floodSize {
		t.Fatalf("%d of the flood answered", refused.Load()+admitted.Load())
	}
	if budget := int64(limits.PerHostBurst) + int64(elapsed.Seconds()*float64(limits.PerHost)) + 1; admitted.Load() > budget {
		t.Errorf("%d flood requests admitted in %v, over the budget of %d", admitted.Load(), elapsed, budget)
	}
	var lines []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "refusing requests over the rate limit") {
			lines = append(lines, line)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "host=flood.test") {
		t.Errorf("log lines about the flood:\n%s\nwant one, at INFO, naming flood.test", strings.Join(lines, "\n"))
	}
}

// signedOnce signs a delivery of activity once and returns a function that
// sends it again, as if forwarded for the client address from, with a body
// other than the one signed: a flood that costs its sender nothing, and
// that the inbox refuses with 401 without fetching anything.
func signedOnce(t *testing.T, client *http.Client, actor *fedtest.Actor, inbox string, activity any) func(from string) (status int, retryAfter string, err error) {
	t.Helper()
	body, err := json.Marshal(activity)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := http.NewRequest(http.MethodPost, inbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed.Header.Set("Content-Type", "application/activity+json")
	if err := actor.Sign(signed, body); err != nil {
		t.Fatal(err)
	}
	return func(from string) (int, string, error) {
		req, err := http.NewRequest(http.MethodPost, inbox, strings.NewReader(string(body)+" "))
		if err != nil {
			return 0, "", err
		}
		req.Header = signed.Header.Clone()
		req.Header.Set("X-Forwarded-For", from)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After"), nil
	}
}

// TestWhatServersAskForIsLimitedPerAddress sends, from one address per
// path, requests until the per-address limit answers 429: every path other
// servers use is limited, the health check and home page are not.
func TestWhatServersAskForIsLimitedPerAddress(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) {
		c.RateLimits = federation.RateLimits{PerIP: 1, PerIPBurst: 2,
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	})
	h.createGroup("grief", nil)
	client := h.network.Client()
	send := func(method, path, from string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+hearthHost+path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/activity+json")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	limited := []struct{ method, path string }{
		{"GET", "/.well-known/webfinger?resource=acct:grief@" + hearthHost},
		{"GET", "/.well-known/host-meta"},
		{"GET", "/.well-known/nodeinfo"},
		{"GET", "/nodeinfo/2.1"},
		{"GET", "/actor"},
		{"GET", "/g/grief"},
		{"GET", "/g/grief/outbox"},
		{"GET", "/g/grief/followers"},
		{"GET", "/g/grief/notes/unknown"},
		{"HEAD", "/g/grief/activities/unknown"},
		{"POST", "/inbox"},
		{"POST", "/g/grief/inbox"},
	}
	for i, route := range limited {
		from := fmt.Sprintf("192.0.2.%d", i+1)
		for n := range 2 {
			if resp := send(route.method, route.path, from); resp.StatusCode == http.StatusTooManyRequests {
				t.Errorf("%s %s: request %d of a burst of 2 refused", route.method, route.path, n+1)
			}
		}
		// At one request a second, a request or two more may slip in on a
		// slow machine, but no more.
		for n := 0; ; n++ {
			resp := send(route.method, route.path, from)
			if resp.StatusCode == http.StatusTooManyRequests {
				if resp.Header.Get("Retry-After") != "1" {
					t.Errorf("%s %s: 429 with Retry-After %q, want 1", route.method, route.path, resp.Header.Get("Retry-After"))
				}
				break
			}
			if n == 10 {
				t.Errorf("%s %s: never refused past the limit", route.method, route.path)
				break
			}
		}
	}
	for _, path := range []string{"/healthz", "/"} {
		for range 5 {
			if resp := send("GET", path, "198.51.100.1"); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s from one address: %d, want 200 every time", path, resp.StatusCode)
			}
		}
	}
}
