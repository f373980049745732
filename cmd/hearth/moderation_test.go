package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// testClock is a clock a test moves forward by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// moderator makes keeper, on mods.test, a moderator of the group.
func moderator(t *testing.T, h *runningHearth, group string) (*fedtest.Instance, *fedtest.Actor) {
	t.Helper()
	mods := h.network.NewInstance("mods.test")
	keeper := mods.NewActor("keeper")
	name, _ := strings.CutPrefix(group, "http://"+hearthHost+"/g/")
	if _, err := h.svc.AddModerator(context.Background(), name, keeper.ID); err != nil {
		t.Fatal(err)
	}
	return mods, keeper
}

// order sends the group a moderator's command and returns the content of
// the group's answer, a direct message in reply to it.
func order(t *testing.T, mod *fedtest.Actor, inst *fedtest.Instance, group, text string) string {
	t.Helper()
	return orderMessage(t, mod, inst, group, directMessage(group, text))
}

func orderMessage(t *testing.T, mod *fedtest.Actor, inst *fedtest.Instance, group string, message map[string]any) string {
	t.Helper()
	create := mod.Create(message)
	mustPost(t, mod, group+"/inbox", create)
	id := objectField(create, "id")
	d := inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Type() == "Create" && d.Activity["actor"] == group && objectField(d.Activity, "inReplyTo") == id
	})
	note := d.Activity["object"].(map[string]any)
	if !equalStrings(note["to"], mod.ID) || note["cc"] != nil {
		t.Errorf("the answer to %s is not addressed to them alone: %s", mod.Handle, d.Raw)
	}
	return note["content"].(string)
}

func TestModeratorRemovesAPostFromEveryServerItWentTo(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, lemmy, alice, _ := mastodonAndLemmyMembers(t, h, group)
	other := h.network.NewInstance("other.test")
	other.SetSoftware("something-new")
	join(t, other.NewActor("dave"), other, group)
	mods, keeper := moderator(t, h, group)

	note := publicNote(alice, group, "Buy my course, it cures grief.")
	note["url"] = masto.URL("/@alice/101")
	create := alice.Create(note)
	noteID := objectField(create, "id").(string)
	mustPost(t, alice, group+"/inbox", create)
	boost := awaitBoost(t, masto, noteID)
	awaitWrapped(t, lemmy, create["id"].(string))

	// The moderator copies the post's link in Mastodon, its web page.
	answer := order(t, keeper, mods, group, `remove <a href="http://mastodon.test/@alice/101"><span class="invisible">http://</span>`+
		`<span class="ellipsis">mastodon.test/@alice/1</span><span class="invisible">01</span></a> selling things &amp; rude`)
	if !strings.Contains(answer, "Removed "+noteID) || !strings.Contains(answer, "with your reason") {
		t.Errorf("the moderator is told %q", answer)
	}
	for _, inst := range []*fedtest.Instance{masto, other} {
		undo := inst.AwaitDelivery(t, wait, fedtest.OfType("Undo"))
		if objectField(undo.Activity, "id") != boost.Activity["id"] || objectField(undo.Activity, "object") != noteID {
			t.Errorf("%s: the Undo does not take back the boost: %s", inst.Host, undo.Raw)
		}
		awaitBoostDeleted(t, inst, boost.Activity["id"].(string))
	}
	for _, inst := range []*fedtest.Instance{lemmy, other} {
		d := inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
			return d.Verified && d.Type() == "Announce" && d.ObjectType() == "Delete"
		})
		deletion := d.Activity["object"].(map[string]any)
		if deletion["actor"] != group || objectField(deletion, "id") != noteID || !contains(d.Activity["cc"], group+"/followers") {
			t.Errorf("%s: the Announce does not carry the group's Delete of the post: %s", inst.Host, d.Raw)
		}
		if bytes.Contains(d.Raw, []byte("keeper")) || bytes.Contains(d.Raw, []byte("selling things")) {
			t.Errorf("%s: the retraction names the moderator or the reason: %s", inst.Host, d.Raw)
		}
	}
	told := messageTo(t, masto, group, alice, "removed your post")
	if !strings.Contains(told["content"].(string), "selling things &amp; rude") || told["inReplyTo"] != noteID {
		t.Errorf("alice is not told why, in reply to her post: %v", told)
	}
	if n := countWhere(lemmy, func(d fedtest.Delivery) bool { return d.Type() == "Undo" || d.Type() == "Delete" }); n != 0 {
		t.Errorf("lemmy.test, which got no boost, got %d Undo or Delete", n)
	}
	if status, outbox := get(t, h, nil, group+"/outbox?page=true"); status != http.StatusOK || bytes.Contains(outbox, []byte(noteID)) {
		t.Errorf("the outbox (status %d) still lists the removed post: %s", status, outbox)
	}
	log, err := h.svc.ModerationLog(context.Background(), "grief", 10)
	if err != nil || len(log) == 0 || log[0].By != "keeper@mods.test" || log[0].Action != "remove" || log[0].Target != noteID ||
		log[0].Reason != "selling things & rude" {
		t.Errorf("moderation log %+v, %v; want keeper's removal first", log, err)
	}
	if answer := order(t, keeper, mods, group, "remove "+noteID); !strings.Contains(answer, "it was removed already") {
		t.Errorf("removing it again: %q", answer)
	}
}

