package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// directMessage is what Mastodon sends for a direct message to the group.
func directMessage(group, html string) map[string]any {
	link, tag := mentionOf(group, "circle")
	return map[string]any{"content": "<p>" + link + " " + html + "</p>", "to": []any{group}, "tag": []any{tag}}
}

// messageTo waits at inst for a direct message from the group to person
// whose content contains text, and returns the note.
func messageTo(t *testing.T, inst *fedtest.Instance, group string, person *fedtest.Actor, text string) map[string]any {
	t.Helper()
	d := inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		content, _ := objectField(d.Activity, "content").(string)
		return d.Verified && d.Type() == "Create" && d.Activity["actor"] == group &&
			equalStrings(d.Activity["to"], person.ID) && strings.Contains(content, text)
	})
	note := d.Activity["object"].(map[string]any)
	if !equalStrings(note["to"], person.ID) || note["cc"] != nil || !mentions(note, person.ID) {
		t.Errorf("the message to %s is not addressed to them alone: %s", person.Handle, d.Raw)
	}
	return note
}

var releaseLine = regexp.MustCompile(`release ([^\s<]+)`)

func TestAnonymousPostLeavesNoTraceOfItsAuthor(t *testing.T) {
	t.Parallel()
	logs := &fedtest.LogBuffer{}
	h := startHearth(t, func(c *federation.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	group := h.createGroup("circle", func(g *storage.Group) {
		privateGroup("")(g)
		g.AnonymousPosts = true
	})
	masto, riverside, mods := h.network.NewInstance("mastodon.test"), h.network.NewInstance("riverside.test"), h.network.NewInstance("mods.test")
	bob, river, keeper := masto.NewActor("bob"), riverside.NewActor("river"), mods.NewActor("keeper")
	joinPrivate(t, h, bob, masto, group)
	joinPrivate(t, h, river, riverside, group)
	ctx := context.Background()
	if _, err := h.svc.AddModerator(ctx, "circle", keeper.ID); err != nil {
		t.Fatal(err)
	}
	mark := logs.Len()
	traces := []string{river.ID, river.Username, riverside.Host, river.Handle}

	hashtag := `<a href="http://riverside.test/tags/recovery" class="mention hashtag" rel="tag">#<span>recovery</span></a>`
	dm := river.Create(directMessage(group, "!anon I relapsed last night.<br>I am scared to tell anyone. "+hashtag))
	mustPost(t, river, group+"/inbox", dm)

	notice := messageTo(t, mods, group, keeper, "An anonymous post waits")
	if !strings.Contains(notice["content"].(string), "river@riverside.test") {
		t.Errorf("the moderator is not told who wrote it: %s", notice["content"])
	}
	if mentions(notice, river.ID) {
		t.Error("the moderator's notice mentions the author, which would notify them")
	}
	m := releaseLine.FindStringSubmatch(notice["content"].(string))
	if m == nil {
		t.Fatalf("no release line in %s", notice["content"])
	}
	url := m[1]
	held, err := h.svc.HeldPosts(ctx, "circle")
	if err != nil || len(held) != 1 || held[0].URL != url || held[0].Author.ID != river.ID {
		t.Fatalf("held posts %+v, %v; want river's, at %s", held, err, url)
	}
	if status, _ := get(t, h, bob, url); status != http.StatusNotFound {
		t.Errorf("a held post was served to a member: status %d", status)
	}

	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+url)))
	for _, inst := range []*fedtest.Instance{masto, riverside} {
		d := inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
			return d.Type() == "Create" && objectField(d.Activity, "id") == url
		})
		for _, trace := range traces {
			if bytes.Contains(d.Raw, []byte(trace)) {
				t.Errorf("%s: the published post contains %q: %s", inst.Host, trace, d.Raw)
			}
		}
		note := d.Activity["object"].(map[string]any)
		content := note["content"].(string)
		if note["attributedTo"] != group || !equalStrings(note["to"], group+"/followers") ||
			content != "<p>I relapsed last night.<br>I am scared to tell anyone. #recovery</p>" {
			t.Errorf("%s: the group's note is not the post as written, to the members: %s", inst.Host, d.Raw)
		}
	}
	status, body := get(t, h, bob, url)
	if status != http.StatusOK {
		t.Fatalf("member's fetch of the released post: status %d", status)
	}
	for _, trace := range traces {
		if bytes.Contains(body, []byte(trace)) {
			t.Errorf("the fetched post contains %q: %s", trace, body)
		}
	}

	told := messageTo(t, riverside, group, river, "was published")
	reply := directMessage(group, "!delete")
	reply["inReplyTo"] = told["id"]
	mustPost(t, river, group+"/inbox", river.Create(reply))
	d := masto.AwaitDelivery(t, wait, fedtest.OfType("Delete"))
	if objectField(d.Activity, "id") != url || bytes.Contains(d.Raw, []byte(riverside.Host)) {
		t.Errorf("the Delete does not withdraw the post, or names its author: %s", d.Raw)
	}
	messageTo(t, riverside, group, river, "was deleted")
	if status, _ := get(t, h, bob, url); status != http.StatusGone {
		t.Errorf("fetching the deleted post: status %d, want 410", status)
	}

	logged := logs.Since(mark)
	for _, trace := range traces {
		if strings.Contains(logged, trace) {
			t.Errorf("the log names the author (%q):\n%s", trace, logged)
		}
	}
}

