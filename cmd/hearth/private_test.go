package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// privateGroup makes a members-only group with a content-warning policy.
func privateGroup(warning string) func(*storage.Group) {
	return func(g *storage.Group) {
		g.Visibility = storage.Private
		g.ContentWarning = warning
		g.Summary = "A quiet room for people who lost someone."
	}
}

// joinPrivate asks to join and has the request approved, as a moderator of
// a private group does, then waits for the Accept.
func joinPrivate(t *testing.T, h *runningHearth, actor *fedtest.Actor, inst *fedtest.Instance, group string) {
	t.Helper()
	follow := actor.Follow(group)
	mustPost(t, actor, group+"/inbox", follow)
	name, _ := strings.CutPrefix(group, "http://"+hearthHost+"/g/")
	if _, err := h.svc.ApproveMember(context.Background(), name, actor.ID); err != nil {
		t.Fatal(err)
	}
	inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Accept" && d.Inbox == actor.Inbox && objectField(d.Activity, "id") == follow["id"]
	})
}

// instanceActor publishes the Application actor a server fetches with on
// behalf of all its users, as Mastodon's instance actor, and returns it
// ready to sign.
func instanceActor(t *testing.T, inst *fedtest.Instance) *fedtest.Actor {
	t.Helper()
	return publishActor(t, inst, "/actor", "Application", inst.Host)
}

// publishActor publishes at path an actor of type typ called username, and
// returns it ready to sign.
func publishActor(t *testing.T, inst *fedtest.Instance, path, typ, username string) *fedtest.Actor {
	t.Helper()
	actor := *inst.NewActor("key-holder-of-" + username)
	actor.ID = inst.URL(path)
	actor.KeyID = actor.ID + "#main-key"
	actor.Username, actor.Handle = username, username+"@"+inst.Host
	pem, err := activitypub.EncodePublicKey(&actor.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	actor.Publish(map[string]any{
		"@context":          []any{activitypub.ActivityStreamsContext, "https://w3id.org/security/v1"},
		"id":                actor.ID,
		"type":              typ,
		"preferredUsername": username,
		"inbox":             actor.ID + "/inbox",
		"publicKey":         map[string]any{"id": actor.KeyID, "owner": actor.ID, "publicKeyPem": pem},
	})
	return &actor
}

// mentionOf is the HTML and the tag Mastodon writes for a mention.
func mentionOf(id, name string) (string, map[string]any) {
	return `<span class="h-card"><a href="` + id + `" class="u-url mention">@<span>` + name + `</span></a></span>`,
		map[string]any{"type": "Mention", "href": id, "name": "@" + name + "@" + hearthHost}
}

// followersOnly is what Mastodon sends for a followers-only post that
// mentions the group.
func followersOnly(author *fedtest.Actor, group, text string) map[string]any {
	link, tag := mentionOf(group, "circle")
	return map[string]any{
		"content": "<p>" + link + " " + text + "</p>",
		"to":      []any{author.Followers},
		"cc":      []any{group},
		"tag":     []any{tag},
	}
}

// replyTo is what Mastodon sends when a member answers a note: it keeps
// the visibility and mentions the note's author and the accounts it
// mentioned.
func replyTo(author *fedtest.Actor, parent, text string, mentioned ...string) map[string]any {
	var tags []any
	cc := []any{}
	for _, id := range mentioned {
		tags = append(tags, map[string]any{"type": "Mention", "href": id})
		cc = append(cc, id)
	}
	return map[string]any{
		"content":   "<p>" + text + "</p>",
		"inReplyTo": parent,
		"to":        []any{author.Followers},
		"cc":        cc,
		"tag":       tags,
	}
}

// copyOf waits at inst for the group's Create of its copy of a post that
// contains text.
func copyOf(t *testing.T, inst *fedtest.Instance, group, text string) (fedtest.Delivery, map[string]any) {
	t.Helper()
	d := inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		content, _ := objectField(d.Activity, "content").(string)
		return d.Type() == "Create" && d.Activity["actor"] == group && strings.Contains(content, text)
	})
	if !d.Verified {
		t.Errorf("%s: the copy's signature did not verify: %s", inst.Host, d.Err)
	}
	return d, d.Activity["object"].(map[string]any)
}