func TestModeratorRemovesAPrivateGroupsCopy(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group, masto, riverside, mods, bob, river, keeper := anonymousCircle(t, h)
	mustPost(t, bob, group+"/inbox", bob.Create(followersOnly(bob, group, "Here is my phone number.")))
	_, copied := copyOf(t, riverside, group, "my phone number")
	url := copied["id"].(string)

	// A moderator's direct message in answer to a post is a reply, not a
	// command, unless it is one in form.
	reply := directMessage(group, "Please keep numbers out of the group, Bob.")
	reply["inReplyTo"] = url
	mustPost(t, keeper, group+"/inbox", keeper.Create(reply))
	copyOf(t, riverside, group, "Please keep numbers out of the group")

	if answer := order(t, keeper, mods, group, "remove "+url); !strings.Contains(answer, "you gave no reason") {
		t.Errorf("the moderator is told %q", answer)
	}
	for _, inst := range []*fedtest.Instance{masto, riverside} {
		d := inst.AwaitDelivery(t, wait, fedtest.OfType("Delete"))
		if objectField(d.Activity, "id") != url || d.Activity["actor"] != group {
			t.Errorf("%s: the Delete is not the group's of its copy: %s", inst.Host, d.Raw)
		}
	}
	messageTo(t, masto, group, bob, "removed your post")
	if status, _ := get(t, h, river, url); status != http.StatusGone {
		t.Errorf("a member's fetch of the removed copy: status %d, want 410", status)
	}
}

