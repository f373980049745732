package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// fillQueue queues activities×hosts deliveries, one shared inbox per host,
// and marks every host proven so claims are not slow-started.
func fillQueue(tb testing.TB, s *storage.Store, activities, hosts int) {
	tb.Helper()
	inboxes := make([]string, hosts)
	for h := range inboxes {
		inboxes[h] = fmt.Sprintf("https://h%d.test/inbox", h)
	}
	update(tb, s, func(tx *storage.Tx) error {
		for a := range activities {
			err := tx.Enqueue(storage.Activity{ID: fmt.Sprintf("https://hearth.test/a/%d", a), Type: "Announce", Body: []byte(`{}`)}, inboxes)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func BenchmarkClaimDeliveries(b *testing.B) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(b, storagetest.Location(b), c)
	fillQueue(b, s, 50, 2000)
	c.t = c.t.Add(time.Second)
	var claimed []storage.Job
	for b.Loop() {
		claimed = claim(b, s, 64, 4, c.t.Add(time.Minute))
		c.t = c.t.Add(2 * time.Minute)
	}
	if len(claimed) != 64 {
		b.Fatalf("claimed %d, want 64", len(claimed))
	}
}

// rest makes host rest until the given time, as a failed probe does: its
// retry is due a minute on.
func rest(t *testing.T, s *storage.Store, c *clock, host string, until time.Time) {
	t.Helper()
	enqueue(t, s, "https://hearth.test/a/probe", "https://"+host+"/inbox")
	probe := claim(t, s, 1, 4, c.t.Add(time.Minute))
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: probe[0], Verdict: storage.RetryLater,
			Error: "HTTP 503", NextAttempt: c.t.Add(time.Minute), HostRetryAt: until}})
	})
}

// backlog queues n activities, numbered from first, for host's inbox.
func backlog(t *testing.T, s *storage.Store, host string, first, n int) {
	t.Helper()
	update(t, s, func(tx *storage.Tx) error {
		for a := first; a < first+n; a++ {
			err := tx.Enqueue(storage.Activity{ID: fmt.Sprintf("https://hearth.test/a/%d", a), Type: "Announce", Body: []byte(`{}`)},
				[]string{"https://" + host + "/inbox"})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func TestRestingHostsBacklogDoesNotHideOtherHosts(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	restEnds := c.t.Add(time.Hour)
	rest(t, s, c, "down.test", restEnds)
	backlog(t, s, "down.test", 0, 1000)
	enqueue(t, s, "https://hearth.test/a/last", "https://up.test/inbox")

	got := claim(t, s, 10, 4, c.t.Add(time.Minute))
	if len(got) != 1 || got[0].Host != "up.test" {
		t.Fatalf("claimed %+v, want the one delivery to the healthy host behind the resting host's backlog", got)
	}
	var next time.Time
	if err := s.View(context.Background(), func(tx *storage.Tx) (err error) { next, err = tx.NextDue(); return err }); err != nil {
		t.Fatal(err)
	}
	if !next.Equal(c.t.Add(time.Minute)) {
		t.Errorf("next due %v, want the probe's retry a minute on", next)
	}
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: got[0], Verdict: storage.Delivered}})
	})
	c.t = restEnds
	if again := claim(t, s, 10, 4, c.t.Add(time.Minute)); len(again) != 1 || again[0].Host != "down.test" {
		t.Errorf("after the rest claimed %d, want one probe of the resting host", len(again))
	}
}

// TestABusyHostsBacklogDoesNotHideOtherHosts: a host that can take no more
// requests now (one in flight, for a host not yet known to answer) has a
// backlog longer than a claim reads, and so has a resting host behind it;
// the delivery queued behind both is claimed all the same, by this
// process or another sharing the database.
func TestABusyHostsBacklogDoesNotHideOtherHosts(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	rest(t, s, c, "down.test", c.t.Add(time.Hour))
	backlog(t, s, "slow.test", 0, 500)
	backlog(t, s, "down.test", 500, 500)
	if first := claim(t, s, 10, 4, c.t.Add(time.Minute)); len(first) != 1 || first[0].Host != "slow.test" {
		t.Fatalf("claimed %+v, want one request to the new host", first)
	}
	enqueue(t, s, "https://hearth.test/a/last", "https://other.test/inbox")
	if got := claim(t, s, 10, 4, c.t.Add(time.Minute)); len(got) != 1 || got[0].Host != "other.test" {
		t.Fatalf("claimed %+v, want the one delivery behind the busy and the resting hosts' backlogs", got)
	}
}

