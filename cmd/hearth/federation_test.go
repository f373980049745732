package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

const (
	hearthHost = "hearth.test"
	wait       = 10 * time.Second
)

// runningHearth is one Hearth instance on a fake network, as a test sees it.
type runningHearth struct {
	t       *testing.T
	svc     *federation.Service
	store   *storage.Store
	network *fedtest.Network
	handler http.Handler // what the network routes hearthHost to
	stopped bool
}

func startHearth(t *testing.T, configure func(*federation.Config), options ...storage.Option) *runningHearth {
	t.Helper()
	network := fedtest.NewNetwork(t)
	h := launchHearth(t, network, storagetest.Location(t), configure, options...)
	network.Route(hearthHost, h.handler)
	return h
}

// launchHearth starts a Hearth on the database at location, on network,
// which the caller routes hearthHost of to its handler.
func launchHearth(t *testing.T, network *fedtest.Network, location string, configure func(*federation.Config), options ...storage.Option) *runningHearth {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, location, options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	base, _ := url.Parse("http://" + hearthHost)
	cfg := federation.Config{
		BaseURL:     base,
		Version:     "test",
		InsecureDev: true,
		Transport:   network.Transport(),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		GenerateKey: fedtest.Key,
	}
	if configure != nil {
		configure(&cfg)
	}
	svc, err := federation.New(ctx, cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h := &runningHearth{t: t, svc: svc, store: store, network: network, handler: settled(svc, testRoutes(t, svc, store))}
	t.Cleanup(func() { h.stop(5 * time.Second) })
	return h
}

// settled has each POST wait until Hearth has learned what it set out to
// learn in the background after the earlier ones, such as the software of
// a new member's server: a test then sees the member's first post relayed
// in the form their server reads, however the two raced.
func settled(svc *federation.Service, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if err := svc.Settle(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// stop stops the service, as a shutdown does, giving work in flight the
// time given to finish; stopping again does nothing.
func (h *runningHearth) stop(grace time.Duration) error {
	if h.stopped {
		return nil
	}
	h.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return h.svc.Stop(ctx)
}

func (h *runningHearth) createGroup(name string, change func(*storage.Group)) string {
	h.t.Helper()
	g := &storage.Group{Name: name, DisplayName: strings.ToUpper(name)}
	if change != nil {
		change(g)
	}
	if err := h.svc.CreateGroup(context.Background(), g); err != nil {
		h.t.Fatal(err)
	}
	return "http://" + hearthHost + "/g/" + name
}

// post sends an activity signed by actor and returns the status.
func post(t *testing.T, actor *fedtest.Actor, inbox string, activity any) int {
	t.Helper()
	resp, err := actor.Post(context.Background(), inbox, activity)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

func mustPost(t *testing.T, actor *fedtest.Actor, inbox string, activity any) {
	t.Helper()
	if status := post(t, actor, inbox, activity); status != http.StatusAccepted {
		t.Fatalf("%s posting %v: status %d, want 202", actor.Handle, activity, status)
	}
}

// join follows the group and waits for the Accept.
func join(t *testing.T, actor *fedtest.Actor, inst *fedtest.Instance, group string) {
	t.Helper()
	follow := actor.Follow(group)
	mustPost(t, actor, group+"/inbox", follow)
	inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Accept" && d.Inbox == actor.Inbox && objectField(d.Activity, "id") == follow["id"]
	})
}

// twoMastodonMembers has alice and bob, on one Mastodon server, join group.
func twoMastodonMembers(t *testing.T, h *runningHearth, group string) (masto *fedtest.Instance, alice, bob *fedtest.Actor) {
	t.Helper()
	masto = h.network.NewInstance("mastodon.test")
	alice, bob = masto.NewActor("alice"), masto.NewActor("bob")
	join(t, alice, masto, group)
	join(t, bob, masto, group)
	return masto, alice, bob
}

// mastodonAndLemmyMembers has alice, on a Mastodon server, and carol, on a
// Lemmy server, join group.
func mastodonAndLemmyMembers(t *testing.T, h *runningHearth, group string) (masto, lemmy *fedtest.Instance, alice, carol *fedtest.Actor) {
	t.Helper()
	masto, lemmy = h.network.NewInstance("mastodon.test"), h.network.NewInstance("lemmy.test")
	lemmy.SetSoftware("lemmy")
	alice, carol = masto.NewActor("alice"), lemmy.NewActor("carol")
	join(t, alice, masto, group)
	join(t, carol, lemmy, group)
	return masto, lemmy, alice, carol
}

func objectField(activity map[string]any, field string) any {
	if obj, ok := activity["object"].(map[string]any); ok {
		return obj[field]
	}
	return nil
}

func strings_(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, s := range v {
			if str, ok := s.(string); ok {
				out = append(out, str)
			}
		}
	}
	return out
}

func contains(list any, want string) bool {
	for _, s := range strings_(list) {
		if s == want {
			return true
		}
	}
	return false
}

// publicNote is what Mastodon sends for a public post mentioning the group.
func publicNote(author *fedtest.Actor, group, text string) map[string]any {
	return map[string]any{
		"content": "<p>" + text + "</p>",
		"to":      []any{activitypub.Public},
		"cc":      []any{author.Followers, group},
		"tag":     []any{map[string]any{"type": "Mention", "href": group, "name": "@grief@" + hearthHost}},
	}
}

// awaitBoost waits for the group's boost of the note noteID, the form
// microblogs show.
func awaitBoost(t *testing.T, inst *fedtest.Instance, noteID string) fedtest.Delivery {
	t.Helper()
	return inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Announce" && d.Activity["object"] == noteID
	})
}

