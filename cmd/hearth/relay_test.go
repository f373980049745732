package main

import (
	"context"
	"testing"
	"time"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// awaitQueueDrained waits until every fan-out is expanded and every
// delivery made, so that what a server has not received by then it never
// will.
func (h *runningHearth) awaitQueueDrained() {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var stats storage.QueueStats
		err := h.store.View(context.Background(), func(tx *storage.Tx) (err error) {
			stats, err = tx.QueueStats()
			return err
		})
		switch {
		case err != nil:
			h.t.Fatal(err)
		case stats.FanOuts == 0 && stats.Queued == 0:
			return
		case time.Now().After(deadline):
			h.t.Fatalf("queue not drained within %v: %+v", wait, stats)
		}
		<-tick.C
	}
}

func TestARelayedPostReachesEachServerInTheFormsItReadsButNotBlockedServers(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) { c.Block = []string{"spam.test"} })
	group := h.createGroup("grief", nil)
	masto, lemmy, alice, _ := mastodonAndLemmyMembers(t, h, group)
	other := h.network.NewInstance("other.test")
	other.SetSoftware("friendica")
	join(t, other.NewActor("dee"), other, group)
	// A member on a server the instance stopped federating with after they
	// joined.
	spam := h.network.NewInstance("spam.test")
	spammer := spam.NewActor("spammer")
	err := h.store.Update(context.Background(), func(tx *storage.Tx) error {
		g, err := tx.GroupByName("grief")
		if err != nil {
			return err
		}
		if err := tx.PutActor(storage.Actor{ID: spammer.ID, Host: spam.Host, Username: spammer.Username,
			Inbox: spammer.Inbox, SharedInbox: spammer.SharedInbox}); err != nil {
			return err
		}
		return tx.SetMembership(g.ID, spammer.ID, storage.Member, "")
	})
	if err != nil {
		t.Fatal(err)
	}

	create := alice.Create(publicNote(alice, group, "Thank you all."))
	mustPost(t, alice, group+"/inbox", create)
	noteID := objectField(create, "id").(string)
	h.awaitQueueDrained()
	for inst, want := range map[*fedtest.Instance][2]int{masto: {1, 0}, lemmy: {0, 1}, other: {1, 1}, spam: {0, 0}} {
		boosts := countWhere(inst, func(d fedtest.Delivery) bool { return d.Type() == "Announce" && d.Activity["object"] == noteID })
		wrapped := countWhere(inst, func(d fedtest.Delivery) bool {
			return d.Type() == "Announce" && objectField(d.Activity, "id") == create["id"]
		})
		if boosts != want[0] || wrapped != want[1] {
			t.Errorf("%s received %d boosts and %d FEP-1b12 Announces, want %d and %d", inst.Host, boosts, wrapped, want[0], want[1])
		}
	}
}

func TestAPostRemovedAfterItsAuthorLeftIsRetractedFromTheirServerToo(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto, _, _ := twoMastodonMembers(t, h, group)
	solo := h.network.NewInstance("solo.test")
	carol := solo.NewActor("carol")
	follow := carol.Follow(group)
	mustPost(t, carol, group+"/inbox", follow)
	solo.AwaitDelivery(t, wait, fedtest.OfType("Accept"))
	create := carol.Create(publicNote(carol, group, "Selling things."))
	noteID := objectField(create, "id").(string)
	mustPost(t, carol, group+"/inbox", create)
	boost := awaitBoost(t, solo, noteID)
	awaitBoost(t, masto, noteID)
	mustPost(t, carol, group+"/inbox", carol.Undo(follow))

	if err := h.svc.RemovePost(context.Background(), "grief", noteID, "spam"); err != nil {
		t.Fatal(err)
	}
	for _, inst := range []*fedtest.Instance{masto, solo} {
		awaitBoostDeleted(t, inst, boost.Activity["id"].(string))
	}
	h.awaitQueueDrained()
	for _, inst := range []*fedtest.Instance{masto, solo} {
		if n := countWhere(inst, func(d fedtest.Delivery) bool {
			return d.Type() == "Undo" && objectField(d.Activity, "object") == noteID
		}); n != 1 {
			t.Errorf("%s got %d Undo of the boost, want 1", inst.Host, n)
		}
	}
}