func mentions(note map[string]any, href string) bool {
	tags, _ := note["tag"].([]any)
	for _, tag := range tags {
		if m, ok := tag.(map[string]any); ok && m["type"] == "Mention" && m["href"] == href {
			return true
		}
	}
	return false
}

// get fetches url, signed by actor unless actor is nil.
func get(t *testing.T, h *runningHearth, actor *fedtest.Actor, url string) (int, []byte) {
	t.Helper()
	var resp *http.Response
	var err error
	if actor != nil {
		resp, err = actor.Get(context.Background(), url)
	} else {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept", activitypub.ContentType)
		resp, err = h.network.Client().Do(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestPrivateGroupPublishesItsOwnCopyToMembersOnly(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", privateGroup("grief"))
	followers := group + "/followers"
	masto, social := h.network.NewInstance("mastodon.test"), h.network.NewInstance("social.test")
	elsewhere := h.network.NewInstance("elsewhere.test")
	alice, bob, carol := masto.NewActor("alice"), masto.NewActor("bob"), social.NewActor("carol")
	dave := elsewhere.NewActor("dave")
	joinPrivate(t, h, alice, masto, group)
	joinPrivate(t, h, bob, masto, group)
	joinPrivate(t, h, carol, social, group)
	mustPost(t, dave, group+"/inbox", dave.Follow(group)) // asks, and is never approved

	note := followersOnly(alice, group, "I miss her every morning.")
	note["summary"], note["sensitive"] = "loss", true
	note["attachment"] = []any{map[string]any{"type": "Document", "mediaType": "image/jpeg",
		"url": "http://mastodon.test/media/1.jpg", "name": "her garden"}}
	create := alice.Create(note)
	mustPost(t, alice, group+"/inbox", create)

	for _, inst := range []*fedtest.Instance{masto, social} {
		d, copied := copyOf(t, inst, group, "I miss her every morning.")
		if d.Inbox != inst.SharedInbox() {
			t.Errorf("%s: copy went to %s, want the shared inbox", inst.Host, d.Inbox)
		}
		if bytes.Contains(d.Raw, []byte("#Public")) || !equalStrings(d.Activity["to"], followers) ||
			!equalStrings(copied["to"], followers) || d.Activity["cc"] != nil || copied["cc"] != nil {
			t.Errorf("%s: copy is not addressed to the followers collection alone: %s", inst.Host, d.Raw)
		}
		if copied["attributedTo"] != group || !strings.HasPrefix(copied["id"].(string), group+"/notes/") {
			t.Errorf("%s: the copy is not the group's own note: %s", inst.Host, d.Raw)
		}
		content := copied["content"].(string)
		if !strings.Contains(content, `@alice@mastodon.test</a></span> wrote:`) {
			t.Errorf("%s: the copy does not credit alice: %s", inst.Host, content)
		}
		if !mentions(copied, alice.ID) || !mentions(copied, group) {
			t.Errorf("%s: the copy does not mention alice and the group: %v", inst.Host, copied["tag"])
		}
		if copied["summary"] != "grief: loss" || copied["sensitive"] != true {
			t.Errorf("%s: warning %v sensitive %v, want the group's warning before alice's", inst.Host, copied["summary"], copied["sensitive"])
		}
		attachments, _ := copied["attachment"].([]any)
		if len(attachments) != 1 || attachments[0].(map[string]any)["url"] != "http://mastodon.test/media/1.jpg" {
			t.Errorf("%s: attachment not carried by reference: %v", inst.Host, copied["attachment"])
		}
	}
	if creates := countOf(masto, "Create"); creates != 1 {
		t.Errorf("mastodon.test got the copy %d times, want once for its two members", creates)
	}

	// dave's server would have had the copy queued before this answer, and a
	// server new to us is sent one thing at a time, in order.
	if _, err := h.svc.RejectMember(context.Background(), "circle", dave.ID); err != nil {
		t.Fatal(err)
	}
	elsewhere.AwaitDelivery(t, wait, fedtest.OfType("Reject"))
	if n := countOf(elsewhere, "Create"); n != 0 {
		t.Errorf("a server with no member got %d copies", n)
	}
}

func countOf(inst *fedtest.Instance, typ string) int {
	n := 0
	for _, d := range inst.Deliveries() {
		if d.Type() == typ {
			n++
		}
	}
	return n
}

func equalStrings(v any, want ...string) bool {
	got := strings_(v)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestPrivateGroupShowsNothingToNonMembers(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", privateGroup(""))
	masto, elsewhere := h.network.NewInstance("mastodon.test"), h.network.NewInstance("elsewhere.test")
	alice, neighbour := masto.NewActor("alice"), masto.NewActor("neighbour")
	stranger := elsewhere.NewActor("stranger")
	mastoServer, elsewhereServer := instanceActor(t, masto), instanceActor(t, elsewhere)
	joinPrivate(t, h, alice, masto, group)
	mustPost(t, alice, group+"/inbox", alice.Create(followersOnly(alice, group, "Nobody at work knows.")))
	d, copied := copyOf(t, masto, group, "Nobody at work knows.")
	noteID, createID := copied["id"].(string), d.Activity["id"].(string)
	outboxPage := group + "/outbox?page=true"

	for _, tc := range []struct {
		name   string
		reader *fedtest.Actor
		url    string
		want   int
	}{
		{"unsigned fetch of the note", nil, noteID, http.StatusUnauthorized},
		{"non-member's signed fetch of the note", stranger, noteID, http.StatusForbidden},
		{"member's fetch of the note", alice, noteID, http.StatusOK},
		{"fetch by a member's server", mastoServer, noteID, http.StatusOK},
		{"fetch by a server with no member", elsewhereServer, noteID, http.StatusForbidden},
		{"fetch by a non-member on a member's server", neighbour, noteID, http.StatusForbidden},
		{"outbox page for a non-member on a member's server", neighbour, outboxPage, http.StatusForbidden},
		{"unsigned outbox page", nil, outboxPage, http.StatusUnauthorized},
		{"non-member's outbox page", stranger, outboxPage, http.StatusForbidden},
		{"member's outbox page", alice, outboxPage, http.StatusOK},
		{"non-member's fetch of the Create", stranger, createID, http.StatusForbidden},
		{"member's fetch of the Create", alice, createID, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, h, tc.reader, tc.url)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			leaked := bytes.Contains(body, []byte("Nobody at work knows")) || bytes.Contains(body, []byte(noteID))
			if tc.want == http.StatusOK && !leaked {
				t.Errorf("a member was not shown the post: %s", body)
			}
			if tc.want != http.StatusOK && leaked {
				t.Errorf("the refusal shows the post: %s", body)
			}
		})
	}

	for _, url := range []string{group + "/outbox", group + "/followers"} {
		status, body := get(t, h, nil, url)
		if status != http.StatusOK || bytes.Contains(body, []byte(noteID)) || bytes.Contains(body, []byte(alice.ID)) {
			t.Errorf("%s: status %d shows a post or a member: %s", url, status, body)
		}
	}

	pages, err := newPages(h.store, h.svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, group, nil)
	req.SetPathValue("name", "circle")
	rec := httptest.NewRecorder()
	pages.Group(rec, req)
	page := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(page, "A quiet room") || !strings.Contains(page, "ask to join") {
		t.Errorf("the page does not describe the group and how to join: %d %s", rec.Code, page)
	}
	for _, secret := range []string{"Nobody at work knows", "alice", noteID} {
		if strings.Contains(page, secret) {
			t.Errorf("the web page of a private group shows %q", secret)
		}
	}

	// Made public later, the group still keeps what it sent its members.
	if _, err := h.svc.UpdateGroup(context.Background(), "circle", func(g *storage.Group) { g.Visibility = storage.Public }); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{outboxPage, noteID, createID} {
		if status, body := get(t, h, stranger, url); bytes.Contains(body, []byte("Nobody at work knows")) {
			t.Errorf("%s of a group made public: status %d shows a members-only post: %s", url, status, body)
		}
	}
}

func TestPrivateThreadIsRepublishedAsAThread(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", privateGroup("grief"))
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	joinPrivate(t, h, alice, masto, group)
	joinPrivate(t, h, bob, masto, group)

	mustPost(t, alice, group+"/inbox", alice.Create(followersOnly(alice, group, "First winter without him.")))
	_, first := copyOf(t, masto, group, "First winter without him.")
	mustPost(t, bob, h.svc.IRIs().SharedInbox(), bob.Create(replyTo(bob, first["id"].(string), "The first is the hardest.", group, alice.ID)))
	_, second := copyOf(t, masto, group, "The first is the hardest.")
	// Alice answers Bob's copy without naming the group: the thread alone
	// brings it back.
	mustPost(t, alice, h.svc.IRIs().SharedInbox(), alice.Create(replyTo(alice, second["id"].(string), "Thank you, Bob.", bob.ID)))
	_, third := copyOf(t, masto, group, "Thank you, Bob.")

	if first["inReplyTo"] != nil {
		t.Errorf("the first post answers %v", first["inReplyTo"])
	}
	if second["inReplyTo"] != first["id"] || third["inReplyTo"] != second["id"] {
		t.Errorf("inReplyTo chain %v ← %v ← %v, want each copy to answer the previous copy",
			first["id"], second["inReplyTo"], third["inReplyTo"])
	}
	for i, note := range []map[string]any{first, second, third} {
		if note["context"] != first["id"] {
			t.Errorf("post %d is in thread %v, want %v", i+1, note["context"], first["id"])
		}
		if note["summary"] != "grief" || note["sensitive"] != true {
			t.Errorf("post %d: warning %v, want the group's", i+1, note["summary"])
		}
	}
	if !strings.Contains(third["content"].(string), "@alice@mastodon.test") {
		t.Errorf("the third copy credits someone else: %s", third["content"])
	}
}

// TestCopyCreditsItsAuthorUnmistakably: the group's copy names its author
// in the group's own words, so an account must not choose a name that
// makes the credit read as someone else's.
func TestCopyCreditsItsAuthorUnmistakably(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", privateGroup(""))
	masto := h.network.NewInstance("mastodon.test")
	mallory, eve := masto.NewActor("mallory"), masto.NewActor("eve\u202eliame")
	// Shown right to left after the override, "@mastodon.test wrote:"
	// would read as part of a credit to alice@other.example.
	mallory.Overrides = map[string]any{"preferredUsername": "alice@other.example\u202e"}
	eve.Overrides = map[string]any{"preferredUsername": ""} // credited by her id
	joinPrivate(t, h, mallory, masto, group)
	joinPrivate(t, h, eve, masto, group)

	for _, c := range []struct {
		author *fedtest.Actor
		text   string
		credit string
	}{
		{mallory, "Believe me.", "@" + mallory.ID + " wrote:"},
		{eve, "Believe me too.", "@http://mastodon.test/users/eveliame wrote:"},
	} {
		mustPost(t, c.author, group+"/inbox", c.author.Create(followersOnly(c.author, group, c.text)))
		_, copied := copyOf(t, masto, group, c.text)
		shown := activitypub.PlainText(copied["content"].(string))
		if !strings.HasPrefix(shown, c.credit) || strings.ContainsAny(shown, "\u202e") || strings.Contains(shown, "other.example") {
			t.Errorf("the copy reads %q, want it to start %q", shown, c.credit)
		}
	}
}

func TestEditsAndDeletesReachTheGroupsCopy(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", privateGroup(""))
	masto := h.network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	joinPrivate(t, h, alice, masto, group)
	create := alice.Create(followersOnly(alice, group, "Scan results on Friday."))
	mustPost(t, alice, group+"/inbox", create)
	_, copied := copyOf(t, masto, group, "Scan results on Friday.")
	copyID := copied["id"].(string)

	edited := followersOnly(alice, group, "Scan results on Monday now.")
	edited["id"] = objectField(create, "id")
	alice.Publish(edited)
	update := map[string]any{"@context": activitypub.ActivityStreamsContext, "id": edited["id"].(string) + "/edit/1",
		"type": "Update", "actor": alice.ID, "to": edited["to"], "object": withoutContext(edited)}
	mustPost(t, alice, group+"/inbox", update)
	d := masto.AwaitDelivery(t, wait, fedtest.OfType("Update"))
	if objectField(d.Activity, "id") != copyID || !strings.Contains(objectField(d.Activity, "content").(string), "Monday") ||
		objectField(d.Activity, "updated") == nil || objectField(d.Activity, "published") != copied["published"] {
		t.Errorf("the Update does not carry the edit of the copy: %s", d.Raw)
	}
	if !equalStrings(d.Activity["to"], group+"/followers") {
		t.Errorf("the Update is not addressed to the members alone: %s", d.Raw)
	}
	if status, body := get(t, h, alice, copyID); status != http.StatusOK || !bytes.Contains(body, []byte("Monday")) {
		t.Errorf("fetching the copy after the edit: %d %s", status, body)
	}

	del := map[string]any{"@context": activitypub.ActivityStreamsContext, "id": edited["id"].(string) + "#delete",
		"type": "Delete", "actor": alice.ID, "to": edited["to"], "object": map[string]any{"id": edited["id"], "type": "Tombstone"}}
	mustPost(t, alice, group+"/inbox", del)
	d = masto.AwaitDelivery(t, wait, fedtest.OfType("Delete"))
	if objectField(d.Activity, "id") != copyID || !equalStrings(d.Activity["to"], group+"/followers") {
		t.Errorf("the Delete does not remove the copy from the members: %s", d.Raw)
	}
	if status, _ := get(t, h, alice, copyID); status != http.StatusGone {
		t.Errorf("fetching the deleted copy: status %d, want 410", status)
	}
	_, page := get(t, h, alice, group+"/outbox?page=true")
	var outbox struct {
		OrderedItems []json.RawMessage `json:"orderedItems"`
	}
	if err := json.Unmarshal(page, &outbox); err != nil {
		t.Fatal(err)
	}
	for _, item := range outbox.OrderedItems {
		if bytes.Contains(item, []byte("Scan results")) {
			t.Errorf("the outbox still lists the deleted post: %s", item)
		}
	}
}

// outboxSize counts what the group has published to its members.
func outboxSize(t *testing.T, h *runningHearth, name string) int {
	t.Helper()
	var n int
	if err := h.store.View(context.Background(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName(name)
		if err != nil {
			return err
		}
		n, err = tx.CountOutbox(g.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPrivateGroupRepublishesOnlyWhatWasMeantForItsMembers(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", func(g *storage.Group) {
		privateGroup("")(g)
		g.AnonymousPosts = true
	})
	masto, riverside, mods := h.network.NewInstance("mastodon.test"), h.network.NewInstance("riverside.test"), h.network.NewInstance("mods.test")
	bob, river, keeper := masto.NewActor("bob"), riverside.NewActor("river"), mods.NewActor("keeper")
	joinPrivate(t, h, bob, masto, group)
	joinPrivate(t, h, river, riverside, group)
	if _, err := h.svc.AddModerator(context.Background(), "circle", keeper.ID); err != nil {
		t.Fatal(err)
	}
	mustPost(t, river, group+"/inbox", river.Create(directMessage(group, "!anon I lost my job today.")))
	notice := messageTo(t, mods, group, keeper, "An anonymous post waits")
	url := releaseLine.FindStringSubmatch(notice["content"].(string))[1]
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+url)))
	published := messageTo(t, riverside, group, river, "was published")
	before := outboxSize(t, h, "circle")

	answer := func(parent map[string]any, text string) map[string]any {
		dm := directMessage(group, text)
		dm["inReplyTo"] = parent["id"]
		return dm
	}
	groupLink, groupTag := mentionOf(group, "circle")
	riverLink, riverTag := mentionOf(river.ID, "river")
	toGroupAndRiver := map[string]any{"content": "<p>" + groupLink + " " + riverLink + " just between the three of us</p>",
		"to": []any{group, river.ID}, "tag": []any{groupTag, riverTag}}
	for _, tc := range []struct {
		name    string
		sender  *fedtest.Actor
		message map[string]any
	}{
		// river@riverside.test would be named above these words.
		{"the author's answer to the notice of publication", river, answer(published, "Thank you, this means a lot.")},
		{"the moderator's answer to the notice of a held post", keeper, answer(notice, "Looks fine, releasing it.")},
		{"a member's message in the form of a moderator's command", bob, directMessage(group, "release "+url)},
		{"a direct message to the group and another member", bob, toGroupAndRiver},
	} {
		mustPost(t, tc.sender, group+"/inbox", tc.sender.Create(tc.message))
		if n := outboxSize(t, h, "circle"); n != before {
			t.Errorf("%s was republished to the members", tc.name)
		}
	}

	// A direct message to the group alone is a post, as is a followers-only
	// post that mentions it. One that starts with a command's word but is
	// not in its form is a post too.
	mustPost(t, bob, group+"/inbox", bob.Create(directMessage(group, "Hello, I am new here.")))
	copyOf(t, riverside, group, "Hello, I am new here.")
	mustPost(t, bob, group+"/inbox", bob.Create(directMessage(group, "release the pressure, I need to talk")))
	copyOf(t, riverside, group, "release the pressure")
	mustPost(t, bob, group+"/inbox", bob.Create(followersOnly(bob, group, "Day two.")))
	copyOf(t, riverside, group, "Day two.")
	for _, d := range append(riverside.Deliveries(), masto.Deliveries()...) {
		for _, text := range []string{"this means a lot", "Looks fine", "release " + url, "between the three"} {
			if bytes.Contains(d.Raw, []byte(text)) {
				t.Errorf("%s got %q: %s", d.Inbox, text, d.Raw)
			}
		}
	}
}

func TestPrivateGroupNamesModeratorsAndCountsMembersOnlyForMembers(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", privateGroup(""))
	open := h.createGroup("open", nil)
	masto, elsewhere, mods := h.network.NewInstance("mastodon.test"), h.network.NewInstance("elsewhere.test"), h.network.NewInstance("mods.test")
	alice, stranger, keeper := masto.NewActor("alice"), elsewhere.NewActor("stranger"), mods.NewActor("keeper")
	joinPrivate(t, h, alice, masto, group)
	ctx := context.Background()
	for _, name := range []string{"circle", "open"} {
		if _, err := h.svc.AddModerator(ctx, name, keeper.ID); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name   string
		reader *fedtest.Actor
		url    string
		want   int
	}{
		{"unsigned", nil, group + "/moderators", http.StatusUnauthorized},
		{"non-member", stranger, group + "/moderators", http.StatusForbidden},
		{"member", alice, group + "/moderators", http.StatusOK},
		{"moderator", keeper, group + "/moderators", http.StatusOK},
		{"unsigned, public group", nil, open + "/moderators", http.StatusOK},
	} {
		status, body := get(t, h, tc.reader, tc.url)
		named := bytes.Contains(body, []byte(keeper.ID))
		if status != tc.want || named != (tc.want == http.StatusOK) {
			t.Errorf("%s fetch of %s: status %d, want %d: %s", tc.name, tc.url, status, tc.want, body)
		}
	}

	for _, tc := range []struct {
		name   string
		reader *fedtest.Actor
		url    string
		count  bool
	}{
		{"unsigned", nil, group + "/followers", false},
		{"non-member", stranger, group + "/followers", false},
		{"member", alice, group + "/followers", true},
		{"unsigned, public group", nil, open + "/followers", true},
	} {
		status, body := get(t, h, tc.reader, tc.url)
		var collection map[string]any
		if err := json.Unmarshal(body, &collection); err != nil || status != http.StatusOK {
			t.Errorf("%s fetch of %s: status %d: %s", tc.name, tc.url, status, body)
			continue
		}
		if _, counted := collection["totalItems"]; counted != tc.count {
			t.Errorf("%s fetch of %s: totalItems shown %v, want %v: %s", tc.name, tc.url, counted, tc.count, body)
		}
	}
}