// awaitWrapped waits for the group's FEP-1b12 Announce of the activity
// activityID, the form group-aware servers read.
func awaitWrapped(t *testing.T, inst *fedtest.Instance, activityID string) fedtest.Delivery {
	t.Helper()
	return inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Announce" && objectField(d.Activity, "id") == activityID
	})
}

// awaitBoostDeleted waits for the group's Delete of its boost boostID.
func awaitBoostDeleted(t *testing.T, inst *fedtest.Instance, boostID string) fedtest.Delivery {
	t.Helper()
	return inst.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Verified && d.Type() == "Delete" && d.Activity["object"] == boostID
	})
}

func countWhere(inst *fedtest.Instance, match func(fedtest.Delivery) bool) int {
	n := 0
	for _, d := range inst.Deliveries() {
		if match(d) {
			n++
		}
	}
	return n
}

func TestPublicGroupRelaysFollowPostEditDeleteUnfollow(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	followers := group + "/followers"

	masto := h.network.NewInstance("mastodon.test")
	lemmy := h.network.NewInstance("lemmy.test")
	lemmy.SetSoftware("lemmy")
	other := h.network.NewInstance("other.test")
	other.SetSoftware("something-new")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	carol, dave := lemmy.NewActor("carol"), other.NewActor("dave")
	for _, m := range []struct {
		actor *fedtest.Actor
		inst  *fedtest.Instance
	}{{alice, masto}, {bob, masto}, {carol, lemmy}, {dave, other}} {
		join(t, m.actor, m.inst, group)
	}

	// Alice posts. Mastodon gets the boost, Lemmy the FEP-1b12 form, and a
	// server running software we do not know gets both; each server once,
	// at its shared inbox, however many members it has.
	create := alice.Create(publicNote(alice, group, "Three years today."))
	createID, noteID := create["id"].(string), objectField(create, "id").(string)
	mustPost(t, alice, h.svc.IRIs().SharedInbox(), create)
	relayed := []fedtest.Delivery{awaitBoost(t, masto, noteID), awaitWrapped(t, lemmy, createID),
		awaitBoost(t, other, noteID), awaitWrapped(t, other, createID)}
	for _, d := range relayed {
		if !d.Verified || !strings.HasSuffix(d.Inbox, ".test/inbox") {
			t.Errorf("delivery %v verified=%v inbox=%s, want a verified delivery to the shared inbox", d, d.Verified, d.Inbox)
		}
		if d.Activity["actor"] != group || !contains(d.Activity["to"], activitypub.Public) ||
			!contains(d.Activity["cc"], followers) || !contains(d.Activity["cc"], alice.ID) {
			t.Errorf("%s: announce addressed wrongly: %s", d.Host, d.Raw)
		}
	}
	if wrapped := relayed[1]; objectField(wrapped.Activity, "actor") != alice.ID || objectField(wrapped.Activity, "type") != "Create" {
		t.Errorf("wrapped Create changed: %s", wrapped.Raw)
	}
	isAnnounce := func(d fedtest.Delivery) bool { return d.Type() == "Announce" }
	if n := countWhere(masto, isAnnounce); n != 1 {
		t.Errorf("mastodon.test got %d announces for two members, want one boost", n)
	}
	if n := countWhere(lemmy, func(d fedtest.Delivery) bool { return d.Type() == "Announce" && d.Activity["object"] == noteID }); n != 0 {
		t.Errorf("lemmy.test got %d boosts, which it refuses", n)
	}

	// Alice edits: group-aware servers get the Announce of the Update.
	edited := publicNote(alice, group, "Three years today. Thank you all.")
	edited["id"] = noteID
	alice.Publish(edited)
	update := map[string]any{"@context": activitypub.ActivityStreamsContext, "id": noteID + "/edit/1", "type": "Update",
		"actor": alice.ID, "to": []any{activitypub.Public}, "object": withoutContext(edited)}
	mustPost(t, alice, group+"/inbox", update)
	for _, inst := range []*fedtest.Instance{lemmy, other} {
		awaitWrapped(t, inst, update["id"].(string))
	}

	// Alice deletes: group-aware servers get the Delete, microblogs lose the boost.
	del := map[string]any{"@context": activitypub.ActivityStreamsContext, "id": noteID + "#delete", "type": "Delete",
		"actor": alice.ID, "to": []any{activitypub.Public}, "object": map[string]any{"id": noteID, "type": "Tombstone"}}
	mustPost(t, alice, h.svc.IRIs().SharedInbox(), del)
	for _, inst := range []*fedtest.Instance{lemmy, other} {
		awaitWrapped(t, inst, del["id"].(string))
	}
	for _, inst := range []*fedtest.Instance{masto, other} {
		undo := inst.AwaitDelivery(t, wait, fedtest.OfType("Undo"))
		if objectField(undo.Activity, "type") != "Announce" || objectField(undo.Activity, "object") != noteID {
			t.Errorf("%s: Undo does not withdraw the boost of the note: %s", inst.Host, undo.Raw)
		}
		// Servers that do not act on the Undo of a boost act on its Delete.
		awaitBoostDeleted(t, inst, objectField(undo.Activity, "id").(string))
	}

	// Nothing of the deleted post is kept.
	var posts []storage.Post
	h.store.View(context.Background(), func(tx *storage.Tx) (err error) {
		posts, err = tx.PostsOfObject(noteID)
		return err
	})
	if len(posts) != 1 || posts[0].State != storage.Removed || len(posts[0].RawActivity) != 0 || posts[0].Content != "" {
		t.Errorf("the deleted post is still stored: %+v", posts)
	}

	// Carol leaves; Bob's next post no longer reaches lemmy.test.
	mustPost(t, carol, group+"/inbox", carol.Undo(carol.Follow(group)))
	lemmyBefore := len(lemmy.Deliveries())
	create2 := bob.Create(publicNote(bob, group, "Thinking of you, Alice."))
	mustPost(t, bob, group+"/inbox", create2)
	awaitWrapped(t, other, create2["id"].(string))
	awaitBoost(t, masto, objectField(create2, "id").(string))
	if got := len(lemmy.Deliveries()); got != lemmyBefore {
		t.Errorf("lemmy.test got %d deliveries after its only member left", got-lemmyBefore)
	}
}

