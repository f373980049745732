package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// holdLines matches the two lines a moderator is given for a held post.
var holdLines = regexp.MustCompile(`<p>release ([^\s<]+)<br>decline ([^\s<]+)</p>$`)

// heldNotice waits for the moderator's notice of a held post whose text or
// reason contains text, checks that it ends with the two lines to send
// back, and returns the post's address they name.
func heldNotice(t *testing.T, mods *fedtest.Instance, group string, keeper *fedtest.Actor, text string) (content, url string) {
	t.Helper()
	notice := messageTo(t, mods, group, keeper, text)
	content = notice["content"].(string)
	m := holdLines.FindStringSubmatch(content)
	if m == nil || m[1] != m[2] {
		t.Fatalf("the notice does not end with the release and decline lines: %s", content)
	}
	return content, m[1]
}

// awaitRelayed waits for the group's relay of create in both forms: the
// boost, at a Mastodon server, and the FEP-1b12 Announce of the Create, at
// a Lemmy server.
func awaitRelayed(t *testing.T, masto, lemmy *fedtest.Instance, create map[string]any) {
	t.Helper()
	awaitBoost(t, masto, objectField(create, "id").(string))
	awaitWrapped(t, lemmy, create["id"].(string))
}

func TestNewMembersPostsWaitForAModerator(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	h := startHearth(t, nil, storage.WithClock(clock.now))
	group := h.createGroup("grief", func(g *storage.Group) { g.Hold = storage.HoldNew })
	mods, keeper := moderator(t, h, group)
	masto, lemmy, alice, _ := mastodonAndLemmyMembers(t, h, group)
	ctx := context.Background()

	first := alice.Create(publicNote(alice, group, "Hello, I am new here."))
	mustPost(t, alice, group+"/inbox", first)
	content, url := heldNotice(t, mods, group, keeper, "Hello, I am new here.")
	for _, want := range []string{"A post by alice@mastodon.test waits for a moderator in grief", "joined less than 7 days ago"} {
		if !strings.Contains(content, want) {
			t.Errorf("the notice lacks %q: %s", want, content)
		}
	}
	if url != objectField(first, "id") {
		t.Errorf("the notice names %s, want the post's id %s", url, objectField(first, "id"))
	}
	messageTo(t, masto, group, alice, "waits for a moderator")
	held, err := h.svc.HeldPosts(ctx, "grief")
	if err != nil || len(held) != 1 || held[0].URL != url || held[0].Reason == "" {
		t.Fatalf("held posts %+v, %v; want alice's, with why", held, err)
	}
	assertNothingRelayed(t, h)

	if answer := order(t, keeper, mods, group, "release "+url); !strings.Contains(answer, "shared it with its members") {
		t.Errorf("release: %q", answer)
	}
	awaitRelayed(t, masto, lemmy, first)
	messageTo(t, masto, group, alice, "shared your post")
	if answer := order(t, keeper, mods, group, "release "+url); !strings.Contains(answer, "it was relayed already") {
		t.Errorf("a second release: %q", answer)
	}

	// A week on, with a post released, alice is no longer new.
	clock.advance(8 * 24 * time.Hour)
	second := alice.Create(publicNote(alice, group, "Thank you all."))
	mustPost(t, alice, group+"/inbox", second)
	awaitRelayed(t, masto, lemmy, second)
	if held, _ := h.svc.HeldPosts(ctx, "grief"); len(held) != 0 {
		t.Errorf("held after a week and a released post: %+v", held)
	}
}