func TestAnonymousPostsAreForModeratorsToDecide(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", func(g *storage.Group) { g.AnonymousPosts = true })
	plain := h.createGroup("plain", nil)
	masto, mods := h.network.NewInstance("mastodon.test"), h.network.NewInstance("mods.test")
	alice, bob, keeper := masto.NewActor("alice"), masto.NewActor("bob"), mods.NewActor("keeper")
	join(t, alice, masto, group)
	join(t, bob, masto, group)
	join(t, alice, masto, plain)
	ctx := context.Background()
	if _, err := h.svc.AddModerator(ctx, "circle", keeper.ID); err != nil {
		t.Fatal(err)
	}

	// Turned down from the command line.
	mustPost(t, alice, group+"/inbox", alice.Create(directMessage(group, "!anon I hate my sponsor.")))
	held, err := h.svc.HeldPosts(ctx, "circle")
	if err != nil || len(held) != 1 {
		t.Fatalf("held %v, %v", held, err)
	}
	if err := h.svc.DeclinePost(ctx, "circle", held[0].URL); err != nil {
		t.Fatal(err)
	}
	messageTo(t, masto, group, alice, "decided not to publish")
	if err := h.svc.ReleasePost(ctx, "circle", held[0].URL); !errors.Is(err, federation.ErrNotHeld) {
		t.Errorf("releasing a declined post: %v, want ErrNotHeld", err)
	}
	if status, _ := get(t, h, alice, held[0].URL); status != http.StatusNotFound {
		t.Errorf("a declined post was served: status %d", status)
	}

	// Only a moderator's message releases; a public group publishes publicly.
	mustPost(t, alice, group+"/inbox", alice.Create(directMessage(group, "!anon Day 30 today.")))
	notice := messageTo(t, mods, group, keeper, "Day 30 today.")
	url := releaseLine.FindStringSubmatch(notice["content"].(string))[1]
	mustPost(t, bob, group+"/inbox", bob.Create(directMessage(group, "release "+url)))
	if held, _ := h.svc.HeldPosts(ctx, "circle"); len(held) != 1 {
		t.Fatalf("a member's release message released the post: %d held", len(held))
	}
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+plain+"/notes/nothing")))
	messageTo(t, mods, group, keeper, "no post waits for a moderator")
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+url)))
	d := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Create" && objectField(d.Activity, "id") == url
	})
	if !equalStrings(d.Activity["to"], activitypub.Public) || !equalStrings(d.Activity["cc"], group+"/followers") ||
		bytes.Contains(d.Raw, []byte("alice")) {
		t.Errorf("a public group's anonymous post: %s", d.Raw)
	}
	if status, _ := get(t, h, nil, url); status != http.StatusOK {
		t.Errorf("unsigned fetch of a public anonymous post: status %d", status)
	}

	// Not a direct message: it already went out under the author's name.
	followersOnly := directMessage(group, "!anon this went to my followers")
	followersOnly["to"] = []any{alice.Followers}
	followersOnly["cc"] = []any{group}
	mustPost(t, alice, group+"/inbox", alice.Create(followersOnly))
	// A group that takes no anonymous posts says so.
	mustPost(t, alice, plain+"/inbox", alice.Create(directMessage(plain, "!anon hello")))
	messageTo(t, masto, plain, alice, "does not take anonymous posts")
	// Deleting the message before a moderator decides withdraws it.
	second := alice.Create(directMessage(group, "!anon second thoughts"))
	mustPost(t, alice, group+"/inbox", second)
	secondID := objectField(second, "id").(string)
	mustPost(t, alice, group+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext, "id": secondID + "#delete",
		"type": "Delete", "actor": alice.ID, "to": []any{group}, "object": map[string]any{"id": secondID, "type": "Tombstone"}})
	if held, _ := h.svc.HeldPosts(ctx, "circle"); len(held) != 0 {
		t.Errorf("%d posts held, want none", len(held))
	}
}

