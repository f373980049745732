package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// TestBlockedDomainIsRefusedHoweverItSpellsItsHost: a server writes its own
// ids, and "blocked.example." (fully qualified), "BLOCKED.example" or, for
// bücher.example, "xn--bcher-kva.example." name the blocked server as much
// as the plain spelling does. None of them may join, and nothing is sent
// to them.
func TestBlockedDomainIsRefusedHoweverItSpellsItsHost(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) { c.Block = []string{"blocked.example", "BÜCHER.example."} })
	group := h.createGroup("grief", nil)
	blocked := h.network.NewInstance("blocked.example")
	sub := h.network.NewInstance("sub.blocked.example")
	books := h.network.NewInstance("xn--bcher-kva.example")
	for _, a := range []*fedtest.Actor{
		blocked.NewActorSpelled("dot", "blocked.example."),
		blocked.NewActorSpelled("upper", "BLOCKED.example"),
		blocked.NewActorSpelled("both", "Blocked.Example."),
		sub.NewActorSpelled("sub", "sub.blocked.example."),
		books.NewActorSpelled("books", "xn--bcher-kva.example."),
	} {
		if status := post(t, a, group+"/inbox", a.Follow(group)); status != http.StatusForbidden {
			t.Errorf("follow from %s: status %d, want 403", a.ID, status)
		}
	}
	// A refusal is answered before anything is stored: nothing can be on
	// its way to them.
	if stats := queueStats(t, h.store); stats.Queued != 0 {
		t.Errorf("%d deliveries queued after refused follows, want none", stats.Queued)
	}
	for _, inst := range []*fedtest.Instance{blocked, sub, books} {
		if got := inst.Deliveries(); len(got) > 0 {
			t.Errorf("%s, blocked, was sent %v", inst.Host, got)
		}
	}
}

