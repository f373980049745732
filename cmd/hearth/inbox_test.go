package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation/fedtest"
)

func TestFollowIsAcceptedWhileTheServersNodeInfoHangs(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	stuck := h.network.NewInstance("stuck.test")
	stuck.HangOn("/.well-known/nodeinfo")
	alice := stuck.NewActor("alice")

	// Mastodon gives up on a delivery after 10 seconds, and Hearth would
	// wait 20 for each of the two NodeInfo documents.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := alice.Post(ctx, group+"/inbox", alice.Follow(group))
	if err != nil {
		t.Fatalf("the Follow was not answered in time: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	stuck.AwaitDelivery(t, wait, fedtest.OfType("Accept"))
	stuck.AwaitFetches(t, "/.well-known/nodeinfo", 1, wait)
	if err := h.stop(2 * time.Second); err != nil {
		t.Errorf("stopping while the NodeInfo hangs: %v", err)
	}
}

func TestRedeliveredCreateFetchesNothing(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, alice, _ := twoMastodonMembers(t, h, group)
	create := alice.Create(publicNote(alice, group, "sent by reference"))
	noteID := objectField(create, "id").(string)
	create["object"] = noteID
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, noteID)
	mustPost(t, alice, group+"/inbox", create)
	if n := masto.Fetches(strings.TrimPrefix(noteID, masto.URL(""))); n != 1 {
		t.Errorf("the note was fetched %d times for one Create delivered twice, want once", n)
	}
}