// TestAnonymousPostCannotReorderTheGroupsWords: the group writes an
// anonymous post into its notice to the moderators and then publishes it
// as its own, so the characters that reorder or hide text must not come
// through, not even as character references.
func TestAnonymousPostCannotReorderTheGroupsWords(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group, masto, _, mods, _, river, keeper := anonymousCircle(t, h)
	dm := directMessage(group, "!anon &#x202e;&#27;[2JI relapsed.&#x2066;")
	dm["summary"] = "&#x202b;relapse\u009b"
	mustPost(t, river, group+"/inbox", river.Create(dm))
	notice := messageTo(t, mods, group, keeper, "I relapsed.")
	url := releaseLine.FindStringSubmatch(notice["content"].(string))[1]
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+url)))
	d := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Create" && objectField(d.Activity, "id") == url
	})
	published := d.Activity["object"].(map[string]any)
	for _, text := range []any{notice["content"], published["content"], published["summary"]} {
		if s, _ := text.(string); s == "" || strings.ContainsAny(s, "\x1b\u009b\u202b\u202e\u2066") {
			t.Errorf("the group wrote %q", text)
		}
	}
	if published["content"] != "<p>[2JI relapsed.</p>" || published["summary"] != "relapse" {
		t.Errorf("published %q under %q, want the words without their control characters", published["content"], published["summary"])
	}
}

// anonymousCircle is a private group that takes anonymous posts, with bob
// and river as members and keeper as its moderator.
func anonymousCircle(t *testing.T, h *runningHearth) (group string, masto, riverside, mods *fedtest.Instance, bob, river, keeper *fedtest.Actor) {
	t.Helper()
	group = h.createGroup("circle", func(g *storage.Group) {
		privateGroup("")(g)
		g.AnonymousPosts = true
	})
	masto, riverside, mods = h.network.NewInstance("mastodon.test"), h.network.NewInstance("riverside.test"), h.network.NewInstance("mods.test")
	bob, river, keeper = masto.NewActor("bob"), riverside.NewActor("river"), mods.NewActor("keeper")
	joinPrivate(t, h, bob, masto, group)
	joinPrivate(t, h, river, riverside, group)
	if _, err := h.svc.AddModerator(context.Background(), "circle", keeper.ID); err != nil {
		t.Fatal(err)
	}
	return group, masto, riverside, mods, bob, river, keeper
}

// heldURL sends an anonymous post from author and returns the address the
// moderator is told to release.
func heldURL(t *testing.T, mods *fedtest.Instance, group string, author, keeper *fedtest.Actor, text string) (string, map[string]any) {
	t.Helper()
	mustPost(t, author, group+"/inbox", author.Create(directMessage(group, "!anon "+text)))
	notice := messageTo(t, mods, group, keeper, text)
	return releaseLine.FindStringSubmatch(notice["content"].(string))[1], notice
}