func queueStats(t *testing.T, store *storage.Store) storage.QueueStats {
	t.Helper()
	var stats storage.QueueStats
	err := store.View(context.Background(), func(tx *storage.Tx) (err error) {
		stats, err = tx.QueueStats()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// getStatus fetches url as actor with a signed GET and returns the status.
func getStatus(t *testing.T, actor *fedtest.Actor, url string) int {
	t.Helper()
	resp, err := actor.Get(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// awaitStatus polls a signed GET of url by actor until it answers want,
// for at most within: the running server takes up domain rules changed
// from the command line by itself.
func awaitStatus(t *testing.T, actor *fedtest.Actor, url string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		status := getStatus(t, actor, url)
		if status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s signed by %s: still %d after %v, want %d", url, actor.ID, status, within, want)
		}
		<-poll.C
	}
}

// awaitQueued waits until n deliveries are queued, no more and no fewer;
// with none queued, nothing more is sent.
func awaitQueued(t *testing.T, store *storage.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for queueStats(t, store).Queued != n {
		if time.Now().After(deadline) {
			t.Fatalf("want %d deliveries queued, have after %v: %+v", n, wait, queueStats(t, store))
		}
		<-poll.C
	}
}

// TestDomainBlockFromTheCLIReachesTheRunningServer blocks a domain with
// "hearth domain block" beside a running server: its members are gone at
// once, what was queued for it is dropped, the server refuses it within
// two seconds, and what the group relays afterwards reaches everyone else
// but not it.
func TestDomainBlockFromTheCLIReachesTheRunningServer(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	cfg := testConfig(t)
	cfg.Federation.Block = []string{"worse.example"}
	m := MustRunMain(t, &cfg, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", m.HTTPServer.Handler)
	getenv := env(m, "HEARTH_FEDERATION_BLOCK=worse.example")
	mustHearth(t, getenv, "group", "create", "circle")
	group := m.Service.IRIs().Group("circle")

	masto := network.NewInstance("mastodon.test")
	spam := network.NewInstance("spam.example")
	chat := network.NewInstance("chat.spam.example")
	alice, sam, carl := masto.NewActor("alice"), spam.NewActor("sam"), chat.NewActor("carl")
	join(t, alice, masto, group)
	join(t, sam, spam, group)
	join(t, carl, chat, group)

	// spam.example is down when alice posts: its copy waits in the queue.
	spam.SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable})
	first := alice.Create(publicNote(alice, group, "Before the block."))
	mustPost(t, alice, group+"/inbox", first)
	spam.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Status == http.StatusServiceUnavailable })
	awaitBoost(t, chat, objectField(first, "id").(string))
	awaitQueued(t, m.Store, 1)
	spam.SetFailure(fedtest.Failure{})
	before := map[*fedtest.Instance]int{spam: len(spam.Deliveries()), chat: len(chat.Deliveries())}

	out := mustHearth(t, getenv, "domain", "block", "Spam.Example.", "--reason", "spam wave")
	for _, want := range []string{"Blocked spam.example and its subdomains", "Memberships ended: 2.", "Queued deliveries dropped: 1."} {
		if !strings.Contains(out, want) {
			t.Errorf("domain block said %q, want %q", out, want)
		}
	}
	if list := mustHearth(t, getenv, "member", "list", "circle"); !strings.Contains(list, "@alice@mastodon.test") || strings.Contains(list, "spam.example") {
		t.Errorf("members after the block:\n%s", list)
	}

	awaitStatus(t, sam, group, http.StatusForbidden, 2*time.Second)
	refused := []*fedtest.Actor{sam, carl,
		spam.NewActorSpelled("dot", "spam.example."),
		spam.NewActorSpelled("upper", "SPAM.Example"),
		network.NewInstance("deep.chat.spam.example").NewActor("dana"),
		network.NewInstance("worse.example").NewActor("wes"),
	}
	for _, a := range refused {
		if status := post(t, a, group+"/inbox", a.Follow(group)); status != http.StatusForbidden {
			t.Errorf("follow from %s: status %d, want 403", a.ID, status)
		}
		if status := getStatus(t, a, group+"/outbox"); status != http.StatusForbidden {
			t.Errorf("signed fetch of the outbox by %s: status %d, want 403", a.ID, status)
		}
	}

	second := alice.Create(publicNote(alice, group, "After the block."))
	mustPost(t, alice, group+"/inbox", second)
	awaitBoost(t, masto, objectField(second, "id").(string))
	awaitQueued(t, m.Store, 0)
	for inst, n := range before {
		if got := inst.Deliveries(); len(got) != n {
			t.Errorf("%s was sent %v after it was blocked", inst.Host, got[n:])
		}
	}

	list := mustHearth(t, getenv, "domain", "list")
	if line := ruleLine(list, "block", "spam.example"); !strings.Contains(line, "hearth domain") || !strings.HasSuffix(line, "spam wave") {
		t.Errorf("domain list shows the block of spam.example as %q:\n%s", line, list)
	}
	if line := ruleLine(list, "block", "worse.example"); !strings.Contains(line, " config ") {
		t.Errorf("domain list shows the configuration's block of worse.example as %q:\n%s", line, list)
	}
	covering := mustHearth(t, getenv, "domain", "list", "Deep.Chat.Spam.Example.")
	if !strings.Contains(covering, "deep.chat.spam.example is refused.") || ruleLine(covering, "block", "spam.example") == "" ||
		strings.Contains(covering, "worse.example") {
		t.Errorf("domain list for a subdomain:\n%s", covering)
	}
}

