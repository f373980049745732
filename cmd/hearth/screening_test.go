package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

func TestJoinRequestsAnswerTheGroupsQuestions(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	h := startHearth(t, func(c *federation.Config) { c.TidyEvery = 20 * time.Millisecond }, storage.WithClock(clock.now))
	group := h.createGroup("grief", func(g *storage.Group) {
		g.Join = storage.JoinApproval
		g.Questions = []string{"Whom did you lose?", "Have you read the rules?"}
		g.TrustedDomains = []string{"trusted.test"}
	})
	mods, keeper := moderator(t, h, group)
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	ctx := context.Background()

	follow := alice.Follow(group)
	mustPost(t, alice, group+"/inbox", follow)
	if notice := messageTo(t, mods, group, keeper, "alice@mastodon.test asks to join grief"); !strings.Contains(notice["content"].(string), "sent the group's questions") {
		t.Errorf("the moderators are not told that questions were asked: %s", notice["content"])
	}
	questions := messageTo(t, masto, group, alice, "1. Whom did you lose?<br>2. Have you read the rules?")

	reply := directMessage(group, "My mother, in May. Yes, I have.")
	reply["inReplyTo"] = questions["id"]
	mustPost(t, alice, group+"/inbox", alice.Create(reply))
	answer := messageTo(t, mods, group, keeper, "alice@mastodon.test, who asks to join grief, answered its questions")
	content := answer["content"].(string)
	if !strings.Contains(content, "My mother, in May. Yes, I have.") ||
		!strings.HasSuffix(content, "<p>approve alice@mastodon.test<br>reject alice@mastodon.test</p>") {
		t.Errorf("the moderators' notice of the answer: %s", content)
	}
	messageTo(t, masto, group, alice, "your answer was passed to the moderators")
	pending, err := h.svc.Members(ctx, "grief", storage.Pending)
	if err != nil || len(pending) != 1 || pending[0].Membership.Answer != "My mother, in May. Yes, I have." {
		t.Errorf("pending requests %+v, %v; want alice's, with her answer", pending, err)
	}
	if list := order(t, keeper, mods, group, "pending"); !strings.Contains(list, "who answered: My mother, in May.") {
		t.Errorf("pending: %q", list)
	}
	if got := order(t, keeper, mods, group, "approve alice@mastodon.test"); !strings.Contains(got, "is now a member") {
		t.Errorf("approve: %q", got)
	}
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Type() == "Accept" && objectField(d.Activity, "id") == follow["id"]
	})
	if members, _ := h.svc.Members(ctx, "grief", storage.Member); len(members) != 1 || members[0].Membership.Answer != "" {
		t.Errorf("members %+v; want alice, her answer gone with the request", members)
	}

	// Someone from a trusted server joins at once, unasked.
	trusted := h.network.NewInstance("trusted.test")
	join(t, trusted.NewActor("carol"), trusted, group)

	// A request nobody answers is turned down a week after it was made,
	// even when it is made again meanwhile.
	mustPost(t, bob, group+"/inbox", bob.Follow(group))
	messageTo(t, masto, group, bob, "Whom did you lose?")
	clock.advance(4 * 24 * time.Hour)
	mustPost(t, bob, group+"/inbox", bob.Follow(group))
	clock.advance(4 * 24 * time.Hour)
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Verified && d.Type() == "Reject" && d.Inbox == bob.Inbox })
	if pending, _ := h.svc.Members(ctx, "grief", storage.Pending); len(pending) != 0 {
		t.Errorf("still pending after a week without an answer: %+v", pending)
	}
}

func TestSafetySettingsFromTheCLI(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	getenv := func(name string) string {
		return map[string]string{"HEARTH_STORAGE_DRIVER": cfg.Storage.Driver, "HEARTH_STORAGE_DSN": cfg.Storage.DSN, "HEARTH_STORAGE_PATH": cfg.Storage.Path}[name]
	}
	created := mustHearth(t, getenv, "group", "create", "grief", "--join", "approval", "--hold", "new", "--hold-days", "3",
		"--non-members", "hold", "--question", "Whom did you lose?", "--question", "Have you read the rules?", "--trust", "Friends.Example.")
	if !strings.Contains(created, "Created group grief") {
		t.Errorf("create: %q", created)
	}
	show := mustHearth(t, getenv, "group", "show", "grief")
	for _, want := range []string{"new (new: 3 days, 1 posts; more than 3 groups mentioned)", "non-members:", "hold",
		"Whom did you lose?\n", "Have you read the rules?", "friends.example"} {
		if !strings.Contains(show, want) {
			t.Errorf("group show lacks %q:\n%s", want, show)
		}
	}
	updated := mustHearth(t, getenv, "group", "update", "grief", "--question", "Why join?", "--no-trust", "--hold-mentions", "5")
	if strings.Contains(updated, "Whom did you lose?") || !strings.Contains(updated, "Why join?") ||
		strings.Contains(updated, "friends.example") || !strings.Contains(updated, "more than 5 groups") {
		t.Errorf("update replaced less or more than asked:\n%s", updated)
	}
	if updated := mustHearth(t, getenv, "group", "update", "grief", "--no-questions"); strings.Contains(updated, "Why join?") {
		t.Errorf("--no-questions kept a question:\n%s", updated)
	}
	for _, args := range [][]string{
		{"--hold", "some"},
		{"--hold-days", "0"},
		{"--question", "a", "--question", "b", "--question", "c", "--question", "d"},
		{"--trust", "example.org/path"},
	} {
		if code, _, stderr := hearth(t, getenv, append([]string{"group", "update", "grief"}, args...)...); code != 2 {
			t.Errorf("update %v: exit %d, want 2 (usage); stderr %q", args, code, stderr)
		}
	}
}