func withoutContext(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != "@context" {
			out[k] = v
		}
	}
	return out
}

func TestRepliesToRelayedPostsAreRelayed(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, bob := twoMastodonMembers(t, h, group)
	create := alice.Create(publicNote(alice, group, "Anyone awake?"))
	mustPost(t, alice, group+"/inbox", create)
	noteID := objectField(create, "id").(string)
	awaitBoost(t, masto, noteID)

	// Bob answers without mentioning the group.
	reply := bob.Create(map[string]any{"content": "<p>I am.</p>", "inReplyTo": noteID,
		"to": []any{activitypub.Public}, "cc": []any{alice.ID}})
	mustPost(t, bob, h.svc.IRIs().SharedInbox(), reply)
	awaitBoost(t, masto, objectField(reply, "id").(string))
}

func TestPrivateAddressingIsNeverRelayedByAPublicGroup(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	before := len(masto.Deliveries())

	followersOnly := alice.Create(map[string]any{"content": "<p>only for my followers</p>",
		"to": []any{alice.Followers}, "cc": []any{group},
		"tag": []any{map[string]any{"type": "Mention", "href": group}}})
	direct := alice.Create(map[string]any{"content": "<p>just to the group</p>", "to": []any{group},
		"tag": []any{map[string]any{"type": "Mention", "href": group}}})
	mustPost(t, alice, group+"/inbox", followersOnly)
	mustPost(t, alice, group+"/inbox", direct)
	assertNothingRelayed(t, h)
	if got := len(masto.Deliveries()); got != before {
		t.Errorf("a non-public post produced %d deliveries", got-before)
	}
}