func TestRefusalFailsTheDeliveryButNotTheHost(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	enqueue(t, s, "https://hearth.test/a/1", "https://picky.test/inbox")
	jobs := claim(t, s, 10, 4, c.t.Add(time.Minute))
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: jobs[0], Verdict: storage.Refused, Error: "refused with HTTP 403"}})
	})
	var failed []storage.FailedDelivery
	var hosts []storage.Host
	if err := s.View(context.Background(), func(tx *storage.Tx) (err error) {
		if failed, err = tx.RecentFailures(10); err != nil {
			return err
		}
		hosts, err = tx.FailingHosts()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].LastError != "refused with HTTP 403" || failed[0].Attempts != 1 {
		t.Errorf("failed deliveries %+v", failed)
	}
	if len(hosts) != 0 {
		t.Errorf("failing hosts %+v, want none: the host answered", hosts)
	}
}

func TestGivenUpDeliveriesAreForgottenAfterAMonth(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	enqueue(t, s, "https://hearth.test/a/1", "https://gone.test/inbox")
	jobs := claim(t, s, 10, 4, c.t.Add(time.Minute))
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: jobs[0], Verdict: storage.GiveUp, Error: "HTTP 410"}})
	})
	failures := func() int {
		var list []storage.FailedDelivery
		s.View(context.Background(), func(tx *storage.Tx) (err error) {
			list, err = tx.RecentFailures(10)
			return err
		})
		return len(list)
	}
	if failures() != 1 {
		t.Fatal("the given-up delivery is not listed")
	}
	c.t = c.t.Add(31 * 24 * time.Hour)
	update(t, s, func(tx *storage.Tx) error {
		_, err := tx.ForgetFailedDeliveries(c.t.Add(-30 * 24 * time.Hour))
		return err
	})
	if failures() != 0 {
		t.Error("a delivery given up a month ago is still listed")
	}
}

func TestAGoneInboxEndsTheMembershipsOfItsAccountOnlyWhenItIsTheAccountsOwn(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	var groups []int64
	for _, name := range []string{"knitting", "rowing", "chess"} {
		g := &storage.Group{Name: name, Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
		update(t, s, func(tx *storage.Tx) error { return tx.CreateGroup(g) })
		groups = append(groups, g.ID)
	}
	const (
		shared = "https://social.test/inbox"
		gone   = "https://social.test/users/gone/inbox"
		solo   = "https://solo.test/inbox" // a one-person server's inbox, shared in name
	)
	actors := []storage.Actor{
		{ID: "https://social.test/users/gone", Host: "social.test", Inbox: gone, SharedInbox: shared},
		{ID: "https://social.test/users/stays", Host: "social.test", Inbox: "https://social.test/users/stays/inbox", SharedInbox: shared},
		{ID: "https://solo.test/me", Host: "solo.test", Inbox: solo, SharedInbox: solo},
	}
	update(t, s, func(tx *storage.Tx) error {
		for _, a := range actors {
			if err := tx.PutActor(a); err != nil {
				return err
			}
		}
		for _, m := range []struct {
			group int64
			actor string
			state storage.MemberState
		}{
			{groups[0], actors[0].ID, storage.Member},
			{groups[1], actors[0].ID, storage.Pending},
			{groups[2], actors[0].ID, storage.Banned},
			{groups[0], actors[1].ID, storage.Member},
			{groups[0], actors[2].ID, storage.Member},
		} {
			if err := tx.SetMembership(m.group, m.actor, m.state, ""); err != nil {
				return err
			}
		}
		return nil
	})
	enqueue(t, s, "https://hearth.test/a/1", gone)
	refused := claim(t, s, 10, 4, c.t.Add(time.Minute))
	enqueue(t, s, "https://hearth.test/a/2", gone, shared, solo)

	gone410 := func(inbox string) (ended int64) {
		update(t, s, func(tx *storage.Tx) (err error) {
			if inbox == gone {
				err = tx.RecordOutcomes([]storage.Outcome{{Job: refused[0], Verdict: storage.Refused,
					Error: "refused with HTTP 410"}})
			}
			if err == nil {
				ended, err = tx.InboxGone(inbox)
			}
			return err
		})
		return ended
	}
	if n := gone410(shared); n != 0 {
		t.Errorf("a shared inbox's 410 ended %d memberships", n)
	}
	if n := gone410(solo); n != 0 {
		t.Errorf("the 410 of an inbox its server names shared ended %d memberships", n)
	}
	if n := gone410(gone); n != 2 {
		t.Errorf("the account's own inbox's 410 ended %d memberships, want its membership and its request", n)
	}

	err := s.View(context.Background(), func(tx *storage.Tx) error {
		for _, want := range []struct {
			group int64
			actor string
			state storage.MemberState // "" when it has none
		}{
			{groups[0], actors[0].ID, ""},
			{groups[1], actors[0].ID, ""},
			{groups[2], actors[0].ID, storage.Banned},
			{groups[0], actors[1].ID, storage.Member},
			{groups[0], actors[2].ID, storage.Member},
		} {
			m, err := tx.Membership(want.group, want.actor)
			if errors.Is(err, storage.ErrNotFound) {
				err = nil
			}
			if err != nil {
				return err
			}
			if m.State != want.state {
				t.Errorf("%s in group %d is %q, want %q", want.actor, want.group, m.State, want.state)
			}
		}
		stats, err := tx.QueueStats()
		if err != nil {
			return err
		}
		failed, err := tx.RecentFailures(10)
		if err != nil {
			return err
		}
		if stats.Queued != 2 || len(failed) != 1 || failed[0].Inbox != gone || failed[0].LastError != "refused with HTTP 410" {
			t.Errorf("queue %+v, failures %+v; want the shared inboxes' deliveries queued and only the refusal kept of the gone inbox's",
				stats, failed)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAnOutcomeChangesOnlyTheClaimItIsFor: the result of an attempt whose
// lease ran out, or whose row is gone, arrives late. It must neither undo
// the claim that took the delivery since, nor touch a new delivery that
// took the old one's id.
func TestAnOutcomeChangesOnlyTheClaimItIsFor(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	queued := func() int {
		var stats storage.QueueStats
		s.View(context.Background(), func(tx *storage.Tx) (err error) { stats, err = tx.QueueStats(); return err })
		return stats.Queued
	}
	fillQueue(t, s, 1, 1)
	first := claim(t, s, 1, 1, c.t.Add(time.Minute))
	c.t = c.t.Add(2 * time.Minute)
	second := claim(t, s, 1, 1, c.t.Add(time.Minute))
	if len(first) != 1 || len(second) != 1 || first[0].ID != second[0].ID {
		t.Fatalf("claims %+v then %+v, want the same delivery twice", first, second)
	}
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: first[0], Verdict: storage.RetryLater, NextAttempt: c.t}})
	})
	if again := claim(t, s, 1, 1, c.t.Add(time.Minute)); len(again) != 0 {
		t.Errorf("the late outcome of the first claim released the second: claimed %+v", again)
	}
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: second[0], Verdict: storage.Delivered}})
	})
	update(t, s, func(tx *storage.Tx) error {
		return tx.Enqueue(storage.Activity{ID: "https://hearth.test/a/next", Type: "Announce", Body: []byte(`{}`)}, []string{"https://h0.test/inbox"})
	})
	update(t, s, func(tx *storage.Tx) error {
		return tx.RecordOutcomes([]storage.Outcome{{Job: second[0], Verdict: storage.Delivered}, {Job: first[0], Verdict: storage.GiveUp}})
	})
	if n := queued(); n != 1 {
		t.Errorf("%d deliveries queued after late outcomes, want the new one", n)
	}
}