func TestAnonymousPostMustBeForTheGroupAlone(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group, _, riverside, _, bob, river, _ := anonymousCircle(t, h)
	groupLink, groupTag := mentionOf(group, "circle")
	bobLink, bobTag := mentionOf(bob.ID, "bob")
	mustPost(t, river, group+"/inbox", river.Create(map[string]any{
		"content": "<p>" + groupLink + " " + bobLink + " !anon I have not told my family.</p>",
		"to":      []any{group, bob.ID}, "tag": []any{groupTag, bobTag}}))
	messageTo(t, riverside, group, river, "must be a direct message to the group alone")
	if held, err := h.svc.HeldPosts(context.Background(), "circle"); err != nil || len(held) != 0 {
		t.Errorf("held %v, %v: a post bob saw with its author's name waits to be published as anonymous", held, err)
	}
}

// TestAnonymousPostsWaitAFewAtATime: a member cannot flood the moderators
// with anonymous posts; once three wait, the next is turned away with a
// word to its author, and once one is decided, another is taken.
func TestAnonymousPostsWaitAFewAtATime(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group, _, riverside, mods, _, river, keeper := anonymousCircle(t, h)
	var first string
	for i := range 3 {
		url, _ := heldURL(t, mods, group, river, keeper, fmt.Sprintf("Night %d without sleep.", i))
		if i == 0 {
			first = url
		}
	}
	mustPost(t, river, group+"/inbox", river.Create(directMessage(group, "!anon Night 3 without sleep.")))
	messageTo(t, riverside, group, river, "You have 3 posts waiting for the moderators, so this one was not kept.")
	if held, err := h.svc.HeldPosts(context.Background(), "circle"); err != nil || len(held) != 3 {
		t.Errorf("%d posts held, %v; want the first 3", len(held), err)
	}

	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "decline "+first)))
	heldURL(t, mods, group, river, keeper, "Night 4 without sleep.")
	h.awaitQueueDrained()
	for _, d := range mods.Deliveries() {
		if content, _ := objectField(d.Activity, "content").(string); strings.Contains(content, "Night 3") {
			t.Errorf("the moderator was told of the post turned away: %s", content)
		}
	}
}

func TestHeldPostOfADeletedAccountIsStillDecided(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group, masto, _, mods, _, river, keeper := anonymousCircle(t, h)
	url, _ := heldURL(t, mods, group, river, keeper, "Nobody knows how hard this year was.")
	mustPost(t, river, h.svc.IRIs().SharedInbox(), map[string]any{"@context": activitypub.ActivityStreamsContext,
		"id": river.ID + "#delete", "type": "Delete", "actor": river.ID, "to": []any{activitypub.Public}, "object": river.ID})

	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+url)))
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Type() == "Create" && objectField(d.Activity, "id") == url
	})
}

