package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// TestAReportOfAnAnonymousPostDoesNotNameItsAuthor has a member's server
// report a released anonymous post: the report, as the console and the
// service show it, names the group's copy and nobody behind it.
func TestAReportOfAnAnonymousPostDoesNotNameItsAuthor(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group, masto, _, mods, _, river, keeper := anonymousCircle(t, h)
	mustPost(t, river, group+"/inbox", river.Create(directMessage(group, "!anon Nobody should know this was me.")))
	m := releaseLine.FindStringSubmatch(messageTo(t, mods, group, keeper, "An anonymous post waits")["content"].(string))
	if m == nil {
		t.Fatal("no release line")
	}
	url := m[1]
	mustPost(t, keeper, group+"/inbox", keeper.Create(directMessage(group, "release "+url)))
	masto.AwaitDelivery(t, wait, func(d fedtest.Delivery) bool {
		return d.Type() == "Create" && objectField(d.Activity, "id") == url
	})

	server := instanceActor(t, masto)
	mustPost(t, server, group+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext,
		"id": server.ID + "/flags/1", "type": "Flag", "actor": server.ID, "to": group,
		"content": "This upset me.", "object": []any{group, url}})
	awaitQueueEmpty(t, h)
	reports, err := h.svc.Reports(context.Background(), "circle")
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 {
		t.Fatalf("reports %+v, want the one", reports)
	}
	shown := fmt.Sprintf("%+v", reports[0])
	for _, trace := range []string{river.ID, river.Username, "riverside.test"} {
		if strings.Contains(shown, trace) {
			t.Errorf("the report names the anonymous author (%q): %s", trace, shown)
		}
	}
	if len(reports[0].Posts) != 1 || reports[0].Posts[0].Page != url {
		t.Errorf("the report's post is %+v, want the group's copy %s", reports[0].Posts, url)
	}
}

// TestDeleteWithNothingToDeleteIsExplainedOnce has a member send the
// group "!delete" again and again with no anonymous post to delete: the
// group explains once, and then keeps quiet, so that nobody can make it
// send messages at will.
func TestDeleteWithNothingToDeleteIsExplainedOnce(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group, masto, _, _, bob, _, _ := anonymousCircle(t, h)
	for range 3 {
		mustPost(t, bob, group+"/inbox", bob.Create(directMessage(group, "!delete")))
	}
	messageTo(t, masto, group, bob, "To delete an anonymous post")
	awaitQueueEmpty(t, h)
	explained := countWhere(masto, func(d fedtest.Delivery) bool {
		content, _ := objectField(d.Activity, "content").(string)
		return strings.Contains(content, "To delete an anonymous post")
	})
	if explained != 1 {
		t.Errorf("the group explained %d times, want once", explained)
	}
}

// TestAServerCannotFloodTheModeratorsWithReports has one server report five
// members in turn: the moderators are told of the first three one by one,
// and every report is kept for "reports".
func TestAServerCannotFloodTheModeratorsWithReports(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	masto := h.network.NewInstance("mastodon.test")
	mods, keeper := moderator(t, h, group)
	server := instanceActor(t, masto)
	for i := range 5 {
		member := masto.NewActor(fmt.Sprintf("member%d", i))
		join(t, member, masto, group)
		mustPost(t, server, group+"/inbox", mastodonFlag(t, server, group, member))
	}
	awaitQueueEmpty(t, h)
	told := countWhere(mods, func(d fedtest.Delivery) bool {
		content, _ := objectField(d.Activity, "content").(string)
		return equalStrings(d.Activity["to"], keeper.ID) && strings.Contains(content, "from mastodon.test")
	})
	if told != 3 {
		t.Errorf("the moderator was told of %d reports, want 3", told)
	}
	if reports, err := h.svc.Reports(context.Background(), "grief"); err != nil || len(reports) != 5 {
		t.Errorf("%d reports kept (%v), want 5", len(reports), err)
	}
}

// awaitQueueEmpty waits until every queued delivery has gone out. The
// inbox queues in the transaction it commits before its 202, so what a
// request caused is in the queue by then.
func awaitQueueEmpty(t *testing.T, h *runningHearth) {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		var queued int
		if err := h.store.View(context.Background(), func(tx *storage.Tx) error {
			s, err := tx.QueueStats()
			queued = s.Queued
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still queued after %v", queued, wait)
		}
	}
}

// TestAStrangerHasOnePostWaitingAtATime has someone who is no member write
// three posts to a group that holds strangers' posts: the first waits for
// the moderators, who are told once; the others are dropped.
func TestAStrangerHasOnePostWaitingAtATime(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", func(g *storage.Group) { g.NonMembers = storage.NonMembersHeld })
	mods, keeper := moderator(t, h, group)
	stranger := h.network.NewInstance("far.test").NewActor("stranger")
	for i := range 3 {
		mustPost(t, stranger, group+"/inbox", stranger.Create(publicNote(stranger, group, fmt.Sprintf("Post %d.", i))))
	}
	awaitQueueEmpty(t, h)
	told := countWhere(mods, func(d fedtest.Delivery) bool { return equalStrings(d.Activity["to"], keeper.ID) })
	held, err := h.svc.HeldPosts(context.Background(), "grief")
	if told != 1 || err != nil || len(held) != 1 {
		t.Errorf("the moderator was told %d times and %d posts wait (%v), want one each", told, len(held), err)
	}
}