// TestClaimsFromSeveralProcessesKeepThePerHostLimit claims from two stores
// on one database at once, as two processes sharing it do: together they
// never hold more of one host's deliveries than the per-host limit, and
// never the same delivery twice.
func TestClaimsFromSeveralProcessesKeepThePerHostLimit(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	location := storagetest.Location(t)
	stores := []*storage.Store{mustOpen(t, location, c), mustOpen(t, location, c)}
	fillQueue(t, stores[0], 40, 5)
	update(t, stores[0], func(tx *storage.Tx) error {
		for h := range 5 {
			if err := tx.RecordOutcomes([]storage.Outcome{{Job: storage.Job{Host: fmt.Sprintf("h%d.test", h)}, Verdict: storage.Delivered}}); err != nil {
				return err
			}
		}
		return nil
	})
	const perHost = 3
	claims := make(chan []storage.Job, 8)
	for i := range cap(claims) {
		go func() {
			var jobs []storage.Job
			err := stores[i%2].UpdateQueue(context.Background(), func(tx *storage.Tx) (err error) {
				jobs, err = tx.ClaimDeliveries(10, 10, perHost, c.t.Add(time.Minute))
				return err
			})
			if err != nil {
				t.Error(err)
			}
			claims <- jobs
		}()
	}
	seen := map[int64]bool{}
	perHostHeld := map[string]int{}
	for range cap(claims) {
		for _, j := range <-claims {
			if seen[j.ID] {
				t.Errorf("delivery %d claimed twice", j.ID)
			}
			seen[j.ID] = true
			perHostHeld[j.Host]++
		}
	}
	for host, n := range perHostHeld {
		if n > perHost {
			t.Errorf("%s: %d deliveries in flight, want at most %d", host, n, perHost)
		}
	}
	if len(perHostHeld) != 5 {
		t.Errorf("claims reached hosts %v, want all 5", perHostHeld)
	}
}
