package storage_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// clock is a settable time source for the store.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func mustOpen(t testing.TB, path string, c *clock) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), path, storage.WithClock(c.now))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func update(t testing.TB, s *storage.Store, fn func(*storage.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsGroupsAndRecordsMigrations(t *testing.T) {
	t.Parallel()
	path := storagetest.Location(t)
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := mustOpen(t, path, c)
	g := &storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers,
		PrivateKeyPEM: "private", PublicKeyPEM: "public"}
	update(t, s, func(tx *storage.Tx) error { return tx.CreateGroup(g) })
	dup := *g
	err := s.Update(context.Background(), func(tx *storage.Tx) error { return tx.CreateGroup(&dup) })
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("second create: got %v, want ErrConflict", err)
	}
	s.Close()

	s = mustOpen(t, path, c)
	var got storage.Group
	if err := s.View(context.Background(), func(tx *storage.Tx) (err error) {
		got, err = tx.GroupByName("grief")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.PublicKeyPEM != "public" || got.PrivateKeyPEM != "private" || !got.CreatedAt.Equal(c.t) {
		t.Errorf("after reopen got %+v", got)
	}
	names, err := s.Migrations(context.Background())
	if err != nil || len(names) == 0 || !strings.HasPrefix(names[0], "0001_") {
		t.Errorf("migrations %v, %v", names, err)
	}
}

func TestReadOnlyViewRefusesWrites(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, storagetest.Location(t), &clock{t: time.Now()})
	err := s.View(context.Background(), func(tx *storage.Tx) error {
		return tx.CreateGroup(&storage.Group{Name: "x", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers})
	})
	if err == nil {
		t.Fatal("a write inside View succeeded")
	}
}

func enqueue(t testing.TB, s *storage.Store, id string, inboxes ...string) {
	t.Helper()
	update(t, s, func(tx *storage.Tx) error {
		return tx.Enqueue(storage.Activity{ID: id, Type: "Announce", Body: []byte(`{"id":"` + id + `"}`)}, inboxes)
	})
}

func claim(t testing.TB, s *storage.Store, limit, perHost int, lease time.Time) []storage.Job {
	t.Helper()
	var jobs []storage.Job
	update(t, s, func(tx *storage.Tx) (err error) {
		jobs, err = tx.ClaimDeliveries(limit, limit, perHost, lease)
		return err
	})
	return jobs
}

func countByHost(jobs []storage.Job) map[string]int {
	perHost := map[string]int{}
	for _, j := range jobs {
		perHost[j.Host]++
	}
	return perHost
}

func TestClaimSlowStartsNewHostsAndRespectsPerHostLimit(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	for i := range 5 {
		enqueue(t, s, fmt.Sprintf("https://hearth.test/a/%d", i), "https://busy.test/inbox", "https://quiet.test/inbox")
	}
	lease := c.t.Add(time.Minute)
	first := claim(t, s, 100, 2, lease)
	if got := countByHost(first); got["busy.test"] != 1 || got["quiet.test"] != 1 {
		t.Fatalf("first claim per host %v, want one each from hosts never seen", got)
	}
	for _, j := range first {
		if len(j.Body) == 0 {
			t.Errorf("job %d has no body", j.ID)
		}
	}
	var busyJob storage.Job
	for _, j := range first {
		if j.Host == "busy.test" {
			busyJob = j
		}
	}
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: busyJob, Verdict: storage.Delivered}})
	})
	second := claim(t, s, 100, 2, lease)
	if got := countByHost(second); got["busy.test"] != 2 || got["quiet.test"] != 0 {
		t.Fatalf("second claim per host %v, want 2 from the proven host and none from the busy new one", got)
	}
	if again := claim(t, s, 100, 2, lease); len(again) != 0 {
		t.Fatalf("claimed %d more while the hosts were full", len(again))
	}
	c.t = lease.Add(time.Second)
	if got := countByHost(claim(t, s, 100, 2, c.t.Add(time.Minute))); got["busy.test"] != 2 || got["quiet.test"] != 1 {
		t.Fatalf("after the leases ended claimed %v", got)
	}
}