// ruleLine returns the line of "hearth domain list" output for the rule,
// trimmed, or "".
func ruleLine(out, policy, domain string) string {
	for line := range strings.Lines(out) {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == policy && fields[1] == domain {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// TestDomainAllowlistFromTheCLI: in allowlist mode only allowed domains
// get in, and allowing or disallowing one reaches the running server
// within two seconds.
func TestDomainAllowlistFromTheCLI(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	cfg := testConfig(t)
	cfg.Federation.Mode = string(federation.ModeAllowlist)
	cfg.Federation.Allow = []string{"mastodon.test"}
	m := MustRunMain(t, &cfg, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", m.HTTPServer.Handler)
	getenv := env(m, "HEARTH_FEDERATION_MODE=allowlist", "HEARTH_FEDERATION_ALLOW=mastodon.test")
	mustHearth(t, getenv, "group", "create", "circle")
	group := m.Service.IRIs().Group("circle")

	masto, friends := network.NewInstance("mastodon.test"), network.NewInstance("friends.example")
	alice, fran := masto.NewActor("alice"), friends.NewActor("fran")
	join(t, alice, masto, group)
	if status := post(t, fran, group+"/inbox", fran.Follow(group)); status != http.StatusForbidden {
		t.Fatalf("follow from a domain not allowed: status %d, want 403", status)
	}

	out := mustHearth(t, getenv, "domain", "allow", "Friends.Example.", "--reason", "sister community")
	if !strings.Contains(out, "Allowed friends.example and its subdomains.") || strings.Contains(out, "allowlist mode") {
		t.Errorf("domain allow said %q", out)
	}
	awaitStatus(t, fran, group, http.StatusOK, 2*time.Second)
	join(t, fran, friends, group)
	list := mustHearth(t, getenv, "domain", "list")
	if line := ruleLine(list, "allow", "friends.example"); !strings.HasSuffix(line, "sister community") {
		t.Errorf("domain list shows the allow of friends.example as %q:\n%s", line, list)
	}
	if line := ruleLine(list, "allow", "mastodon.test"); !strings.Contains(line, " config ") {
		t.Errorf("domain list shows the configuration's allow of mastodon.test as %q:\n%s", line, list)
	}

	// friends.example is down when alice posts: its copy waits in the queue.
	friends.SetFailure(fedtest.Failure{Status: http.StatusServiceUnavailable})
	welcome := alice.Create(publicNote(alice, group, "Welcome, friends."))
	mustPost(t, alice, group+"/inbox", welcome)
	friends.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Status == http.StatusServiceUnavailable })
	awaitBoost(t, masto, objectField(welcome, "id").(string))
	awaitQueued(t, m.Store, 1)
	friends.SetFailure(fedtest.Failure{})
	sent := len(friends.Deliveries())

	if out := mustHearth(t, getenv, "domain", "disallow", "friends.example"); !strings.Contains(out, "Took friends.example off the allowlist.") {
		t.Errorf("domain disallow said %q", out)
	}
	awaitStatus(t, fran, group, http.StatusForbidden, 2*time.Second)
	// What waited for friends.example is dropped, not sent when it is up.
	awaitQueued(t, m.Store, 0)
	if got := friends.Deliveries(); len(got) != sent {
		t.Errorf("friends.example was sent %v after it was disallowed", got[sent:])
	}
	if status := post(t, fran, group+"/inbox", fran.Undo(fran.Follow(group))); status != http.StatusForbidden {
		t.Errorf("undo from a disallowed domain: status %d, want 403", status)
	}
}

func TestDomainCommandErrors(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	getenv := envOf(map[string]string{"HEARTH_STORAGE_DRIVER": cfg.Storage.Driver, "HEARTH_STORAGE_DSN": cfg.Storage.DSN, "HEARTH_STORAGE_PATH": cfg.Storage.Path, "HEARTH_FEDERATION_BLOCK": "worse.example"})
	mustHearth(t, getenv, "domain", "block", "spam.example")
	if out := mustHearth(t, getenv, "domain", "allow", "friends.example"); !strings.Contains(out, "allowed domains matter only in allowlist mode") {
		t.Errorf("allowing in open mode said %q", out)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"domain", "block", "spam.example:8443"}, 1, `hearth: "spam.example:8443": a rule names a domain, not a server: leave out the port`},
		{[]string{"domain", "allow", "friends.example:443"}, 1, `hearth: "friends.example:443": a rule names a domain, not a server: leave out the port`},
		{[]string{"domain", "block", "https://spam.example"}, 1, `hearth: "https://spam.example": must be a bare domain name, like example.social`},
		{[]string{"domain", "block", "spam.example/users/sam"}, 1, `hearth: "spam.example/users/sam": must be a bare domain name, like example.social`},
		{[]string{"domain", "block", "sam@spam.example"}, 1, `hearth: "sam@spam.example": must be a bare domain name, like example.social`},
		{[]string{"domain", "block", "spam..example"}, 1, `hearth: "spam..example": must be a bare domain name, like example.social`},
		{[]string{"domain", "list", "spam.example:8443"}, 1, `hearth: "spam.example:8443": a rule names a domain, not a server: leave out the port`},
		{[]string{"domain", "unblock", "worse.example"}, 1, `hearth: worse.example is blocked by federation.block in the configuration; remove it there`},
		{[]string{"domain", "unblock", "chat.spam.example"}, 1, `hearth: chat.spam.example has no block rule of its own: it is blocked as part of spam.example`},
		{[]string{"domain", "unblock", "other.example"}, 1, `hearth: other.example is not blocked`},
		{[]string{"domain", "disallow", "spam.example"}, 1, `hearth: spam.example is not allowed`},
		{[]string{"domain", "block"}, 2, `hearth: missing DOMAIN (see "hearth domain block --help")`},
		{[]string{"domain", "block", "a.example", "b.example"}, 2, `hearth: unexpected argument "b.example" (see "hearth domain block --help")`},
		{[]string{"domain", "unblock", "spam.example", "--reason", "x"}, 2, `hearth: flag provided but not defined: -reason (see "hearth domain unblock --help")`},
	} {
		code, stdout, stderr := hearth(t, getenv, tc.args...)
		if code != tc.code || stderr != tc.stderr+"\n" || stdout != "" {
			t.Errorf("hearth %s\n got exit %d, stdout %q, stderr %q\nwant exit %d, stderr %q",
				strings.Join(tc.args, " "), code, stdout, stderr, tc.code, tc.stderr)
		}
	}
	if out := mustHearth(t, getenv, "domain", "unblock", "SPAM.example."); !strings.Contains(out, "Unblocked spam.example.") {
		t.Errorf("unblock said %q", out)
	}
	if out := mustHearth(t, getenv, "domain", "disallow", "friends.example"); !strings.Contains(out, "Took friends.example off the allowlist.") {
		t.Errorf("disallow said %q", out)
	}
	list := mustHearth(t, getenv, "domain", "list")
	if ruleLine(list, "block", "spam.example") != "" || ruleLine(list, "allow", "friends.example") != "" || ruleLine(list, "block", "worse.example") == "" {
		t.Errorf("domain list after unblock and disallow:\n%s", list)
	}
}

// TestConfiguredBlockEndsMembershipsAtStart: a domain added to
// federation.block while the server was stopped loses its members when
// the server starts, as one blocked from the command line does at once.
func TestConfiguredBlockEndsMembershipsAtStart(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	cfg := testConfig(t)
	first := MustRunMain(t, &cfg, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", first.HTTPServer.Handler)
	mustHearth(t, env(first), "group", "create", "circle")
	group := first.Service.IRIs().Group("circle")
	masto, spam := network.NewInstance("mastodon.test"), network.NewInstance("spam.example")
	join(t, masto.NewActor("alice"), masto, group)
	join(t, spam.NewActor("sam"), spam, group)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Federation.Block = []string{"Spam.Example."}
	second := MustRunMain(t, &cfg)
	list := mustHearth(t, env(second, "HEARTH_FEDERATION_BLOCK=Spam.Example."), "member", "list", "circle")
	if !strings.Contains(list, "@alice@mastodon.test") || strings.Contains(list, "spam.example") {
		t.Errorf("members after a restart with spam.example blocked:\n%s", list)
	}
}
