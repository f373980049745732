package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

func TestDomainPoliciesAndTheirVersion(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	version := func() int64 {
		t.Helper()
		var v int64
		if err := s.View(context.Background(), func(tx *storage.Tx) (err error) {
			v, err = tx.DomainPoliciesVersion()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	update(t, s, func(tx *storage.Tx) error {
		return tx.PutDomainPolicy(storage.DomainPolicy{Domain: "spam.example", Policy: storage.DomainBlock, Reason: "spam"})
	})
	c.t = c.t.Add(time.Hour)
	update(t, s, func(tx *storage.Tx) error {
		if err := tx.PutDomainPolicy(storage.DomainPolicy{Domain: "spam.example", Policy: storage.DomainBlock, Reason: "spam wave"}); err != nil {
			return err
		}
		return tx.PutDomainPolicy(storage.DomainPolicy{Domain: "friends.example", Policy: storage.DomainAllow})
	})
	v1 := version()
	if v1 <= v0 {
		t.Errorf("version %d after changes, %d before", v1, v0)
	}
	var got []storage.DomainPolicy
	update(t, s, func(tx *storage.Tx) (err error) {
		got, err = tx.DomainPolicies()
		return err
	})
	want := []storage.DomainPolicy{
		{Domain: "spam.example", Policy: storage.DomainBlock, Reason: "spam wave", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Domain: "friends.example", Policy: storage.DomainAllow, CreatedAt: c.t},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("policies = %+v, want %+v (blocks first; a second block keeps the first date, takes the new reason)", got, want)
	}

	err := s.Update(context.Background(), func(tx *storage.Tx) error { return tx.RemoveDomainPolicy(storage.DomainAllow, "spam.example") })
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("removing an allow that is not there: %v, want ErrNotFound", err)
	}
	if version() != v1 {
		t.Error("a removal that removed nothing changed the version")
	}
	update(t, s, func(tx *storage.Tx) error { return tx.RemoveDomainPolicy(storage.DomainBlock, "spam.example") })
	if version() == v1 {
		t.Error("a removal did not change the version")
	}
}

func TestEndingMembershipsAndDroppingDeliveriesByHost(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	g := &storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers,
		PrivateKeyPEM: "private", PublicKeyPEM: "public"}
	update(t, s, func(tx *storage.Tx) error {
		if err := tx.CreateGroup(g); err != nil {
			return err
		}
		for _, m := range []struct {
			id, host string
			state    storage.MemberState
		}{
			{"https://spam.example/users/sam", "spam.example", storage.Member},
			{"https://spam.example/users/pat", "spam.example", storage.Pending},
			{"https://spam.example/users/bea", "spam.example", storage.Banned},
			{"https://masto.example/users/alice", "masto.example", storage.Member},
		} {
			if err := tx.PutActor(storage.Actor{ID: m.id, Host: m.host, Inbox: m.id + "/inbox"}); err != nil {
				return err
			}
			if err := tx.SetMembership(g.ID, m.id, m.state, ""); err != nil {
				return err
			}
		}
		return nil
	})
	enqueue(t, s, "https://hearth.test/a/1", "https://spam.example/inbox", "https://masto.example/inbox")
	enqueue(t, s, "https://hearth.test/a/2", "https://SPAM.example./users/sam/inbox")
	claim(t, s, 10, 4, c.t.Add(time.Minute))

	asked := map[string]bool{}
	refused := func(host string) bool {
		asked[host] = true
		return host == "spam.example"
	}
	var ended, dropped int64
	update(t, s, func(tx *storage.Tx) (err error) {
		if ended, err = tx.EndMembershipsOnHosts(refused); err != nil {
			return err
		}
		dropped, err = tx.DropDeliveriesToHosts(refused)
		return err
	})
	if ended != 2 || dropped != 2 {
		t.Errorf("ended %d memberships and dropped %d deliveries, want 2 (member and pending, not the ban) and 2 (in flight or not)", ended, dropped)
	}
	if !asked["masto.example"] || len(asked) != 2 {
		t.Errorf("the judge was asked about %v, want each host once", asked)
	}
	if err := s.View(context.Background(), func(tx *storage.Tx) error {
		for id, want := range map[string]storage.MemberState{
			"https://spam.example/users/bea":    storage.Banned,
			"https://masto.example/users/alice": storage.Member,
		} {
			if m, err := tx.Membership(g.ID, id); err != nil || m.State != want {
				t.Errorf("%s: %+v, %v; want %s", id, m, err, want)
			}
		}
		if _, err := tx.Membership(g.ID, "https://spam.example/users/sam"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("sam is still in the group: %v", err)
		}
		stats, err := tx.QueueStats()
		if err == nil && stats.Queued != 1 {
			t.Errorf("%d deliveries queued, want masto.example's alone", stats.Queued)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