func TestClaimCountsCautiousHostsApartFromHealthyOnes(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, filepath.Join(t.TempDir(), "hearth.db"), c)
	enqueue(t, s, "https://hearth.test/a/proof", "https://proven.test/inbox")
	proof := claim(t, s, 1, 1, c.t.Add(time.Minute))
	if len(proof) != 1 || !proof[0].Cautious {
		t.Fatalf("first claim %+v, want one job for a host never seen, cautious", proof)
	}
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: proof[0], Verdict: storage.Delivered}})
	})
	for i := range 3 {
		enqueue(t, s, fmt.Sprintf("https://hearth.test/a/%d", i), "https://proven.test/inbox",
			"https://new1.test/inbox", "https://new2.test/inbox", "https://new3.test/inbox")
	}
	var jobs []storage.Job
	update(t, s, func(tx *storage.Tx) (err error) {
		jobs, err = tx.ClaimDeliveries(2, 1, 4, c.t.Add(time.Minute))
		return err
	})
	healthy, cautious := 0, 0
	for _, j := range jobs {
		switch {
		case j.Host == "proven.test" && !j.Cautious:
			healthy++
		case j.Host != "proven.test" && j.Cautious:
			cautious++
		default:
			t.Errorf("job for %s marked cautious %v", j.Host, j.Cautious)
		}
	}
	if healthy != 2 || cautious != 1 {
		t.Errorf("claimed %d for the proven host and %d for new ones, want 2 and 1", healthy, cautious)
	}
	update(t, s, func(tx *storage.Tx) (err error) {
		jobs, err = tx.ClaimDeliveries(10, 10, 4, c.t.Add(time.Minute), "proven.test", "new1.test", "gone.test")
		return err
	})
	if got := countByHost(jobs); len(jobs) != 2 || got["new2.test"] != 1 || got["new3.test"] != 1 {
		t.Errorf("claimed %v skipping proven.test and new1.test, want one each for new2.test and new3.test", got)
	}
}

func TestOutcomesMarkAndReviveHosts(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	enqueue(t, s, "https://hearth.test/a/1", "https://down.test/inbox")
	enqueue(t, s, "https://hearth.test/a/2", "https://down.test/inbox")
	jobs := claim(t, s, 10, 4, c.t.Add(time.Minute))
	if len(jobs) != 1 {
		t.Fatalf("claimed %d from a new host, want 1", len(jobs))
	}
	retryAt := c.t.Add(time.Hour)
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{
			{Job: jobs[0], Verdict: storage.RetryLater, Error: "503", NextAttempt: c.t, HostRetryAt: retryAt},
		})
	})
	if got := claim(t, s, 10, 4, c.t.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("claimed %d from an unreachable host before its retry time", len(got))
	}
	c.t = retryAt
	probe := claim(t, s, 10, 4, c.t.Add(time.Minute))
	if len(probe) != 1 {
		t.Fatalf("claimed %d from a host due for a probe, want 1", len(probe))
	}
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: probe[0], Verdict: storage.Delivered}})
	})
	var hosts []storage.Host
	var stats storage.QueueStats
	if err := s.View(context.Background(), func(tx *storage.Tx) (err error) {
		if hosts, err = tx.FailingHosts(); err != nil {
			return err
		}
		stats, err = tx.QueueStats()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 0 {
		t.Errorf("failing hosts after a success: %+v", hosts)
	}
	if stats.Queued != 1 {
		t.Errorf("queued %d, want 1", stats.Queued)
	}
	if rest := claim(t, s, 10, 4, c.t.Add(time.Minute)); len(rest) != 1 {
		t.Errorf("after revival claimed %d, want 1", len(rest))
	}
}

func TestGroupIDsAreNeverReused(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, storagetest.Location(t), &clock{t: time.Now()})
	newGroup := func(name string) *storage.Group {
		return &storage.Group{Name: name, Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
	}
	first, second := newGroup("first"), newGroup("second")
	update(t, s, func(tx *storage.Tx) error { return tx.CreateGroup(first) })
	update(t, s, func(tx *storage.Tx) error { return tx.CreateGroup(second) })
	update(t, s, func(tx *storage.Tx) error { return tx.RetireGroup(second.ID) })
	update(t, s, func(tx *storage.Tx) error {
		_, err := tx.PurgeRetiredGroups()
		return err
	})
	third := newGroup("third")
	update(t, s, func(tx *storage.Tx) error { return tx.CreateGroup(third) })
	if third.ID == second.ID {
		t.Errorf("a new group took the id %d of a deleted one", third.ID)
	}
}

func TestSeenActivitiesAreForgottenAfterTheirTime(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	markSeen := func(id string) (fresh bool) {
		update(t, s, func(tx *storage.Tx) (err error) {
			fresh, err = tx.MarkSeen(id)
			return err
		})
		return fresh
	}
	seen := func(id string) (seen bool) {
		if err := s.View(context.Background(), func(tx *storage.Tx) (err error) {
			seen, err = tx.Seen(id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return seen
	}
	if seen("https://remote.test/a/1") {
		t.Fatal("an id is seen before it came")
	}
	if !markSeen("https://remote.test/a/1") || markSeen("https://remote.test/a/1") || !seen("https://remote.test/a/1") {
		t.Fatal("an id was not new the first time, or new the second, or not seen after")
	}
	c.t = c.t.Add(30 * 24 * time.Hour)
	update(t, s, func(tx *storage.Tx) error {
		_, err := tx.ForgetSeen(c.t.Add(-14 * 24 * time.Hour))
		return err
	})
	if seen("https://remote.test/a/1") || !markSeen("https://remote.test/a/1") {
		t.Error("an id from a month ago is still remembered")
	}
}

func TestRetiredGroupStaysForItsLastDeliveries(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	g := &storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
	update(t, s, func(tx *storage.Tx) error { return tx.CreateGroup(g) })
	update(t, s, func(tx *storage.Tx) error {
		return tx.Enqueue(storage.Activity{ID: "https://hearth.test/g/grief/activities/relay", GroupID: g.ID, Type: "Create",
			Body: []byte(`{"content":"members only"}`)}, []string{"https://remote.test/inbox"})
	})
	update(t, s, func(tx *storage.Tx) error {
		if err := tx.RetireGroup(g.ID); err != nil {
			return err
		}
		return tx.Enqueue(storage.Activity{ID: "https://hearth.test/g/grief/activities/bye", GroupID: g.ID, Type: "Delete",
			Body: []byte(`{}`)}, []string{"https://remote.test/inbox"})
	})
	purge := func() (n int64) {
		update(t, s, func(tx *storage.Tx) (err error) {
			n, err = tx.PurgeRetiredGroups()
			return err
		})
		return n
	}
	err := s.View(context.Background(), func(tx *storage.Tx) error {
		if _, err := tx.GroupByName("grief"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a retired group is found by name: %v", err)
		}
		_, err := tx.GroupByID(g.ID)
		return err
	})
	if err != nil {
		t.Fatalf("the retired group's key is gone before its last delivery: %v", err)
	}
	if n := purge(); n != 0 {
		t.Fatalf("purged %d groups with a delivery still queued", n)
	}
	jobs := claim(t, s, 10, 4, c.t.Add(time.Minute))
	if len(jobs) != 1 || jobs[0].ActivityID != "https://hearth.test/g/grief/activities/bye" {
		t.Fatalf("claimed %+v, want only the farewell: what the group queued before retiring is dropped", jobs)
	}
	var relay storage.Activity
	s.View(context.Background(), func(tx *storage.Tx) (err error) {
		relay, err = tx.ActivityByID("https://hearth.test/g/grief/activities/relay")
		return err
	})
	if bytes.Contains(relay.Body, []byte("members only")) {
		t.Errorf("a retired group's sent activity keeps its content: %s", relay.Body)
	}
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: jobs[0], Verdict: storage.Delivered}})
	})
	if n := purge(); n != 1 {
		t.Errorf("purged %d groups once the delivery was done, want 1", n)
	}
}