func TestBanBlocksRefusesAndRunsOut(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	h := startHearth(t, nil, storage.WithClock(clock.now))
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	alice, mallory := masto.NewActor("alice"), masto.NewActor("mallory")
	join(t, alice, masto, group)
	join(t, mallory, masto, group)
	mods, keeper := moderator(t, h, group)

	// The moderator mentions mallory as Mastodon writes it: @mallory, with
	// a tag that says which account that is. Mastodon sends mallory the
	// message too.
	groupLink, groupTag := mentionOf(group, "grief")
	answer := orderMessage(t, keeper, mods, group, map[string]any{
		"content": "<p>" + groupLink + ` ban <span class="h-card"><a href="` + mallory.ID + `" class="u-url mention">@<span>mallory</span></a></span> 2 spamming the group</p>`,
		"to":      []any{group, mallory.ID},
		"tag":     []any{groupTag, map[string]any{"type": "Mention", "href": mallory.ID, "name": "@mallory@mastodon.test"}},
	})
	if !strings.Contains(answer, "mallory@mastodon.test is banned from grief, for 2 days") || !strings.Contains(answer, "without the leading @") {
		t.Errorf("the moderator is told %q", answer)
	}
	reject := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Verified && d.Type() == "Reject" && d.Inbox == mallory.Inbox })
	block := masto.AwaitDelivery(t, wait, fedtest.OfType("Block"))
	for _, d := range []fedtest.Delivery{reject, block} {
		if d.KeyID != group+"#main-key" || d.Activity["actor"] != group || bytes.Contains(d.Raw, []byte("keeper")) {
			t.Errorf("the %s is not the group's alone: signed by %s: %s", d.Type(), d.KeyID, d.Raw)
		}
	}
	if block.Activity["object"] != mallory.ID || !equalStrings(block.Activity["to"], mallory.ID) || block.Inbox != mallory.Inbox {
		t.Errorf("the Block is not of mallory, to mallory: %s", block.Raw)
	}

	// Refused while banned: the next follow, and posts.
	rejects := countWhere(masto, fedtest.OfType("Reject"))
	follow := mallory.Follow(group)
	mustPost(t, mallory, group+"/inbox", follow)
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Reject" && objectField(d.Activity, "id") == follow["id"]
	})
	if n := countWhere(masto, fedtest.OfType("Reject")); n != rejects+1 {
		t.Errorf("%d Rejects for one follow", n-rejects)
	}
	post := mallory.Create(publicNote(mallory, group, "You cannot stop me."))
	mustPost(t, mallory, group+"/inbox", post)
	var posts []storage.Post
	h.store.View(context.Background(), func(tx *storage.Tx) (err error) {
		posts, err = tx.PostsOfObject(objectField(post, "id").(string))
		return err
	})
	if len(posts) != 0 {
		t.Errorf("a banned account's post was taken: %+v", posts)
	}
	if members, _ := h.svc.Members(context.Background(), "grief", storage.Member); len(members) != 1 || members[0].Actor.ID != alice.ID {
		t.Errorf("members while mallory is banned: %+v", members)
	}

	// Two days on, the ban is over: the next follow lifts it, undoes the
	// Block and is accepted.
	clock.advance(49 * time.Hour)
	follow = mallory.Follow(group)
	mustPost(t, mallory, group+"/inbox", follow)
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Type() == "Accept" && objectField(d.Activity, "id") == follow["id"]
	})
	undo := masto.AwaitDelivery(t, wait, fedtest.OfType("Undo"))
	if objectField(undo.Activity, "type") != "Block" || objectField(undo.Activity, "id") != block.Activity["id"] || undo.Inbox != mallory.Inbox {
		t.Errorf("the Undo does not take back the Block: %s", undo.Raw)
	}
	log, err := h.svc.ModerationLog(context.Background(), "grief", 10)
	if err != nil || len(log) < 2 || log[0].Action != "ban ran out" || log[0].By != "expiry" ||
		log[1].Action != "ban for 2 days" || log[1].By != "keeper@mods.test" || log[1].Target != "mallory@mastodon.test" ||
		log[1].Reason != "spamming the group" {
		t.Errorf("moderation log %+v, %v", log, err)
	}
}