// noticeActivity is the stored Create that carried the group's notice.
func noticeActivity(t *testing.T, h *runningHearth, noteID string) storage.Activity {
	t.Helper()
	var a storage.Activity
	if err := h.store.View(context.Background(), func(tx *storage.Tx) error {
		n, err := tx.NoticeByNote(noteID)
		if err != nil {
			return err
		}
		a, err = tx.ActivityByID(n.ActivityID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return a
}

// storedPost is the group's record of the post whose copy is url.
func storedPost(t *testing.T, h *runningHearth, url string) storage.Post {
	t.Helper()
	var p storage.Post
	if err := h.store.View(context.Background(), func(tx *storage.Tx) (err error) {
		p, err = tx.PostByCopy(url)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRemovedAnonymousPostsAreErased(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group, masto, riverside, mods, bob, river, keeper := anonymousCircle(t, h)
	snoop := mods.NewActor("snoop")
	traces := []string{river.ID, river.Handle, "riverside.test"}
	erased := func(what string, body []byte, texts ...string) {
		t.Helper()
		for _, s := range append(texts, traces...) {
			if bytes.Contains(body, []byte(s)) {
				t.Errorf("%s still holds %q: %s", what, s, body)
			}
		}
	}

	// Deleted by its author once published.
	url, notice := heldURL(t, mods, group, river, keeper, "I drank again on Saturday.")
	if status, _ := get(t, h, snoop, notice["id"].(string)); status != http.StatusForbidden {
		t.Errorf("another person on the moderator's server fetched the notice: status %d", status)
	}
	if status, _ := get(t, h, keeper, notice["id"].(string)); status != http.StatusOK {
		t.Errorf("the moderator's fetch of their notice: status %d", status)
	}
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+url)))
	create := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Create" && objectField(d.Activity, "id") == url
	})
	published := messageTo(t, riverside, group, river, "was published")
	reply := directMessage(group, "!delete")
	reply["inReplyTo"] = published["id"]
	mustPost(t, river, group+"/inbox", river.Create(reply))
	masto.AwaitDelivery(t, wait, fedtest.OfType("Delete"))

	erased("the post's record", storedPost(t, h, url).RawActivity, "drank again")
	erased("the moderator's notice", noticeActivity(t, h, notice["id"].(string)).Body, "drank again")
	erased("the notice of publication", noticeActivity(t, h, published["id"].(string)).Body)
	for _, fetch := range []struct {
		reader *fedtest.Actor
		url    string
	}{{keeper, notice["id"].(string)}, {river, published["id"].(string)}, {bob, create.Activity["id"].(string)}} {
		status, body := get(t, h, fetch.reader, fetch.url)
		if status != http.StatusGone {
			t.Errorf("%s fetched %s of a deleted post: status %d, want 410", fetch.reader.Handle, fetch.url, status)
		}
		erased(fetch.url, body, "drank again")
	}

	// Declined by a moderator.
	declined, declinedNotice := heldURL(t, mods, group, river, keeper, "My sponsor is the problem.")
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "decline "+declined)))
	messageTo(t, riverside, group, river, "decided not to publish")
	erased("a declined post's record", storedPost(t, h, declined).RawActivity, "sponsor")
	erased("the notice of a declined post", noticeActivity(t, h, declinedNotice["id"].(string)).Body, "sponsor")
	if status, _ := get(t, h, keeper, declinedNotice["id"].(string)); status != http.StatusGone {
		t.Errorf("the notice of a declined post: status %d, want 410", status)
	}

	// Withdrawn by deleting the message before anyone decided.
	message := river.Create(directMessage(group, "!anon Maybe I should not say this."))
	mustPost(t, river, group+"/inbox", message)
	withdrawnNotice := messageTo(t, mods, group, keeper, "should not say this")
	withdrawn := releaseLine.FindStringSubmatch(withdrawnNotice["content"].(string))[1]
	messageID := objectField(message, "id").(string)
	mustPost(t, river, group+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext, "id": messageID + "#delete",
		"type": "Delete", "actor": river.ID, "to": []any{group}, "object": map[string]any{"id": messageID, "type": "Tombstone"}})
	erased("a withdrawn post's record", storedPost(t, h, withdrawn).RawActivity, "should not say")
	erased("the notice of a withdrawn post", noticeActivity(t, h, withdrawnNotice["id"].(string)).Body, "should not say")
}

func TestAnonymousReplyInAPublicGroupKeepsItsThread(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", func(g *storage.Group) { g.AnonymousPosts = true })
	masto, mods := h.network.NewInstance("mastodon.test"), h.network.NewInstance("mods.test")
	alice, bob, keeper := masto.NewActor("alice"), masto.NewActor("bob"), mods.NewActor("keeper")
	join(t, alice, masto, group)
	join(t, bob, masto, group)
	if _, err := h.svc.AddModerator(context.Background(), "circle", keeper.ID); err != nil {
		t.Fatal(err)
	}
	create := alice.Create(publicNote(alice, group, "Is it normal to still feel numb?"))
	mustPost(t, alice, group+"/inbox", create)
	parent := objectField(create, "id").(string)
	awaitBoost(t, masto, parent)

	reply := directMessage(group, "!anon Yes. It lasted a year for me.")
	reply["inReplyTo"] = parent
	mustPost(t, bob, group+"/inbox", bob.Create(reply))
	notice := messageTo(t, mods, group, keeper, "It lasted a year")
	url := releaseLine.FindStringSubmatch(notice["content"].(string))[1]
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+url)))
	d := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Create" && objectField(d.Activity, "id") == url
	})
	if objectField(d.Activity, "inReplyTo") != parent {
		t.Errorf("the anonymous reply answers %v, want alice's post %s", objectField(d.Activity, "inReplyTo"), parent)
	}
}
