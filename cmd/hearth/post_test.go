package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation/fedtest"
)

// send posts a signed activity to inbox and fails the test unless it is
// accepted.
func send(t *testing.T, a *fedtest.Actor, inbox string, activity map[string]any) {
	t.Helper()
	resp, err := a.Post(context.Background(), inbox, activity)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("%s: status %d", activity["type"], resp.StatusCode)
	}
}

// anonymousMessage is a member's direct message to the group asking to
// post anonymously.
func anonymousMessage(group, text string) map[string]any {
	return map[string]any{
		"content": `<p><span class="h-card"><a href="` + group + `" class="u-url mention">@<span>circle</span></a></span> !anon ` + text + `</p>`,
		"to":      []any{group},
		"tag":     []any{map[string]any{"type": "Mention", "href": group}},
	}
}

// TestModeratorsAndHeldPostsFromTheCLI names a moderator and decides held
// anonymous posts from the command line while the server runs.
func TestModeratorsAndHeldPostsFromTheCLI(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	m := MustRunMain(t, nil, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", m.HTTPServer.Handler)
	getenv := env(m)
	mustHearth(t, getenv, "group", "create", "circle", "--visibility", "private", "--anonymous", "--content-warning", "grief")
	if out := mustHearth(t, getenv, "group", "show", "circle"); !regexp.MustCompile(`anonymous posts:\s+true\n`).MatchString(out) ||
		!regexp.MustCompile(`content warning:\s+grief\n`).MatchString(out) {
		t.Errorf("group show does not show the new settings:\n%s", out)
	}
	group := m.Service.IRIs().Group("circle")

	masto, mods := network.NewInstance("mastodon.test"), network.NewInstance("mods.test")
	alice, keeper := masto.NewActor("alice"), mods.NewActor("keeper")
	send(t, alice, group+"/inbox", alice.Follow(group))
	mustHearth(t, getenv, "member", "approve", "circle", "alice@mastodon.test")
	// The moderator's server has signed a request to us, so the CLI knows the
	// account without looking it up.
	send(t, keeper, group+"/inbox", keeper.Follow(group))

	if out := mustHearth(t, getenv, "mod", "list", "circle"); !strings.Contains(out, "circle has no moderators") {
		t.Errorf("mod list before any: %q", out)
	}
	if out := mustHearth(t, getenv, "mod", "add", "circle", "keeper@mods.test"); !strings.Contains(out, "@keeper@mods.test made a moderator in circle") {
		t.Errorf("mod add said %q", out)
	}
	if out := mustHearth(t, getenv, "mod", "list", "circle"); out != "@keeper@mods.test\n" {
		t.Errorf("mod list = %q", out)
	}

	send(t, alice, group+"/inbox", alice.Create(anonymousMessage(group, "I could not get out of bed today.")))
	mods.AwaitDelivery(t, 5*time.Second, fedtest.OfType("Create"))
	pending := mustHearth(t, getenv, "post", "pending", "circle")
	if !strings.Contains(pending, "@alice@mastodon.test") || !strings.Contains(pending, "I could not get out of bed today.") {
		t.Fatalf("post pending does not show the post and its author:\n%s", pending)
	}
	url := strings.Fields(pending)[0]
	if out := mustHearth(t, getenv, "post", "release", "circle", url); !strings.Contains(out, "Released "+url) {
		t.Errorf("release said %q", out)
	}
	published := masto.AwaitDelivery(t, 5*time.Second, func(d fedtest.Delivery) bool {
		object, _ := d.Activity["object"].(map[string]any)
		return d.Type() == "Create" && object["id"] == url
	})
	if strings.Contains(string(published.Raw), "alice") || !strings.Contains(string(published.Raw), `"summary":"grief"`) {
		t.Errorf("the released post names its author or lacks the group's warning: %s", published.Raw)
	}
	if out := mustHearth(t, getenv, "post", "pending", "circle"); !strings.Contains(out, "No posts wait") {
		t.Errorf("post pending after release: %q", out)
	}

	send(t, alice, group+"/inbox", alice.Create(anonymousMessage(group, "Never mind.")))
	url = strings.Fields(mustHearth(t, getenv, "post", "pending", "circle"))[0]
	mustHearth(t, getenv, "post", "decline", "circle", url)
	masto.AwaitDelivery(t, 5*time.Second, func(d fedtest.Delivery) bool {
		object, _ := d.Activity["object"].(map[string]any)
		content, _ := object["content"].(string)
		return d.Type() == "Create" && strings.Contains(content, "decided not to publish")
	})

	mustHearth(t, getenv, "mod", "remove", "circle", "@keeper@mods.test")
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"post", "release", "circle", url}, 1, "no post waits for a moderator at this address (it was declined already)"},
		{[]string{"post", "release", "circle"}, 2, "want GROUP URL"},
		{[]string{"post", "pending", "nosuch"}, 1, "no such group"},
		{[]string{"mod", "remove", "circle", "keeper@mods.test"}, 1, "keeper@mods.test is not a moderator of the group"},
		{[]string{"mod", "add", "circle"}, 2, "want GROUP ACCOUNT"},
		{[]string{"group", "update", "circle", "--anonymous=maybe"}, 2, "must be true or false"},
	} {
		code, _, stderr := hearth(t, getenv, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("hearth %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.stderr)
		}
	}
}

// TestPostPendingCannotBeRewrittenByAPost: an anonymous post is plain text
// once its markup is gone, and character references in it become the
// characters they name; none of them may reach the moderator's terminal.
func TestPostPendingCannotBeRewrittenByAPost(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	m := MustRunMain(t, nil, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", m.HTTPServer.Handler)
	getenv := env(m)
	mustHearth(t, getenv, "group", "create", "circle", "--visibility", "private", "--anonymous")
	group := m.Service.IRIs().Group("circle")
	alice := network.NewInstance("mastodon.test").NewActor("alice")
	send(t, alice, group+"/inbox", alice.Follow(group))
	mustHearth(t, getenv, "member", "approve", "circle", "alice@mastodon.test")

	note := anonymousMessage(group, "&#27;[2J&#27;[H&#x202e;All is well here.")
	note["summary"] = "\u009b31mnothing to see"
	send(t, alice, group+"/inbox", alice.Create(note))
	pending := mustHearth(t, getenv, "post", "pending", "circle")
	if strings.ContainsAny(pending, "\x1b\u202e\u009b") {
		t.Errorf("post pending passes control characters to the terminal:\n%q", pending)
	}
	for _, want := range []string{"All is well here.", "nothing to see"} {
		if !strings.Contains(pending, want) {
			t.Errorf("post pending lacks %q:\n%s", want, pending)
		}
	}
}