// assertNothingRelayed checks that no post was stored and nothing was sent
// on behalf of the group "grief" but answers to follows.
func assertNothingRelayed(t *testing.T, h *runningHearth) {
	t.Helper()
	var posts, announced int
	if err := h.store.View(context.Background(), func(tx *storage.Tx) (err error) {
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		if announced, err = tx.CountOutbox(g.ID); err != nil {
			return err
		}
		posts, err = tx.CountPublicPosts()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if announced != 0 || posts != 0 {
		t.Errorf("stored %d posts and sent %d announces, want none", posts, announced)
	}
}

func TestApprovalGroupHoldsFollowsForAModerator(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("recovery", func(g *storage.Group) { g.Join = storage.JoinApproval })
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	follow := alice.Follow(group)
	mustPost(t, alice, group+"/inbox", follow)
	mustPost(t, bob, group+"/inbox", bob.Follow(group))
	ctx := context.Background()
	pending, err := h.svc.Members(ctx, "recovery", storage.Pending)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending %v, %v; want alice and bob", pending, err)
	}
	if _, err := h.svc.ApproveMember(ctx, "recovery", alice.Handle); err != nil {
		t.Fatal(err)
	}
	accept := masto.AwaitDelivery(t, wait, fedtest.OfType("Accept"))
	if objectField(accept.Activity, "id") != follow["id"] || accept.Inbox != alice.Inbox {
		t.Errorf("accept %s does not answer alice's follow", accept.Raw)
	}
	if _, err := h.svc.RejectMember(ctx, "recovery", "@bob@mastodon.test"); err != nil {
		t.Fatal(err)
	}
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Reject" && d.Inbox == bob.Inbox })
	if _, err := h.svc.ApproveMember(ctx, "recovery", bob.ID); err == nil {
		t.Error("approving bob after his rejection succeeded")
	}
}

func TestBannedActorsAndBlockedDomainsAreRejected(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) { c.Block = []string{"spam.test"} })
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	join(t, alice, masto, group)
	if _, err := h.svc.BanMember(context.Background(), "grief", alice.Handle, federation.BanTerms{}); err != nil {
		t.Fatal(err)
	}
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool { return d.Type() == "Reject" })
	mustPost(t, alice, group+"/inbox", alice.Follow(group))
	rejects := 0
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		if d.Type() == "Reject" {
			rejects++
		}
		return rejects == 2
	})

	spam := h.network.NewInstance("spam.test").NewActor("spammer")
	if status := post(t, spam, group+"/inbox", spam.Follow(group)); status != http.StatusForbidden {
		t.Errorf("follow from a blocked domain: status %d, want 403", status)
	}
}