// TestUsernamesCachedBeforeTheCheckAreDropped runs the migration that drops
// the usernames actors were cached with before usernames were checked.
func TestUsernamesCachedBeforeTheCheckAreDropped(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hearth.db")
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := mustOpen(t, path, c)
	usernames := []struct {
		name  string
		stays bool
	}{
		{"alice", true}, {"Jean-Luc.P_2", true}, {"mastodon.example", true}, {"_", true}, {"", true},
		{".alice", false}, {"alice-", false}, {"alice@other.example", false}, {"alice\u202e", false},
		{"\x1b[2Jalice", false}, {"alice\nbob", false}, {"zoë", false}, {"\u212a", false},
	}
	id := func(i int) string { return fmt.Sprintf("https://a.example/users/%d", i) }
	update(t, s, func(tx *storage.Tx) error {
		for i, u := range usernames {
			if err := tx.PutActor(storage.Actor{ID: id(i), Host: "a.example", Username: u.name, Inbox: id(i) + "/inbox"}); err != nil {
				return err
			}
		}
		return nil
	})
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`DELETE FROM schema_migrations WHERE name = '0007_valid_usernames.sql'`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path, c)
	for i, u := range usernames {
		var a storage.Actor
		if err := s.View(context.Background(), func(tx *storage.Tx) (err error) {
			a, err = tx.Actor(id(i))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want := ""
		if u.stays {
			want = u.name
		}
		if a.Username != want {
			t.Errorf("username %q became %q, want %q", u.name, a.Username, want)
		}
	}
}

// TestWritesReachTheDatabaseFileWithoutACommitCopyingThem: what commits
// write goes to the write-ahead log, and is copied into the database file
// by a checkpoint. A commit that fills the log makes that copy itself,
// while every other write waits; the store checkpoints in the background
// long before.
func TestWritesReachTheDatabaseFileWithoutACommitCopyingThem(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hearth.db")
	s := mustOpen(t, path, &clock{t: time.Now()})
	body := bytes.Repeat([]byte("x"), 1<<20)
	update(t, s, func(tx *storage.Tx) error {
		return tx.Enqueue(storage.Activity{ID: "https://hearth.test/a/1", Type: "Create", Body: body}, nil)
	})
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > int64(len(body)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d bytes 10s after a commit of %d: nothing checkpointed the log", info.Size(), len(body))
		}
		<-tick.C
	}
}

// TestProcessesStartingTogetherMigrateOnce opens one new database from
// several stores at once, as processes starting together do.
func TestProcessesStartingTogetherMigrateOnce(t *testing.T) {
	t.Parallel()
	location := storagetest.Location(t)
	if !storage.ParseLocation(location).Postgres {
		t.Skip("a SQLite file has one serving process")
	}
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			s, err := storage.Open(context.Background(), location)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
