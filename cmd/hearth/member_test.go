package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation/fedtest"
)

// TestApprovalFromTheCLIReachesTheRunningServer runs the server and, beside
// it on the same database, the CLI: the approval's Accept goes out from the
// server without a restart.
func TestApprovalFromTheCLIReachesTheRunningServer(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	m := MustRunMain(t, nil, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", m.HTTPServer.Handler)
	getenv := env(m)
	mustHearth(t, getenv, "group", "create", "circle", "--join", "approval")
	group := m.Service.IRIs().Group("circle")

	masto := network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	for _, a := range []*fedtest.Actor{alice, bob} {
		resp, err := a.Post(context.Background(), group+"/inbox", a.Follow(group))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("follow: status %d", resp.StatusCode)
		}
	}
	list := mustHearth(t, getenv, "member", "list", "circle")
	for _, want := range []string{"pending", "@alice@mastodon.test", "@bob@mastodon.test"} {
		if !strings.Contains(list, want) {
			t.Errorf("member list lacks %q:\n%s", want, list)
		}
	}

	out := mustHearth(t, getenv, "member", "approve", "circle", "alice@mastodon.test")
	if !strings.Contains(out, "@alice@mastodon.test approved in circle") {
		t.Errorf("approve said %q", out)
	}
	accept := masto.AwaitDelivery(t, 5*time.Second, fedtest.OfType("Accept"))
	if accept.Inbox != alice.Inbox {
		t.Errorf("accept went to %s, want alice's inbox", accept.Inbox)
	}
	mustHearth(t, getenv, "member", "reject", "circle", "@bob@mastodon.test")
	masto.AwaitDelivery(t, 5*time.Second, fedtest.OfType("Reject"))
	mustHearth(t, getenv, "member", "ban", "circle", alice.ID)
	if out := mustHearth(t, getenv, "member", "list", "circle", "--state", "banned"); !strings.Contains(out, "@alice@mastodon.test") {
		t.Errorf("banned list = %q", out)
	}
	mustHearth(t, getenv, "member", "unban", "circle", "alice@mastodon.test")

	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"member", "approve", "circle", "bob@mastodon.test"}, 1, "has no pending request to join"},
		{[]string{"member", "unban", "circle", "bob@mastodon.test"}, 1, "is not banned"},
		{[]string{"member", "approve", "nosuch", "bob@mastodon.test"}, 1, "no such group"},
		{[]string{"member", "approve", "circle", "not an account"}, 1, "an account is user@host, @user@host or an actor URL"},
		{[]string{"member", "approve", "circle"}, 2, "want GROUP ACCOUNT"},
		{[]string{"member", "list", "circle", "--state", "maybe"}, 2, "must be member, pending or banned"},
	} {
		code, _, stderr := hearth(t, getenv, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("hearth %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.stderr)
		}
	}
}

// TestMemberListCannotBeRewrittenByAnAccount: a server chooses its
// accounts' usernames and ids, and neither may rewrite the administrator's
// terminal, add lines to the list or change what a line seems to say.
func TestMemberListCannotBeRewrittenByAnAccount(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	m := MustRunMain(t, nil, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", m.HTTPServer.Handler)
	getenv := env(m)
	mustHearth(t, getenv, "group", "create", "circle", "--join", "approval")
	group := m.Service.IRIs().Group("circle")

	masto := network.NewInstance("mastodon.test")
	mallory, eve := masto.NewActor("mallory"), masto.NewActor("eve\u202eliame")
	mallory.Overrides = map[string]any{"preferredUsername": "\x1b[2J\x1b[Halice\nbanned   @bob@mastodon.test"}
	eve.Overrides = map[string]any{"preferredUsername": ""} // so that the list shows her id
	send(t, mallory, group+"/inbox", mallory.Follow(group))
	send(t, eve, group+"/inbox", eve.Follow(group))

	list := mustHearth(t, getenv, "member", "list", "circle")
	lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	if len(lines) != 3 || strings.ContainsAny(list, "\x1b\u202e") {
		t.Fatalf("member list has %d lines (want a header and two accounts) or control characters:\n%q", len(lines), list)
	}
	for _, want := range []string{mallory.ID, `http://mastodon.test/users/eve\u202eliame`} {
		if !strings.Contains(list, want) {
			t.Errorf("member list lacks %q:\n%s", want, list)
		}
	}
}