// rawPost sends body with the signature prepared by sign, for tampering.
func rawPost(t *testing.T, h *runningHearth, inbox string, body []byte, prepare func(*http.Request)) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", activitypub.ContentType)
	if prepare != nil {
		prepare(req)
	}
	resp, err := h.network.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestInboxRefusesWhatItCannotVerify(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	inbox := group + "/inbox"
	masto := h.network.NewInstance("mastodon.test")
	alice, mallory := masto.NewActor("alice"), masto.NewActor("mallory")
	follow := alice.Follow(group)
	body, _ := json.Marshal(follow)
	// Decoding would refuse this too, but nothing is decoded before the
	// signature verifies.
	deep := []byte(`{"id": "` + alice.ID + `/deep", "type": "Follow", "actor": "` + alice.ID + `", "object": ` +
		strings.Repeat("[", activitypub.MaxDepth+1) + strings.Repeat("]", activitypub.MaxDepth+1) + `}`)

	tests := []struct {
		name    string
		body    []byte
		prepare func(*http.Request)
		want    int
	}{
		{"unsigned", body, nil, http.StatusUnauthorized},
		{"signed with another actor's key", body, func(r *http.Request) {
			mallory.Sign(r, body)
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), mallory.KeyID, alice.KeyID, 1))
		}, http.StatusUnauthorized},
		{"body tampered after signing", bytes.Replace(body, []byte("Follow"), []byte("Folloq"), 1), func(r *http.Request) {
			alice.Sign(r, body)
		}, http.StatusUnauthorized},
		{"date two hours old", body, func(r *http.Request) {
			r.Header.Set("Date", time.Now().Add(-2*time.Hour).UTC().Format(http.TimeFormat))
			alice.Sign(r, body)
		}, http.StatusUnauthorized},
		{"actor is not the signer", body, func(r *http.Request) { mallory.Sign(r, body) }, http.StatusUnauthorized},
		{"RFC 9421 signature that leaves the body unsigned", body, func(r *http.Request) {
			r.Header.Set("Signature-Input", `sig1=("@method" "@target-uri");created=1;keyid="`+alice.KeyID+`"`)
			r.Header.Set("Signature", "sig1=:AAAA:")
		}, http.StatusUnauthorized},
		{"RFC 9421, body tampered after signing", bytes.Replace(body, []byte("Follow"), []byte("Folloq"), 1), func(r *http.Request) {
			signer := *alice
			signer.MessageSignatures = true
			signer.Sign(r, body)
		}, http.StatusUnauthorized},
		{"badly signed, and nested too deeply to decode", deep, tamper(alice, deep), http.StatusUnauthorized},
		{"nested too deeply to decode", deep, func(r *http.Request) { alice.Sign(r, deep) }, http.StatusBadRequest},
		{"malformed JSON", []byte(`{"type": "Follow",`), func(r *http.Request) {
			alice.Sign(r, []byte(`{"type": "Follow",`))
		}, http.StatusBadRequest},
		{"2 MiB body", bytes.Repeat([]byte(" "), 2<<20), func(r *http.Request) {
			alice.Sign(r, bytes.Repeat([]byte(" "), 2<<20))
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawPost(t, h, inbox, tc.body, tc.prepare); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
	members, err := h.svc.Members(context.Background(), "grief", storage.Member)
	if err != nil || len(members) != 0 {
		t.Errorf("members after refused requests: %v, %v", members, err)
	}
	assertNothingRelayed(t, h)
}

func TestPostsFromNonMembersAreNotRelayed(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	stranger := h.network.NewInstance("elsewhere.test").NewActor("stranger")
	join(t, alice, masto, group)
	before := len(masto.Deliveries())
	mustPost(t, stranger, group+"/inbox", stranger.Create(publicNote(stranger, group, "buy now")))
	assertNothingRelayed(t, h)
	if got := len(masto.Deliveries()); got != before {
		t.Errorf("a stranger's post produced %d deliveries", got-before)
	}
}

func TestRedeliveredActivityChangesNothing(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	create := alice.Create(publicNote(alice, group, "once"))
	mustPost(t, alice, group+"/inbox", create)
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, objectField(create, "id").(string))
	var posts int
	h.store.View(context.Background(), func(tx *storage.Tx) (err error) {
		posts, err = tx.CountPublicPosts()
		return err
	})
	if posts != 1 {
		t.Errorf("%d posts stored for one activity sent twice", posts)
	}
}

