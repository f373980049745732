package main

import (
	"net/http"
	"testing"

	"github.com/hearth-social/hearth/federation/fedtest"
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