func TestABanRunsOutWithoutAnyoneAsking(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	h := startHearth(t, func(c *federation.Config) { c.TidyEvery = 20 * time.Millisecond }, storage.WithClock(clock.now))
	group := h.createGroup("grief", nil)
	masto, _, mallory := twoMastodonMembers(t, h, group)
	if _, err := h.svc.BanMember(context.Background(), "grief", mallory.Handle, federation.BanTerms{Days: 1, Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	block := masto.AwaitDelivery(t, wait, fedtest.OfType("Block"))
	clock.advance(25 * time.Hour)
	undo := masto.AwaitDelivery(t, wait, fedtest.OfType("Undo"))
	if objectField(undo.Activity, "id") != block.Activity["id"] {
		t.Errorf("the Undo does not take back the Block: %s", undo.Raw)
	}
	if banned, _ := h.svc.Members(context.Background(), "grief", storage.Banned); len(banned) != 0 {
		t.Errorf("still banned: %+v", banned)
	}
	join(t, mallory, masto, group)
}

func TestJoinRequestsAreAnsweredByDirectMessage(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", func(g *storage.Group) { g.Join = storage.JoinApproval })
	mods, keeper := moderator(t, h, group)
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	follow := alice.Follow(group)
	mustPost(t, alice, group+"/inbox", follow)
	notice := messageTo(t, mods, group, keeper, "alice@mastodon.test asks to join grief")
	if content := notice["content"].(string); !strings.HasSuffix(content, "<p>approve alice@mastodon.test<br>reject alice@mastodon.test</p>") {
		t.Errorf("the notice does not end with the lines to send back: %s", content)
	}
	if mentions(notice, alice.ID) {
		t.Error("the notice mentions alice, which would tell her")
	}
	mustPost(t, bob, group+"/inbox", bob.Follow(group))

	if answer := order(t, keeper, mods, group, "pending"); !strings.Contains(answer, "alice@mastodon.test, since") ||
		!strings.Contains(answer, "approve alice@mastodon.test<br>reject alice@mastodon.test<br>approve bob@mastodon.test") {
		t.Errorf("pending: %q", answer)
	}
	if answer := order(t, keeper, mods, group, "approve alice@mastodon.test"); !strings.Contains(answer, "alice@mastodon.test is now a member of grief") {
		t.Errorf("approve: %q", answer)
	}
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Type() == "Accept" && objectField(d.Activity, "id") == follow["id"]
	})
	if answer := order(t, keeper, mods, group, "reject @bob@mastodon.test"); !strings.Contains(answer, "bob@mastodon.test to join grief was turned down") {
		t.Errorf("reject: %q", answer)
	}
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Verified && d.Type() == "Reject" && d.Inbox == bob.Inbox })
	for _, tc := range []struct{ text, want string }{
		{"approve " + bob.ID, "bob@mastodon.test has no pending request to join. Nothing was changed."},
		{"approve nobody@nowhere.test", "Could not find nobody@nowhere.test"},
		{"Approve", "Send it as: approve ACCOUNT"},
		{"hello there", "ban ACCOUNT [days] [reason]: remove and block an account"},
		{"ban alice@mastodon.test 9999 forever", "a ban lasts 1 to 3650 days"},
		{"pending", "Nobody is waiting to join grief."},
	} {
		if answer := order(t, keeper, mods, group, tc.text); !strings.Contains(answer, tc.want) {
			t.Errorf("%q: answered %q, want %q", tc.text, answer, tc.want)
		}
	}
}

func TestCommandsFromOthersGetOneRefusalAndChangeNothing(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, bob := twoMastodonMembers(t, h, group)
	moderator(t, h, group)
	create := alice.Create(publicNote(alice, group, "Today was better."))
	noteID := objectField(create, "id").(string)
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, noteID)
	elsewhere := h.network.NewInstance("elsewhere.test")
	stranger := elsewhere.NewActor("stranger")

	for _, text := range []string{"ban alice@mastodon.test", "remove " + noteID + " I do not like it", "pending", "help"} {
		mustPost(t, stranger, group+"/inbox", stranger.Create(directMessage(group, text)))
		mustPost(t, bob, group+"/inbox", bob.Create(directMessage(group, text)))
	}
	messageTo(t, elsewhere, group, stranger, "Only the moderators of grief can give it commands")
	messageTo(t, masto, group, bob, "Only the moderators of grief can give it commands")
	// The members are still there and the post still shared; a later
	// event shows the refusals were all there was.
	if members, _ := h.svc.Members(context.Background(), "grief", storage.Member); len(members) != 2 {
		t.Errorf("members after a stranger's commands: %+v", members)
	}
	if _, err := h.svc.BanMember(context.Background(), "grief", stranger.ID, federation.BanTerms{}); err != nil {
		t.Fatal(err)
	}
	elsewhere.AwaitDelivery(t, wait, fedtest.OfType("Block"))
	for _, inst := range []*fedtest.Instance{elsewhere, masto} {
		if n := countWhere(inst, func(d fedtest.Delivery) bool { return d.Type() == "Create" }); n != 1 {
			t.Errorf("%s got %d messages for eight commands, want one refusal", inst.Host, n)
		}
		if n := countWhere(inst, func(d fedtest.Delivery) bool { return d.Type() == "Undo" || d.Type() == "Delete" }); n != 0 {
			t.Errorf("%s got %d retractions", inst.Host, n)
		}
	}
	log, _ := h.svc.ModerationLog(context.Background(), "grief", 10)
	if len(log) != 2 || log[0].By != "admin" || log[1].Action != "add moderator" {
		t.Errorf("moderation log %+v, want only the admin's doing", log)
	}
}