func TestProfileChangesReachMembersServers(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	join(t, masto.NewActor("alice"), masto, group)
	if _, err := h.svc.UpdateGroup(context.Background(), "grief", func(g *storage.Group) {
		g.DisplayName = "Grief circle"
	}); err != nil {
		t.Fatal(err)
	}
	update := masto.AwaitDelivery(t, wait, fedtest.OfType("Update"))
	if objectField(update.Activity, "id") != group || objectField(update.Activity, "name") != "Grief circle" {
		t.Errorf("update does not carry the new profile: %s", update.Raw)
	}
}

func TestFetchesAreSignedForServersInSecureMode(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	secure := h.network.NewInstance("secure.test")
	secure.RequireSignedFetch(true)
	join(t, secure.NewActor("alice"), secure, group)
}

func TestRotatedKeyIsFetchedAgain(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, bob := twoMastodonMembers(t, h, group)
	alice.Key = bob.Key // alice's server rotates her key; Hearth has the old one cached
	create := alice.Create(publicNote(alice, group, "new key, same me"))
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, objectField(create, "id").(string))
}

func TestDeleteOfAGoneAccountIsDroppedQuietly(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	signer := masto.NewActor("signer")
	ghost := masto.URL("/users/ghost")
	body, _ := json.Marshal(map[string]any{"@context": activitypub.ActivityStreamsContext, "id": ghost + "#delete",
		"type": "Delete", "actor": ghost, "object": ghost, "to": []any{activitypub.Public}})
	status := rawPost(t, h, group+"/inbox", body, func(r *http.Request) {
		signer.Sign(r, body)
		r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), signer.KeyID, ghost+"#main-key", 1))
	})
	if status != http.StatusAccepted {
		t.Errorf("delete of a gone account: status %d, want 202", status)
	}
}

func TestInboxOfUnknownGroupIs404(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	alice := h.network.NewInstance("mastodon.test").NewActor("alice")
	group := "http://" + hearthHost + "/g/nobody"
	if status := post(t, alice, group+"/inbox", alice.Follow(group)); status != http.StatusNotFound {
		t.Errorf("status %d, want 404", status)
	}
}

func TestLikesAndTheirUndoReachGroupAwareServers(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	_, lemmy, alice, carol := mastodonAndLemmyMembers(t, h, group)
	create := alice.Create(publicNote(alice, group, "It helped to write this."))
	mustPost(t, alice, group+"/inbox", create)
	noteID := objectField(create, "id").(string)
	awaitWrapped(t, lemmy, create["id"].(string))
	like := map[string]any{"@context": activitypub.ActivityStreamsContext, "id": carol.ID + "/likes/1",
		"type": "Like", "actor": carol.ID, "object": noteID}
	mustPost(t, carol, group+"/inbox", like)
	awaitWrapped(t, lemmy, like["id"].(string))

	undo := carol.Undo(like)
	mustPost(t, carol, group+"/inbox", undo)
	awaitWrapped(t, lemmy, undo["id"].(string))
}

func TestDeletedAccountLeavesEveryGroup(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	grief, recovery := h.createGroup("grief", nil), h.createGroup("recovery", nil)
	masto := h.network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	join(t, alice, masto, grief)
	join(t, alice, masto, recovery)
	mustPost(t, alice, h.svc.IRIs().SharedInbox(), map[string]any{"@context": activitypub.ActivityStreamsContext,
		"id": alice.ID + "#delete", "type": "Delete", "actor": alice.ID, "object": alice.ID, "to": []any{activitypub.Public}})
	for _, name := range []string{"grief", "recovery"} {
		if members, err := h.svc.Members(context.Background(), name, storage.Member); err != nil || len(members) != 0 {
			t.Errorf("%s members after the account was deleted: %v, %v", name, members, err)
		}
	}
}

