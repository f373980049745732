package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

func view(t testing.TB, s *storage.Store, fn func(*storage.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// attempt queues one delivery to inbox and records verdict for it.
func attempt(t *testing.T, s *storage.Store, id, inbox string, verdict storage.Verdict) {
	t.Helper()
	update(t, s, func(tx *storage.Tx) error {
		if err := tx.Enqueue(storage.Activity{ID: id, Type: "Announce", Body: []byte(`{}`)}, []string{inbox}); err != nil {
			return err
		}
		jobs, err := tx.ClaimDeliveries(1, 1, 1, tx.Now().Add(time.Minute))
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.ActivityID == id {
				o := storage.Outcome{Job: j, Verdict: verdict, Error: "HTTP 500", NextAttempt: tx.Now().Add(time.Hour)}
				return tx.RecordOutcomes([]storage.Outcome{o})
			}
		}
		t.Fatalf("claimed %+v, not the delivery of %s", jobs, id)
		return nil
	})
}

func TestDeliveryHoursCountAttemptsAndForgetOldHours(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	attempt(t, s, "https://hearth.test/a/1", "https://up.test/inbox", storage.Delivered)
	attempt(t, s, "https://hearth.test/a/2", "https://down.test/inbox", storage.RetryLater)
	c.t = c.t.Add(time.Hour)
	attempt(t, s, "https://hearth.test/a/3", "https://up.test/inbox", storage.Delivered)
	var hours []storage.HourCount
	view(t, s, func(tx *storage.Tx) (err error) {
		hours, err = tx.DeliveryHours(c.t.Add(-24 * time.Hour))
		return err
	})
	want := []storage.HourCount{
		{Hour: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), Delivered: 1, Failed: 1},
		{Hour: time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC), Delivered: 1},
	}
	if len(hours) != len(want) || hours[0] != want[0] || hours[1] != want[1] {
		t.Fatalf("hours = %+v, want %+v", hours, want)
	}
	c.t = c.t.Add(8 * 24 * time.Hour)
	attempt(t, s, "https://hearth.test/a/4", "https://up.test/inbox", storage.Delivered)
	view(t, s, func(tx *storage.Tx) (err error) {
		hours, err = tx.DeliveryHours(time.Time{})
		return err
	})
	if len(hours) != 1 || !hours[0].Hour.Equal(c.t.Truncate(time.Hour)) {
		t.Errorf("after eight days, hours = %+v, want the current one alone", hours)
	}
}

func TestSessionsEndWhenTheyExpire(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	token := []byte("0123456789abcdef0123456789abcdef")
	update(t, s, func(tx *storage.Tx) error {
		admin, err := tx.CreateAdmin("Alex", "hash")
		if err != nil {
			return err
		}
		if _, err := tx.CreateAdmin("alex", "other"); !errors.Is(err, storage.ErrConflict) {
			t.Errorf("a second Alex in another case: %v, want ErrConflict", err)
		}
		return tx.CreateSession(storage.Session{TokenHash: token, Admin: admin, CSRFToken: "form", ExpiresAt: tx.Now().Add(time.Hour)})
	})
	view(t, s, func(tx *storage.Tx) error {
		session, err := tx.SessionByToken(token)
		if err != nil || session.Admin.Username != "Alex" || session.CSRFToken != "form" {
			t.Errorf("session = %+v, %v", session, err)
		}
		return nil
	})
	c.t = c.t.Add(time.Hour)
	view(t, s, func(tx *storage.Tx) error {
		if _, err := tx.SessionByToken(token); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("expired session: %v, want ErrNotFound", err)
		}
		return nil
	})
}

func TestThreadsListPublicRootsAndTheirReplies(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, storagetest.Location(t), &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	var g storage.Group
	posts := map[string]*storage.Post{}
	update(t, s, func(tx *storage.Tx) error {
		g = storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
		if err := tx.CreateGroup(&g); err != nil {
			return err
		}
		// root ← reply ← answer; hidden was shared with members alone,
		// and so is its reply.
		for _, p := range []struct{ name, parent, to string }{
			{"root", "", storage.PublicAudience}, {"reply", "root", storage.PublicAudience},
			{"answer", "reply", storage.PublicAudience}, {"hidden", "", "https://hearth.test/g/grief/followers"},
			{"aside", "root", "https://hearth.test/g/grief/followers"},
		} {
			post := &storage.Post{GroupID: g.ID, ObjectID: "https://m.test/" + p.name, AuthorID: "https://m.test/u",
				ActivityID: "https://m.test/c/" + p.name, State: storage.Relayed}
			if p.parent != "" {
				post.InReplyTo = "https://m.test/" + p.parent
			}
			if err := tx.CreatePost(post); err != nil {
				return err
			}
			posts[p.name] = post
			body := []byte(`{"type":"Announce","to":["` + p.to + `"]}`)
			if err := tx.Enqueue(storage.Activity{ID: "https://hearth.test/a/" + p.name, GroupID: g.ID, PostID: post.ID,
				Type: "Announce", InOutbox: true, Body: body}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx *storage.Tx) error {
		threads, err := tx.RelayedThreads(g.ID, 0, 10)
		if err != nil {
			return err
		}
		if len(threads) != 1 || threads[0].ID != posts["root"].ID || threads[0].Replies != 2 {
			t.Errorf("threads = %+v, want the root with 2 replies", threads)
		}
		replies, err := tx.ThreadReplies(*posts["root"], 10)
		if err != nil {
			return err
		}
		if len(replies) != 2 || replies[0].ID != posts["reply"].ID || replies[1].ID != posts["answer"].ID {
			t.Errorf("replies = %+v, want reply then answer", replies)
		}
		for name, want := range map[string]bool{"root": true, "hidden": false} {
			if shared, err := tx.SharedPublicly(posts[name].ID); err != nil || shared != want {
				t.Errorf("SharedPublicly(%s) = %v, %v; want %v", name, shared, err, want)
			}
		}
		return nil
	})
}
