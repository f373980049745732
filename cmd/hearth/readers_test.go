package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

func TestPrivateGroupKnowsServerActorsFromAccounts(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("circle", privateGroup(""))
	gts := h.network.NewInstance("gts.test")
	gts.SetSoftware("gotosocial")
	alice := gts.NewActor("alice")
	joinPrivate(t, h, alice, gts, group)
	mustPost(t, alice, group+"/inbox", alice.Create(followersOnly(alice, group, "Back from the hospital.")))
	_, copied := copyOf(t, gts, group, "Back from the hospital.")
	noteID := copied["id"].(string)

	for _, tc := range []struct {
		name   string
		reader func() *fedtest.Actor
		want   int
	}{
		// GoToSocial's instance actor is a Person named after its host.
		{"GoToSocial's instance actor", func() *fedtest.Actor { return gts.NewActor("gts.test") }, http.StatusOK},
		{"Misskey's instance actor", func() *fedtest.Actor {
			return publishActor(t, gts, "/actors/instance.actor", "Service", "instance.actor")
		}, http.StatusOK},
		{"a person", func() *fedtest.Actor { return gts.NewActor("neighbour") }, http.StatusForbidden},
		{"a bot", func() *fedtest.Actor { return publishActor(t, gts, "/bots/helper", "Service", "helper") }, http.StatusForbidden},
		{"a person named after another server", func() *fedtest.Actor { return gts.NewActor("mastodon.test") }, http.StatusForbidden},
	} {
		if status, body := get(t, h, tc.reader(), noteID); status != tc.want {
			t.Errorf("%s's fetch of a member's post: status %d, want %d: %s", tc.name, status, tc.want, body)
		}
	}
}

func TestAuthorizedFetchServesDocumentsOnlyToSignedRequests(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) {
		c.AuthorizedFetch = true
		c.Block = []string{"blocked.test"}
	})
	group := h.createGroup("circle", func(g *storage.Group) { g.AnonymousPosts = true })
	masto, mods := h.network.NewInstance("mastodon.test"), h.network.NewInstance("mods.test")
	alice, keeper := masto.NewActor("alice"), mods.NewActor("keeper")
	stranger := h.network.NewInstance("elsewhere.test").NewActor("stranger")
	spammer := h.network.NewInstance("blocked.test").NewActor("spammer")
	join(t, alice, masto, group)
	if _, err := h.svc.AddModerator(context.Background(), "circle", keeper.ID); err != nil {
		t.Fatal(err)
	}
	// A released anonymous post is a public note of the group's own.
	mustPost(t, alice, group+"/inbox", alice.Create(directMessage(group, "!anon Nobody at home knows.")))
	notice := messageTo(t, mods, group, keeper, "Nobody at home knows.")
	note := releaseLine.FindStringSubmatch(notice["content"].(string))[1]
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+note)))
	create := masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Create" && objectField(d.Activity, "id") == note
	})
	activity := create.Activity["id"].(string)

	for _, url := range []string{group + "/outbox", group + "/outbox?page=true", group + "/followers", group + "/featured",
		group + "/moderators", note, activity} {
		if status, body := get(t, h, nil, url); status != http.StatusUnauthorized {
			t.Errorf("unsigned fetch of %s: status %d, want 401: %s", url, status, body)
		}
		if status, body := get(t, h, spammer, url); status != http.StatusForbidden {
			t.Errorf("fetch of %s signed on a blocked server: status %d, want 403: %s", url, status, body)
		}
		if status, body := get(t, h, stranger, url); status != http.StatusOK {
			t.Errorf("signed fetch of %s: status %d, want 200: %s", url, status, body)
		}
	}

	// What peers need to check signatures and find the group stays open.
	for _, url := range []string{"http://" + hearthHost + "/actor", group, "http://" + hearthHost + "/.well-known/webfinger?resource=acct:circle@" + hearthHost,
		"http://" + hearthHost + "/.well-known/nodeinfo", "http://" + hearthHost + "/nodeinfo/2.1", "http://" + hearthHost + "/.well-known/host-meta"} {
		if status, body := get(t, h, nil, url); status != http.StatusOK {
			t.Errorf("unsigned fetch of %s: status %d, want 200: %s", url, status, body)
		}
	}
}