func TestMovedMemberKeepsMembershipAndBansFollow(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	grief, recovery := h.createGroup("grief", nil), h.createGroup("recovery", nil)
	oldHome, newHome := h.network.NewInstance("old.test"), h.network.NewInstance("new.test")
	alice := oldHome.NewActor("alice")
	join(t, alice, oldHome, grief)
	join(t, alice, oldHome, recovery)
	if _, err := h.svc.BanMember(context.Background(), "recovery", alice.Handle, federation.BanTerms{}); err != nil {
		t.Fatal(err)
	}
	moved := newHome.NewActor("alice")
	move := map[string]any{"@context": activitypub.ActivityStreamsContext, "id": alice.ID + "#move", "type": "Move",
		"actor": alice.ID, "object": alice.ID, "target": moved.ID}

	// The new account does not name the old one yet: the move is refused.
	if status := post(t, alice, h.svc.IRIs().SharedInbox(), move); status != http.StatusBadRequest {
		t.Errorf("move to an account without the alias: status %d, want 400", status)
	}
	moved.AlsoKnownAs = []string{alice.ID}
	move["id"] = alice.ID + "#move2"
	mustPost(t, alice, h.svc.IRIs().SharedInbox(), move)
	ctx := context.Background()
	members, _ := h.svc.Members(ctx, "grief", storage.Member)
	if len(members) != 1 || members[0].Actor.ID != moved.ID {
		t.Errorf("grief members after the move: %+v, want only the new account", members)
	}
	banned, _ := h.svc.Members(ctx, "recovery", storage.Banned)
	if len(banned) != 1 || banned[0].Actor.ID != moved.ID {
		t.Errorf("recovery bans after the move: %+v, want the new account", banned)
	}
}

func TestActivityIDOnAnotherServerIsRefused(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	mallory := h.network.NewInstance("evil.test").NewActor("mallory")
	join(t, alice, masto, group)
	create := alice.Create(publicNote(alice, group, "Today was hard."))
	noteID := objectField(create, "id").(string)
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, noteID)

	// Mallory uses the id Alice's Delete will have, hoping to make it look
	// like a repeat when it comes.
	squat := mallory.Follow(group)
	squat["id"] = noteID + "#delete"
	if status := post(t, mallory, group+"/inbox", squat); status != http.StatusBadRequest {
		t.Errorf("activity with another server's id: status %d, want 400", status)
	}
	mustPost(t, alice, group+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext, "id": noteID + "#delete",
		"type": "Delete", "actor": alice.ID, "to": []any{activitypub.Public}, "object": map[string]any{"id": noteID, "type": "Tombstone"}})
	masto.AwaitDelivery(t, wait, fedtest.OfType("Undo"))
}

func TestBanSurvivesDeletingTheAccount(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	mallory := masto.NewActor("mallory")
	join(t, mallory, masto, group)
	if _, err := h.svc.BanMember(context.Background(), "grief", mallory.Handle, federation.BanTerms{}); err != nil {
		t.Fatal(err)
	}
	mustPost(t, mallory, group+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext,
		"id": mallory.ID + "#delete", "type": "Delete", "actor": mallory.ID, "object": mallory.ID})
	mustPost(t, mallory, group+"/inbox", mallory.Follow(group))
	banned, err := h.svc.Members(context.Background(), "grief", storage.Banned)
	if err != nil || len(banned) != 1 {
		t.Fatalf("bans after the account was deleted and followed again: %v, %v", banned, err)
	}
	if members, _ := h.svc.Members(context.Background(), "grief", storage.Member); len(members) != 0 {
		t.Errorf("the banned account is a member again: %v", members)
	}
}

func TestEditThatNarrowsTheAudienceWithdrawsTheRelay(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, lemmy, alice, _ := mastodonAndLemmyMembers(t, h, group)
	create := alice.Create(publicNote(alice, group, "I said too much."))
	noteID := objectField(create, "id").(string)
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, noteID)

	narrowed := map[string]any{"id": noteID, "type": "Note", "attributedTo": alice.ID, "content": "<p>I said too much.</p>",
		"to": []any{alice.Followers}, "cc": []any{group}, "tag": []any{map[string]any{"type": "Mention", "href": group}}}
	alice.Publish(narrowed)
	mustPost(t, alice, group+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext,
		"id": noteID + "/edit/1", "type": "Update", "actor": alice.ID, "to": []any{alice.Followers}, "object": narrowed})
	masto.AwaitDelivery(t, wait, fedtest.OfType("Undo"))
	for _, d := range lemmy.Deliveries() {
		if objectField(d.Activity, "type") == "Update" {
			t.Errorf("the narrowed edit was relayed: %s", d.Raw)
		}
	}
}

