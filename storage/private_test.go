package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

func TestErasePostKeepsOnlyTheShellOfWhatWasSent(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	const secret = "river@riverside.test wrote: I relapsed"
	g := &storage.Group{Name: "circle", Visibility: storage.Private, Join: storage.JoinApproval,
		Posting: storage.PostingMembers, PrivateKeyPEM: "private", PublicKeyPEM: "public"}
	p := &storage.Post{ObjectID: "http://riverside.test/notes/1", AuthorID: "http://riverside.test/users/river",
		ActivityID: "http://riverside.test/notes/1/activity", CopyID: "http://h.test/g/circle/notes/a",
		State: storage.Relayed, Content: "<p>" + secret + "</p>", RawActivity: []byte(`{"content":"` + secret + `"}`)}
	other := &storage.Post{ObjectID: "http://riverside.test/notes/2", AuthorID: p.AuthorID,
		ActivityID: "http://riverside.test/notes/2/activity", State: storage.Relayed, RawActivity: []byte(`{"content":"kept"}`)}
	activity := func(id, typ string, postID int64) storage.Activity {
		return storage.Activity{ID: id, GroupID: g.ID, PostID: postID, Type: typ, InOutbox: true,
			Body: []byte(`{"id":"` + id + `","type":"` + typ + `","actor":"http://h.test/g/circle","object":{"content":"` + secret + `"}}`)}
	}
	inbox := []string{"http://mastodon.test/inbox"}
	update(t, s, func(tx *storage.Tx) error {
		if err := tx.CreateGroup(g); err != nil {
			return err
		}
		p.GroupID, other.GroupID = g.ID, g.ID
		if err := tx.CreatePost(p); err != nil {
			return err
		}
		if err := tx.CreatePost(other); err != nil {
			return err
		}
		for _, a := range []storage.Activity{
			activity("http://h.test/g/circle/activities/create", "Create", p.ID),
			activity("http://h.test/g/circle/activities/notice", "Create", 0),
			activity("http://h.test/g/circle/activities/other", "Create", other.ID),
		} {
			if err := tx.Enqueue(a, inbox); err != nil {
				return err
			}
		}
		return tx.AddNotice(storage.Notice{NoteID: "http://h.test/g/circle/notes/n", GroupID: g.ID, PostID: p.ID,
			Recipient: "http://mods.test/users/keeper", ActivityID: "http://h.test/g/circle/activities/notice"})
	})

	// A worker holds the first delivery, of the post's Create, as the post
	// is scrubbed.
	claim := func() []storage.Job {
		t.Helper()
		var jobs []storage.Job
		update(t, s, func(tx *storage.Tx) (err error) {
			jobs, err = tx.ClaimDeliveries(10, 10, 10, c.t.Add(time.Minute))
			return err
		})
		return jobs
	}
	held := claim()
	if len(held) != 1 || held[0].ActivityID != "http://h.test/g/circle/activities/create" {
		t.Fatalf("claimed %+v, want the post's Create alone from a host new to us", held)
	}

	update(t, s, func(tx *storage.Tx) error { return tx.ErasePost(p, storage.Removed) })

	err := s.View(context.Background(), func(tx *storage.Tx) error {
		scrubbed, err := tx.PostByID(p.ID)
		if err != nil {
			return err
		}
		if len(scrubbed.RawActivity) != 0 || scrubbed.Content != "" {
			t.Errorf("the post keeps raw %q and content %q", scrubbed.RawActivity, scrubbed.Content)
		}
		for _, id := range []string{"http://h.test/g/circle/activities/create", "http://h.test/g/circle/activities/notice"} {
			a, err := tx.ActivityByID(id)
			if err != nil {
				return err
			}
			var shell map[string]any
			if err := json.Unmarshal(a.Body, &shell); err != nil {
				t.Errorf("%s: the scrubbed body is not JSON: %q", id, a.Body)
				continue
			}
			if len(shell) != 4 || shell["id"] != id || shell["type"] != "Create" || shell["actor"] != "http://h.test/g/circle" {
				t.Errorf("%s: scrubbed to %s, want only its context, id, type and actor", id, a.Body)
			}
		}
		untouched, err := tx.ActivityByID("http://h.test/g/circle/activities/other")
		if err != nil {
			return err
		}
		if !bytes.Contains(untouched.Body, []byte(secret)) {
			t.Errorf("another post's activity was scrubbed: %s", untouched.Body)
		}
		kept, err := tx.PostByID(other.ID)
		if err != nil {
			return err
		}
		if string(kept.RawActivity) != `{"content":"kept"}` {
			t.Errorf("another post lost its activity: %q", kept.RawActivity)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The held delivery is left for its worker, whose lease runs out; the
	// notice's queued delivery is gone, and the other post's remains.
	c.t = c.t.Add(2 * time.Minute)
	if again := claim(); len(again) != 1 || again[0].ID != held[0].ID {
		t.Fatalf("after the lease: claimed %+v, want the held delivery back", again)
	}
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: held[0], Verdict: storage.Delivered}})
	})
	if rest := claim(); len(rest) != 1 || rest[0].ActivityID != "http://h.test/g/circle/activities/other" {
		t.Errorf("due after the scrub: %+v, want only the other post's", rest)
	}
}
