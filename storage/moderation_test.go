package storage_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// moderatedGroup opens a store with one group and two of its posts.
func moderatedGroup(t *testing.T, c *clock) (*storage.Store, *storage.Group, []*storage.Post) {
	t.Helper()
	s := mustOpen(t, storagetest.Location(t), c)
	g := &storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen,
		Posting: storage.PostingMembers, PrivateKeyPEM: "private", PublicKeyPEM: "public"}
	posts := []*storage.Post{
		{ObjectID: "http://spam.test/notes/1", AuthorID: "http://spam.test/users/spammer", ActivityID: "http://spam.test/a/1", State: storage.Relayed},
		{ObjectID: "http://spam.test/notes/2", AuthorID: "http://spam.test/users/spammer", ActivityID: "http://spam.test/a/2", State: storage.Relayed},
	}
	update(t, s, func(tx *storage.Tx) error {
		if err := tx.CreateGroup(g); err != nil {
			return err
		}
		for _, p := range posts {
			p.GroupID = g.ID
			if err := tx.CreatePost(p); err != nil {
				return err
			}
		}
		return nil
	})
	return s, g, posts
}

func TestReportsFromOneServerAboutOnePostAreOne(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}
	s, g, posts := moderatedGroup(t, c)
	file := func(host, account, comment string, postIDs ...int64) (storage.Report, bool) {
		t.Helper()
		r := storage.Report{GroupID: g.ID, ReporterHost: host, Account: account, Comment: comment, PostIDs: postIDs}
		var fresh bool
		update(t, s, func(tx *storage.Tx) (err error) {
			fresh, err = tx.FileReport(&r)
			return err
		})
		return r, fresh
	}
	first, fresh := file("mastodon.test", "http://spam.test/users/spammer", "spam", posts[0].ID)
	if !fresh {
		t.Fatal("the first report was merged into nothing")
	}
	for _, tc := range []struct {
		name    string
		host    string
		account string
		comment string
		posts   []int64
		merged  bool
	}{
		{"the same post, from the same server", "mastodon.test", "", "links to a scam", []int64{posts[0].ID, posts[1].ID}, true},
		{"the same post, from another server", "other.test", "", "spam", []int64{posts[0].ID}, false},
		{"another post, from the same server", "mastodon.test", "", "", []int64{posts[1].ID}, true},
		{"only the account, from the same server", "mastodon.test", "http://spam.test/users/spammer", "", nil, false},
		{"only the account again", "mastodon.test", "http://spam.test/users/spammer", "again", nil, true},
		{"the group itself", "mastodon.test", "", "", nil, false},
	} {
		r, fresh := file(tc.host, tc.account, tc.comment, tc.posts...)
		if fresh == tc.merged {
			t.Errorf("%s: fresh = %v, want merged = %v", tc.name, fresh, tc.merged)
		}
		if tc.name == "the same post, from the same server" && r.ID != first.ID {
			t.Errorf("merged into report %d, want %d", r.ID, first.ID)
		}
	}
	var open []storage.Report
	update(t, s, func(tx *storage.Tx) (err error) {
		open, err = tx.Reports(g.ID, storage.ReportOpen, 10)
		return err
	})
	if len(open) != 4 {
		t.Fatalf("%d open reports, want 4: %+v", len(open), open)
	}
	merged := open[0]
	if merged.Flags != 3 || merged.Comment != "spam\n\nlinks to a scam" || !slices.Equal(merged.PostIDs, []int64{posts[0].ID, posts[1].ID}) {
		t.Errorf("merged report %+v, want 3 flags, both comments once and both posts", merged)
	}
	update(t, s, func(tx *storage.Tx) error { return tx.ResolveReport(g.ID, merged.ID, "http://mods.test/users/keeper") })
	if _, fresh := file("mastodon.test", "", "back again", posts[0].ID); !fresh {
		t.Error("a report about a post whose report was resolved was merged into the resolved one")
	}
	err := s.Update(t.Context(), func(tx *storage.Tx) error { return tx.ResolveReport(g.ID, merged.ID, "x") })
	if err != storage.ErrNotFound {
		t.Errorf("resolving a resolved report: %v, want ErrNotFound", err)
	}
	long, _ := file("long.test", "", strings.Repeat("a", 5000), posts[1].ID)
	update(t, s, func(tx *storage.Tx) (err error) {
		long, err = tx.ReportByID(g.ID, long.ID)
		return err
	})
	if len(long.Comment) != 4000 {
		t.Errorf("a long comment kept %d characters, want 4000", len(long.Comment))
	}
}

func TestBansRunOutAtTheirTime(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}
	s, g, _ := moderatedGroup(t, c)
	const spammer, troll = "http://spam.test/users/spammer", "http://spam.test/users/troll"
	update(t, s, func(tx *storage.Tx) error {
		if err := tx.SetMembership(g.ID, spammer, storage.Member, "http://spam.test/follow/1"); err != nil {
			return err
		}
		if err := tx.Ban(g.ID, spammer, c.t.Add(48*time.Hour), "spam", "http://h.test/block/1"); err != nil {
			return err
		}
		return tx.Ban(g.ID, troll, time.Time{}, "", "http://h.test/block/2")
	})
	expired := func() []storage.Membership {
		t.Helper()
		var out []storage.Membership
		update(t, s, func(tx *storage.Tx) (err error) {
			out, err = tx.ExpiredBans()
			return err
		})
		return out
	}
	if got := expired(); len(got) != 0 {
		t.Errorf("bans expired at once: %+v", got)
	}
	c.t = c.t.Add(48 * time.Hour)
	got := expired()
	if len(got) != 1 || got[0].ActorID != spammer || got[0].BanReason != "spam" || got[0].BlockID != "http://h.test/block/1" ||
		got[0].FollowID != "http://spam.test/follow/1" {
		t.Fatalf("expired bans %+v, want the spammer's alone, with its terms", got)
	}
	update(t, s, func(tx *storage.Tx) error {
		if !tx.BanExpired(got[0]) {
			t.Error("BanExpired is false for an expired ban")
		}
		return tx.SetMembership(g.ID, spammer, storage.Pending, "")
	})
	update(t, s, func(tx *storage.Tx) error {
		m, err := tx.Membership(g.ID, spammer)
		if err == nil && (!m.BanExpiresAt.IsZero() || m.BanReason != "" || m.BlockID != "") {
			t.Errorf("a membership after a ban keeps its terms: %+v", m)
		}
		return err
	})
}

func TestRefusalsAreRememberedAndTheLogKeptNewestFirst(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}
	s, g, _ := moderatedGroup(t, c)
	update(t, s, func(tx *storage.Tx) error {
		for i, want := range []bool{true, false} {
			first, err := tx.MarkRefused(g.ID, "http://elsewhere.test/users/stranger")
			if err != nil {
				return err
			}
			if first != want {
				t.Errorf("refusal %d: first = %v, want %v", i, first, want)
			}
		}
		for _, action := range []string{"approve", "ban"} {
			if err := tx.LogModeration(storage.LogEntry{GroupID: g.ID, By: "admin", Action: action, Target: "x", Reason: "why"}); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx *storage.Tx) error {
		log, err := tx.ModerationLog(g.ID, 10)
		if err != nil {
			return err
		}
		if len(log) != 2 || log[0].Action != "ban" || log[1].Action != "approve" || !log[0].At.Equal(c.t) || log[0].Reason != "why" {
			t.Errorf("log %+v, want the ban then the approval, stamped now", log)
		}
		return nil
	})
}