func TestSomePostsWaitWhateverTheGroupHolds(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", func(g *storage.Group) { g.NonMembers = storage.NonMembersHeld })
	for _, name := range []string{"loss", "care", "widows"} {
		h.createGroup(name, nil)
	}
	mods, keeper := moderator(t, h, group)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	newcomer := masto.NewActor("newcomer")
	newcomer.Overrides = map[string]any{"published": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}
	join(t, newcomer, masto, group)
	stranger := h.network.NewInstance("elsewhere.test").NewActor("stranger")
	ctx := context.Background()

	spam := publicNote(alice, group, "Buy now, every group!")
	for _, name := range []string{"loss", "care", "widows"} {
		iri := "http://" + hearthHost + "/g/" + name
		spam["cc"] = append(spam["cc"].([]any), iri)
		spam["tag"] = append(spam["tag"].([]any), map[string]any{"type": "Mention", "href": iri, "name": "@" + name + "@" + hearthHost})
	}
	cases := []struct {
		author *fedtest.Actor
		note   map[string]any
		reason string
	}{
		{alice, spam, "it is addressed to 4 groups"},
		{newcomer, publicNote(newcomer, group, "First post from a fresh account."), "account was made less than 2 days ago"},
		{stranger, publicNote(stranger, group, "I am not a member."), "its author is not a member"},
	}
	for _, c := range cases {
		create := c.author.Create(c.note)
		mustPost(t, c.author, group+"/inbox", create)
		content, url := heldNotice(t, mods, group, keeper, c.reason)
		if !strings.Contains(content, c.author.Handle) {
			t.Errorf("the notice does not name %s: %s", c.author.Handle, content)
		}
		if answer := order(t, keeper, mods, group, "decline "+url); !strings.Contains(answer, "Declined") {
			t.Errorf("decline: %q", answer)
		}
		if c.author != stranger {
			messageTo(t, masto, group, c.author, "decided not to publish your post")
		}
	}
	if held, err := h.svc.HeldPosts(ctx, "grief"); err != nil || len(held) != 0 {
		t.Errorf("held after declining them all: %+v, %v", held, err)
	}
	var kept []storage.Post
	if err := h.store.View(ctx, func(tx *storage.Tx) (err error) {
		g, err := tx.GroupByName("grief")
		if err == nil {
			kept, err = tx.Posts(g.ID, storage.Declined, 10)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(kept) != len(cases) {
		t.Fatalf("%d declined posts, want %d", len(kept), len(cases))
	}
	for _, p := range kept {
		if p.Content != "" || len(p.RawActivity) != 0 || len(p.HeldObject) != 0 {
			t.Errorf("a declined post keeps its text: %+v", p)
		}
	}
	assertNothingRelayed(t, h)
}

func TestAPrivateGroupHoldingEverythingPublishesItsCopyOnRelease(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", func(g *storage.Group) {
		privateGroup("")(g)
		g.Hold = storage.HoldAll
	})
	mods, keeper := moderator(t, h, group)
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	joinPrivate(t, h, alice, masto, group)
	joinPrivate(t, h, bob, masto, group)

	mustPost(t, alice, group+"/inbox", alice.Create(followersOnly(alice, group, "Only for the circle.")))
	content, url := heldNotice(t, mods, group, keeper, "holds every post")
	if !strings.HasPrefix(url, group+"/") || !strings.Contains(content, "Only for the circle.") {
		t.Errorf("the notice of a private group's held post: %s", content)
	}
	if status, _ := get(t, h, bob, url); status != 404 {
		t.Errorf("a held post was served to a member: status %d", status)
	}
	order(t, keeper, mods, group, "release "+url)
	d := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Type() == "Create" && objectField(d.Activity, "id") == url
	})
	if note := d.Activity["object"].(map[string]any); !strings.Contains(note["content"].(string), "Only for the circle.") ||
		!equalStrings(note["to"], group+"/followers") || !mentions(note, alice.ID) {
		t.Errorf("the released copy is not the group's copy for its members: %s", d.Raw)
	}
	if status, _ := get(t, h, bob, url); status != 200 {
		t.Errorf("the released copy: status %d", status)
	}
}

func TestAHeldPostNobodyDecidesIsDeclinedAfterTwoWeeks(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	h := startHearth(t, func(c *federation.Config) { c.TidyEvery = 20 * time.Millisecond }, storage.WithClock(clock.now))
	group := h.createGroup("grief", func(g *storage.Group) { g.Hold = storage.HoldAll })
	mods, keeper := moderator(t, h, group)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	mustPost(t, alice, group+"/inbox", alice.Create(publicNote(alice, group, "Is anyone there?")))
	_, url := heldNotice(t, mods, group, keeper, "Is anyone there?")

	clock.advance(15 * 24 * time.Hour)
	messageTo(t, masto, group, alice, "within 14 days")
	if held, _ := h.svc.HeldPosts(context.Background(), "grief"); len(held) != 0 {
		t.Errorf("still held after two weeks: %+v", held)
	}
	if answer := order(t, keeper, mods, group, "release "+url); !strings.Contains(answer, "it was declined already") {
		t.Errorf("release after expiry: %q", answer)
	}
	log, err := h.svc.ModerationLog(context.Background(), "grief", 10)
	if err != nil || len(log) == 0 || log[0].Action != "decline" || log[0].By != "expiry" {
		t.Errorf("moderation log %+v, %v", log, err)
	}
}
