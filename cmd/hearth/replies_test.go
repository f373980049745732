package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

func TestReplyScopeSaysWhichRepliesMastodonGetsAsBoosts(t *testing.T) {
	t.Parallel()
	for _, scope := range []struct {
		replies storage.ReplyScope
		// Whether Mastodon gets the boost of a reply that only addresses
		// the group, and of one that mentions it.
		addressed, mentioning bool
	}{
		{storage.RepliesAll, true, true},
		{storage.RepliesStarters, false, false},
		{storage.RepliesNone, false, true},
	} {
		t.Run(string(scope.replies), func(t *testing.T) {
			t.Parallel()
			h := startHearth(t, nil)
			group := h.createGroup("grief", func(g *storage.Group) { g.Replies = scope.replies })
			masto, lemmy, alice, carol := mastodonAndLemmyMembers(t, h, group)
			other := h.network.NewInstance("other.test")
			other.SetSoftware("something-new")
			join(t, other.NewActor("dave"), other, group)
			starter := relayedToBoth(t, alice, masto, lemmy, group, publicNote(alice, group, "Anyone awake?"))

			// Carol comments from Lemmy, which addresses the group without
			// mentioning it; Alice answers with the group's mention, as
			// Mastodon's composer keeps it.
			addressed := carol.Create(map[string]any{"content": "<p>I am.</p>", "inReplyTo": starter,
				"to": []any{activitypub.Public}, "cc": []any{group, alice.ID}})
			mustPost(t, carol, group+"/inbox", addressed)
			mention := replyTo(alice, objectField(addressed, "id").(string), "Thank you.", group)
			mention["to"] = []any{activitypub.Public}
			mentioning := alice.Create(mention)
			mustPost(t, alice, group+"/inbox", mentioning)

			// Lemmy, and a server whose software Hearth does not know, get
			// every reply in the FEP-1b12 form; a later thread starter
			// reaches every server: what one has not had by then was not
			// sent.
			for _, inst := range []*fedtest.Instance{lemmy, other} {
				awaitWrapped(t, inst, addressed["id"].(string))
				awaitWrapped(t, inst, mentioning["id"].(string))
			}
			barrier := relayedToBoth(t, alice, masto, lemmy, group, publicNote(alice, group, "Good night."))
			awaitBoost(t, other, barrier)
			for _, reply := range []struct {
				name     string
				activity map[string]any
				boosted  bool
			}{
				{"the reply addressed to the group", addressed, scope.addressed},
				{"the reply mentioning the group", mentioning, scope.mentioning},
			} {
				noteID := objectField(reply.activity, "id").(string)
				boosts := boostsOf(masto, noteID)
				wrapped := countWhere(masto, func(d fedtest.Delivery) bool {
					return d.Type() == "Announce" && objectField(d.Activity, "id") == reply.activity["id"]
				})
				want := map[bool]int{true: 1, false: 0}[reply.boosted]
				if boosts != want || wrapped != 0 {
					t.Errorf("--replies %s: Mastodon got %d boosts and %d wrapped forms of %s, want %d and 0",
						scope.replies, boosts, wrapped, reply.name, want)
				}
				if got := boostsOf(other, noteID); got != want {
					t.Errorf("--replies %s: the unknown server got %d boosts of %s, want %d", scope.replies, got, reply.name, want)
				}
				if got := boostsOf(lemmy, noteID); got != 0 {
					t.Errorf("--replies %s: Lemmy got %d boosts of %s", scope.replies, got, reply.name)
				}
			}

			// The thread page shows every reply, whatever the scope.
			visitor := newWebClient(t, h)
			thread := visitor.get(threadOf(t, visitor, "Anyone awake?"))
			if thread.status != http.StatusOK || !strings.Contains(thread.body, "I am.") || !strings.Contains(thread.body, "Thank you.") {
				t.Errorf("--replies %s: the thread page lacks a reply (%d):\n%s", scope.replies, thread.status, thread.body)
			}
		})
	}
}