func TestPinnedPostsAreTheGroupsFeaturedCollection(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	mods, keeper := moderator(t, h, group)
	create := alice.Create(publicNote(alice, group, "Read this first: how this group works."))
	noteID := objectField(create, "id").(string)
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, noteID)
	featured := func() []string {
		t.Helper()
		status, body := get(t, h, nil, group+"/featured")
		var collection struct {
			Items []string `json:"orderedItems"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &collection) != nil {
			t.Fatalf("featured: status %d, %s", status, body)
		}
		return collection.Items
	}

	if answer := order(t, keeper, mods, group, "pin "+noteID); !strings.Contains(answer, "Pinned "+noteID) {
		t.Errorf("pin: %q", answer)
	}
	add := masto.AwaitDelivery(t, wait, fedtest.OfType("Add"))
	if add.Activity["object"] != noteID || add.Activity["target"] != group+"/featured" || add.Activity["actor"] != group {
		t.Errorf("the Add does not pin the post to the featured collection: %s", add.Raw)
	}
	if items := featured(); len(items) != 1 || items[0] != noteID {
		t.Errorf("featured %v, want the pinned post", items)
	}
	if answer := order(t, keeper, mods, group, "pin "+noteID); !strings.Contains(answer, "is pinned already") {
		t.Errorf("pinning twice: %q", answer)
	}
	if answer := order(t, keeper, mods, group, "pin http://nowhere.test/notes/1"); !strings.Contains(answer, "the group shares no post at this address") {
		t.Errorf("pinning a post the group does not share: %q", answer)
	}
	if answer := order(t, keeper, mods, group, "unpin "+noteID); !strings.Contains(answer, "Unpinned "+noteID) {
		t.Errorf("unpin: %q", answer)
	}
	remove := masto.AwaitDelivery(t, wait, fedtest.OfType("Remove"))
	if remove.Activity["object"] != noteID || remove.Activity["target"] != group+"/featured" {
		t.Errorf("the Remove does not unpin the post: %s", remove.Raw)
	}
	if items := featured(); len(items) != 0 {
		t.Errorf("featured %v after unpinning", items)
	}
}

// mastodonFlag is the Mastodon report in testdata, made to name the given
// reporter's server, group, account and posts.
func mastodonFlag(t *testing.T, server *fedtest.Actor, group string, account *fedtest.Actor, posts ...string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/activities/mastodon_flag.json")
	if err != nil {
		t.Fatal(err)
	}
	var flag map[string]any
	if err := json.Unmarshal(raw, &flag); err != nil {
		t.Fatal(err)
	}
	flag["id"] = server.ID + "/flags/" + activitypub.NewToken()
	flag["actor"] = server.ID
	flag["to"] = group
	flag["object"] = append([]any{account.ID}, anySlice(posts)...)
	return flag
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestReportsReachTheModerators(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) { c.Block = []string{"blocked.test"} })
	group := h.createGroup("grief", nil)
	masto, _, alice, carol := mastodonAndLemmyMembers(t, h, group)
	mods, keeper := moderator(t, h, group)
	spam := h.network.NewInstance("spam.test")
	spammer := spam.NewActor("spammer")
	join(t, spammer, spam, group)
	var posts []string
	for _, text := range []string{"Cheap pills at my site.", "More pills."} {
		create := spammer.Create(publicNote(spammer, group, text))
		mustPost(t, spammer, group+"/inbox", create)
		posts = append(posts, objectField(create, "id").(string))
		awaitBoost(t, masto, posts[len(posts)-1])
	}

	// Mastodon reports from its instance actor, with the account and its
	// posts as the object.
	server := instanceActor(t, masto)
	mustPost(t, server, group+"/inbox", mastodonFlag(t, server, group, spammer, posts...))
	notice := messageTo(t, mods, group, keeper, "Report 1 in grief, from mastodon.test")
	content := notice["content"].(string)
	for _, want := range []string{"Spam account posting links in the group", "spammer@spam.test (member)", posts[0], posts[1]} {
		if !strings.Contains(content, want) {
			t.Errorf("the notice lacks %q: %s", want, content)
		}
	}
	if want := "<p>remove " + posts[0] + "<br>remove " + posts[1] + "<br>ban spammer@spam.test<br>resolve 1</p>"; !strings.HasSuffix(content, want) {
		t.Errorf("the notice does not end with the lines to act:\n%s\nwant the end\n%s", content, want)
	}

	// Another report from the same server about the same post is the same
	// report; one from a blocked server is refused; Lemmy's, from the
	// reporter to the community, is another.
	mustPost(t, server, group+"/inbox", mastodonFlag(t, server, group, spammer, posts[0]))
	blocked := h.network.NewInstance("blocked.test").NewActor("troll")
	if status := post(t, blocked, group+"/inbox", mastodonFlag(t, blocked, group, alice)); status != http.StatusForbidden {
		t.Errorf("a report from a blocked server: status %d, want 403", status)
	}
	mustPost(t, carol, group+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext, "id": carol.ID + "/flags/1",
		"type": "Flag", "actor": carol.ID, "object": posts[1], "summary": "spam", "to": []any{group}, "audience": group})
	messageTo(t, mods, group, keeper, "Report 2 in grief, from lemmy.test")
	reports, err := h.svc.Reports(context.Background(), "grief")
	if err != nil || len(reports) != 2 || reports[0].Reports != 2 || reports[1].From != "lemmy.test" {
		t.Fatalf("reports %+v, %v; want mastodon.test's two as one, then lemmy.test's", reports, err)
	}

	answer := order(t, keeper, mods, group, "reports")
	if !strings.Contains(answer, "Report 1, from mastodon.test (2 reports)") || !strings.Contains(answer, "Report 2, from lemmy.test") {
		t.Errorf("reports: %q", answer)
	}
	if n := countWhere(mods, func(d fedtest.Delivery) bool {
		content, _ := objectField(d.Activity, "content").(string)
		return strings.Contains(content, "Report 1 in grief")
	}); n != 1 {
		t.Errorf("the moderator was told of report 1 %d times", n)
	}
	order(t, keeper, mods, group, "remove "+posts[0])
	order(t, keeper, mods, group, "ban spammer@spam.test")
	if answer := order(t, keeper, mods, group, "resolve 1"); !strings.Contains(answer, "Report 1 is resolved") {
		t.Errorf("resolve: %q", answer)
	}
	if answer := order(t, keeper, mods, group, "resolve 1"); !strings.Contains(answer, "no open report has this number") {
		t.Errorf("resolving twice: %q", answer)
	}
	answer = order(t, keeper, mods, group, "reports")
	if strings.Contains(answer, "Report 1") || !strings.Contains(answer, "spammer@spam.test (banned)") ||
		strings.Contains(answer, "ban spammer") {
		t.Errorf("reports after acting on report 1: %q", answer)
	}
	block := spam.AwaitDelivery(t, wait, fedtest.OfType("Block"))
	if answer := order(t, keeper, mods, group, "unban spammer@spam.test"); !strings.Contains(answer, "The ban of spammer@spam.test is lifted") {
		t.Errorf("unban: %q", answer)
	}
	spam.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Type() == "Undo" && objectField(d.Activity, "id") == block.Activity["id"]
	})
	if answer := order(t, keeper, mods, group, "unban spammer@spam.test"); !strings.Contains(answer, "spammer@spam.test is not banned") {
		t.Errorf("unbanning twice: %q", answer)
	}
}

func TestModerationFromTheCLI(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	m := MustRunMain(t, nil, func(m *Main) { m.Transport = network.Transport() })
	network.Route("127.0.0.1", m.HTTPServer.Handler)
	getenv := env(m)
	mustHearth(t, getenv, "group", "create", "circle")
	group := m.Service.IRIs().Group("circle")
	masto := network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	send(t, alice, group+"/inbox", alice.Follow(group))
	masto.AwaitDelivery(t, wait, fedtest.OfType("Accept"))
	create := alice.Create(publicNote(alice, group, "Off topic: my cat."))
	url := objectField(create, "id").(string)
	send(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, url)

	if out := mustHearth(t, getenv, "post", "pin", "circle", url); out != "Pinned "+url+".\n" {
		t.Errorf("pin said %q", out)
	}
	masto.AwaitDelivery(t, wait, fedtest.OfType("Add"))
	mustHearth(t, getenv, "post", "unpin", "circle", url)
	masto.AwaitDelivery(t, wait, fedtest.OfType("Remove"))
	server := instanceActor(t, masto)
	send(t, server, group+"/inbox", mastodonFlag(t, server, group, alice, url))
	list := mustHearth(t, getenv, "report", "list", "circle")
	for _, want := range []string{"report 1\n", "from:     mastodon.test (1)", "account:  alice@mastodon.test member",
		"post:     " + url + " relayed", "comment:  Spam account posting links in the group"} {
		if !strings.Contains(list, want) {
			t.Errorf("report list lacks %q:\n%s", want, list)
		}
	}
	if out := mustHearth(t, getenv, "post", "remove", "circle", url, "--reason", "off topic"); !strings.Contains(out, "Removed "+url+" from circle") {
		t.Errorf("remove said %q", out)
	}
	masto.AwaitDelivery(t, wait, fedtest.OfType("Undo"))
	told := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		content, _ := objectField(d.Activity, "content").(string)
		return d.Type() == "Create" && strings.Contains(content, "The reason given: off topic")
	})
	if !equalStrings(told.Activity["to"], alice.ID) {
		t.Errorf("the author's notice is not to her alone: %s", told.Raw)
	}
	if out := mustHearth(t, getenv, "report", "resolve", "circle", "1"); out != "Report 1 in circle is resolved.\n" {
		t.Errorf("resolve said %q", out)
	}
	if out := mustHearth(t, getenv, "member", "ban", "circle", "alice@mastodon.test", "--days", "3", "--reason", "spam"); out != "@alice@mastodon.test banned in circle for 3 days.\n" {
		t.Errorf("ban said %q", out)
	}
	masto.AwaitDelivery(t, wait, fedtest.OfType("Block"))
	mustHearth(t, getenv, "member", "unban", "circle", "alice@mastodon.test")
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Verified && d.Type() == "Undo" && d.ObjectType() == "Block" })

	modlog := mustHearth(t, getenv, "modlog", "circle")
	lines := strings.Split(strings.TrimSpace(modlog), "\n")
	want := []string{"WHEN", "admin  unban", "admin  ban for 3 days  alice@mastodon.test", "admin  resolve", "admin  remove",
		"admin  unpin", "admin  pin"}
	if len(lines) != len(want) {
		t.Fatalf("modlog has %d lines, want %d:\n%s", len(lines), len(want), modlog)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("modlog line %d is %q, want it to hold %q", i, lines[i], w)
		}
	}
	if !strings.HasSuffix(lines[2], "spam") || !strings.HasSuffix(lines[4], "off topic") {
		t.Errorf("modlog lacks the reasons:\n%s", modlog)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"report", "resolve", "circle", "1"}, 1, "no open report has this number"},
		{[]string{"report", "resolve", "circle", "one"}, 2, `"one" is not a report's number`},
		{[]string{"post", "remove", "circle", url}, 1, "it was removed already"},
		{[]string{"post", "pin", "circle", "not-a-url"}, 2, "want GROUP URL"},
		{[]string{"member", "ban", "circle", "alice@mastodon.test", "--days", "-1"}, 2, "must be 0 to 3650"},
		{[]string{"modlog", "nosuch"}, 1, "no such group"},
	} {
		code, _, stderr := hearth(t, getenv, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("hearth %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.stderr)
		}
	}
}
