package main

import (
	"bytes"
	"testing"

	"github.com/hearth-social/hearth/activitypub"
)

// TestObjectsOfOtherServersAreNotPassedOnUnderTheGroupsSignature has a
// member embed forged copies of another server's note in what they send:
// in a Like, and as the parent of a reply. The group passes the Like and
// the reply on, but names those notes by id only, so that no server takes
// the forgery as something the group vouched for.
func TestObjectsOfOtherServersAreNotPassedOnUnderTheGroupsSignature(t *testing.T) {
	t.Parallel()
	h := startHearth(t, nil)
	group := h.createGroup("grief", nil)
	_, lemmy, alice, carol := mastodonAndLemmyMembers(t, h, group)
	create := alice.Create(publicNote(alice, group, "It helped to write this."))
	mustPost(t, alice, group+"/inbox", create)
	noteID := objectField(create, "id").(string)
	awaitWrapped(t, lemmy, create["id"].(string))
	forged := map[string]any{"id": noteID, "type": "Note", "attributedTo": alice.ID, "content": "<p>forged words</p>"}

	like := map[string]any{"@context": activitypub.ActivityStreamsContext, "id": carol.ID + "/likes/1",
		"type": "Like", "actor": carol.ID, "object": forged}
	mustPost(t, carol, group+"/inbox", like)
	wrappedLike := awaitWrapped(t, lemmy, like["id"].(string))
	if got := objectField(wrappedLike.Activity, "object"); got != noteID {
		t.Errorf("the passed-on Like's object is %v, want the note's id %s", got, noteID)
	}

	reply := publicNote(carol, group, "Thank you for sharing.")
	reply["inReplyTo"] = forged
	replyCreate := carol.Create(reply)
	mustPost(t, carol, group+"/inbox", replyCreate)
	wrappedReply := awaitWrapped(t, lemmy, replyCreate["id"].(string))
	note, _ := objectField(wrappedReply.Activity, "object").(map[string]any)
	if note["inReplyTo"] != noteID {
		t.Errorf("the passed-on reply answers %v, want the parent's id %s", note["inReplyTo"], noteID)
	}

	for _, d := range lemmy.Deliveries() {
		if bytes.Contains(d.Raw, []byte("forged words")) {
			t.Errorf("a forged copy reached the Lemmy server in %s", d)
		}
	}
}
