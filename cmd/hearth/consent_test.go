package main

import (
	"testing"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/fedtest"
)

// TestAnEditThatTakesTheGroupOutWithdrawsTheRelay has authors edit the
// group out of posts it relayed, still public or still for their
// followers: the consent the relay stood on is gone, so a public group
// undoes its boost and a private group deletes its copy.
func TestAnEditThatTakesTheGroupOutWithdrawsTheRelay(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)

	group := h.createGroup("grief", nil)
	masto, _, alice, _ := mastodonAndLemmyMembers(t, h, group)
	create := alice.Create(publicNote(alice, group, "Posted here by mistake."))
	noteID := objectField(create, "id").(string)
	mustPost(t, alice, group+"/inbox", create)
	awaitBoost(t, masto, noteID)
	ungrouped := map[string]any{"id": noteID, "type": "Note", "attributedTo": alice.ID, "content": "<p>Posted here by mistake.</p>",
		"to": []any{activitypub.Public}, "cc": []any{alice.Followers}}
	alice.Publish(ungrouped)
	mustPost(t, alice, group+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext,
		"id": noteID + "/edit/1", "type": "Update", "actor": alice.ID, "to": []any{activitypub.Public}, "object": ungrouped})
	undo := masto.AwaitDelivery(t, wait, fedtest.OfType("Undo"))
	if objectField(undo.Activity, "object") != noteID {
		t.Errorf("the Undo does not take back the boost of the note: %s", undo.Raw)
	}

	circle := h.createGroup("circle", privateGroup(""))
	other := h.network.NewInstance("other.test")
	bea := other.NewActor("bea")
	joinPrivate(t, h, bea, other, circle)
	private := bea.Create(followersOnly(bea, circle, "Only for the circle, I thought."))
	mustPost(t, bea, circle+"/inbox", private)
	_, copied := copyOf(t, other, circle, "Only for the circle, I thought.")
	edited := map[string]any{"id": objectField(private, "id"), "type": "Note", "attributedTo": bea.ID,
		"content": "<p>Only for the circle, I thought.</p>", "to": []any{bea.Followers}}
	bea.Publish(edited)
	mustPost(t, bea, circle+"/inbox", map[string]any{"@context": activitypub.ActivityStreamsContext,
		"id": edited["id"].(string) + "/edit/1", "type": "Update", "actor": bea.ID, "to": edited["to"], "object": edited})
	del := other.AwaitDelivery(t, wait, fedtest.OfType("Delete"))
	if objectField(del.Activity, "id") != copied["id"] {
		t.Errorf("the Delete does not remove the group's copy: %s", del.Raw)
	}
}