// boostsOf counts the boosts of the note noteID that inst received.
func boostsOf(inst *fedtest.Instance, noteID string) int {
	return countWhere(inst, func(d fedtest.Delivery) bool {
		return d.Type() == "Announce" && d.Activity["object"] == noteID
	})
}

// relayedToBoth has author post note to group and waits until the Mastodon
// server has its boost and the Lemmy server its FEP-1b12 form; it returns
// the note's id.
func relayedToBoth(t *testing.T, author *fedtest.Actor, masto, lemmy *fedtest.Instance, group string, note map[string]any) string {
	t.Helper()
	create := author.Create(note)
	mustPost(t, author, group+"/inbox", create)
	noteID := objectField(create, "id").(string)
	awaitBoost(t, masto, noteID)
	awaitWrapped(t, lemmy, create["id"].(string))
	return noteID
}

// threadOf is the path of the thread page that the group page "grief"
// links to beside the post that reads text.
func threadOf(t *testing.T, visitor *webClient, text string) string {
	t.Helper()
	body := visitor.get("/g/grief").body
	at := strings.Index(body, text)
	if at < 0 {
		t.Fatalf("the group page does not show %q:\n%s", text, body)
	}
	return threadPath(t, body[at:])
}

func TestPrivateGroupPublishesEveryReplyWhateverItsReplyScope(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", func(g *storage.Group) {
		privateGroup("")(g)
		g.Replies = storage.RepliesStarters
	})
	masto := h.network.NewInstance("mastodon.test")
	alice, bob := masto.NewActor("alice"), masto.NewActor("bob")
	joinPrivate(t, h, alice, masto, group)
	joinPrivate(t, h, bob, masto, group)

	mustPost(t, alice, group+"/inbox", alice.Create(followersOnly(alice, group, "First winter without him.")))
	_, first := copyOf(t, masto, group, "First winter without him.")
	// The group's copy is the only way members see a reply: it publishes
	// the one that mentions it, and the one that reaches it by its thread.
	mustPost(t, bob, h.svc.IRIs().SharedInbox(), bob.Create(replyTo(bob, first["id"].(string), "The first is the hardest.", group)))
	_, second := copyOf(t, masto, group, "The first is the hardest.")
	mustPost(t, alice, h.svc.IRIs().SharedInbox(), alice.Create(replyTo(alice, second["id"].(string), "Thank you, Bob.", bob.ID)))
	copyOf(t, masto, group, "Thank you, Bob.")
}

func TestReplyScopeFromTheCLI(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	getenv := func(name string) string {
		return map[string]string{"HEARTH_STORAGE_DRIVER": cfg.Storage.Driver, "HEARTH_STORAGE_DSN": cfg.Storage.DSN, "HEARTH_STORAGE_PATH": cfg.Storage.Path}[name]
	}
	mustHearth(t, getenv, "group", "create", "grief")
	if show := mustHearth(t, getenv, "group", "show", "grief"); !regexp.MustCompile(`(?m)^replies:\s+all$`).MatchString(show) {
		t.Errorf("a new group does not boost every reply:\n%s", show)
	}
	mustHearth(t, getenv, "group", "create", "crowd", "--replies", "starters")
	if show := mustHearth(t, getenv, "group", "show", "crowd"); !regexp.MustCompile(`(?m)^replies:\s+starters$`).MatchString(show) {
		t.Errorf("group create --replies starters:\n%s", show)
	}
	if updated := mustHearth(t, getenv, "group", "update", "grief", "--replies", "none"); !regexp.MustCompile(`(?m)^replies:\s+none$`).MatchString(updated) {
		t.Errorf("group update --replies none:\n%s", updated)
	}
	if code, _, stderr := hearth(t, getenv, "group", "update", "grief", "--replies", "some"); code != 2 {
		t.Errorf("--replies some: exit %d, want 2 (usage); stderr %q", code, stderr)
	}
}