func TestBlindCopiesAreNotPassedOnVerbatim(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, lemmy, alice, _ := mastodonAndLemmyMembers(t, h, group)
	note := publicNote(alice, group, "Copying my sister in quietly.")
	note["bcc"] = []any{"http://elsewhere.test/users/sister"}
	create := alice.Create(note)
	create["bcc"] = note["bcc"]
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, objectField(create, "id").(string))
	for _, d := range append(lemmy.Deliveries(), masto.Deliveries()...) {
		if bytes.Contains(d.Raw, []byte("sister")) {
			t.Errorf("a blind recipient was passed on: %s", d.Raw)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, group+"/outbox?page=true", nil)
	req.Header.Set("Accept", activitypub.ContentType)
	resp, err := h.network.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	outbox, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || bytes.Contains(outbox, []byte("sister")) {
		t.Errorf("outbox (status %d) shows a blind recipient: %s", resp.StatusCode, outbox)
	}
}

func TestDeletedGroupSaysGoodbyeToItsMembersServers(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	alice := masto.NewActor("alice")
	join(t, alice, masto, group)
	if err := h.svc.DeleteGroup(context.Background(), "grief"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.CreateGroup(context.Background(), &storage.Group{Name: "grief"}); !errors.Is(err, federation.ErrNameRetiring) {
		t.Errorf("reusing the name at once: got %v, want ErrNameRetiring", err)
	}
	bye := masto.AwaitDelivery(t, wait, fedtest.OfType("Delete"))
	if bye.Activity["actor"] != group || bye.Activity["object"] != group || bye.KeyID != group+"#main-key" {
		t.Errorf("farewell is not the group deleting itself, signed with its key: %s", bye.Raw)
	}
	req, _ := http.NewRequest(http.MethodGet, group, nil)
	req.Header.Set("Accept", activitypub.ContentType)
	resp, err := h.network.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted group's actor: status %d, want 404", resp.StatusCode)
	}
	if status := post(t, alice, h.svc.IRIs().SharedInbox(), alice.Create(publicNote(alice, group, "hello?"))); status != http.StatusAccepted {
		t.Errorf("a post to a deleted group: status %d, want 202 (ignored)", status)
	}
}

func TestDeleteOfAnAccountIsVerifiedWithItsLastKnownKey(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	key, err := activitypub.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := activitypub.EncodePublicKey(&key.PublicKey)
	const id = "http://gone.test/users/ghost"
	ghost := &fedtest.Actor{Username: "ghost", ID: id, Inbox: id + "/inbox", KeyID: id + "#main-key", Key: key}
	var deleted atomic.Bool
	network := h.network
	network.Route("gone.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if deleted.Load() || r.URL.Path != "/users/ghost" {
			http.Error(w, "gone", http.StatusGone)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": id, "type": "Person", "preferredUsername": "ghost", "inbox": id + "/inbox",
			"publicKey": map[string]string{"id": id + "#main-key", "owner": id, "publicKeyPem": pem}})
	}))
	send := func(activity map[string]any) int {
		body, _ := json.Marshal(activity)
		return rawPost(t, h, group+"/inbox", body, func(r *http.Request) { ghost.Sign(r, body) })
	}
	if status := send(map[string]any{"id": id + "/follow", "type": "Follow", "actor": id, "object": group}); status != http.StatusAccepted {
		t.Fatalf("follow: status %d", status)
	}
	deleted.Store(true)
	// The cached actor is old enough to be fetched again, but it is gone.
	h.store.Update(context.Background(), func(tx *storage.Tx) error {
		a, err := tx.Actor(id)
		if err != nil {
			return err
		}
		a.FetchedAt = time.Now().Add(-48 * time.Hour)
		return tx.PutActor(a)
	})
	if status := send(map[string]any{"id": id + "#delete", "type": "Delete", "actor": id, "object": id}); status != http.StatusAccepted {
		t.Fatalf("delete: status %d", status)
	}
	if members, _ := h.svc.Members(context.Background(), "grief", storage.Member); len(members) != 0 {
		t.Errorf("the deleted account is still a member: %v", members)
	}
}
