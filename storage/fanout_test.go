package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// roster is a group whose members live on servers with shared inboxes and
// on servers without, whose members are each delivered to their own inbox.
type roster struct {
	t     *testing.T
	c     *clock
	path  string
	s     *storage.Store
	group *storage.Group
}

func newRoster(t *testing.T) *roster {
	t.Helper()
	r := &roster{t: t, c: &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, path: storagetest.Location(t)}
	r.s = mustOpen(t, r.path, r.c)
	r.group = &storage.Group{Name: "grief", Visibility: storage.Public, Join: storage.JoinOpen, Posting: storage.PostingMembers}
	update(t, r.s, func(tx *storage.Tx) error { return tx.CreateGroup(r.group) })
	return r
}

// join makes name on host a member; shared says whether host has a shared
// inbox. It returns the member's delivery inbox.
func (r *roster) join(host, name string, shared bool) string {
	r.t.Helper()
	a := storage.Actor{ID: "https://" + host + "/users/" + name, Host: host, Username: name,
		Inbox: "https://" + host + "/users/" + name + "/inbox"}
	if shared {
		a.SharedInbox = "https://" + host + "/inbox"
	}
	update(r.t, r.s, func(tx *storage.Tx) error {
		if err := tx.PutActor(a); err != nil {
			return err
		}
		return tx.SetMembership(r.group.ID, a.ID, storage.Member, "")
	})
	return a.DeliveryInbox()
}

// queue queues a fan-out of the activity id with form.
func (r *roster) queue(id, form string) {
	r.t.Helper()
	update(r.t, r.s, func(tx *storage.Tx) error {
		return tx.QueueFanOut(storage.Activity{ID: id, GroupID: r.group.ID, Type: "Announce", Body: []byte(`{"id":"` + id + `"}`)}, form)
	})
}

// step expands one batch of at most limit inboxes.
func (r *roster) step(limit int, audience storage.Audience) storage.Expansion {
	r.t.Helper()
	var e storage.Expansion
	update(r.t, r.s, func(tx *storage.Tx) (err error) {
		e, err = tx.ExpandFanOut(limit, audience)
		return err
	})
	return e
}

// expandAll expands until no fan-out is left and returns how many steps
// that took.
func (r *roster) expandAll(limit int, audience storage.Audience) int {
	r.t.Helper()
	for steps := 1; ; steps++ {
		if !r.step(limit, audience).Pending {
			return steps
		}
		if steps > 1000 {
			r.t.Fatal("the expansion does not end")
		}
	}
}

// sent claims every queued delivery, records each as delivered (which
// removes it from the queue), and returns them in queue order as
// "activity inbox" lines.
func (r *roster) sent() []string {
	r.t.Helper()
	var all []storage.Job
	for {
		jobs := claim(r.t, r.s, 1000, 1000, r.c.t.Add(time.Minute))
		if len(jobs) == 0 {
			break
		}
		outcomes := make([]storage.Outcome, len(jobs))
		for i, j := range jobs {
			outcomes[i] = storage.Outcome{Job: j, Verdict: storage.Delivered}
		}
		update(r.t, r.s, func(tx *storage.Tx) error { return tx.RecordOutcomes(outcomes) })
		all = append(all, jobs...)
	}
	slices.SortFunc(all, func(a, b storage.Job) int { return int(a.ID - b.ID) })
	lines := make([]string, len(all))
	for i, j := range all {
		lines[i] = j.ActivityID + " " + j.Inbox
	}
	return lines
}

func everyone(string, storage.Target) storage.Turn { return storage.First }

// each prefixes every inbox with the activity id, as sent reports them.
func each(activity string, inboxes []string) []string {
	out := make([]string, len(inboxes))
	for i, inbox := range inboxes {
		out[i] = activity + " " + inbox
	}
	return out
}

func TestFanOutQueuesOneDeliveryPerServerInBatches(t *testing.T) {
	t.Parallel()
	r := newRoster(t)
	var inboxes []string
	for h := range 7 {
		for m := range 3 {
			inboxes = append(inboxes, r.join(fmt.Sprintf("s%d.test", h), fmt.Sprintf("m%d", m), true))
		}
	}
	inboxes = append(inboxes, r.join("solo.test", "ann", false), r.join("solo.test", "ben", false))
	inboxes = slices.Compact(slices.Sorted(slices.Values(inboxes)))
	r.queue("https://hearth.test/a/1", "all")

	first := r.step(3, everyone)
	if first.Queued != 3 || !first.Pending {
		t.Fatalf("first batch %+v, want 3 deliveries queued and more to expand", first)
	}
	if got, want := r.sent(), each("https://hearth.test/a/1", inboxes[:3]); !slices.Equal(got, want) {
		t.Fatalf("after one batch sent %q, want %q", got, want)
	}
	if steps := r.expandAll(3, everyone); steps != 3 {
		t.Errorf("the remaining %d inboxes took %d batches of 3, want 3", len(inboxes)-3, steps)
	}
	if got, want := r.sent(), each("https://hearth.test/a/1", inboxes[3:]); !slices.Equal(got, want) {
		t.Errorf("sent %q, want each of the other servers once: %q", got, want)
	}
	var stats storage.QueueStats
	r.s.View(context.Background(), func(tx *storage.Tx) (err error) { stats, err = tx.QueueStats(); return err })
	if stats.FanOuts != 0 || stats.Queued != 0 {
		t.Errorf("after the expansion the queue is %+v, want empty", stats)
	}
}

func TestFanOutCutShortByACrashResumesWithoutSendingTwice(t *testing.T) {
	t.Parallel()
	r := newRoster(t)
	var inboxes []string
	for h := range 10 {
		inboxes = append(inboxes, r.join(fmt.Sprintf("s%02d.test", h), "m", true))
	}
	r.queue("https://hearth.test/a/1", "all")
	r.step(4, everyone)
	sent := r.sent()
	// The next batch is expanded, then the process dies before committing:
	// nothing of that batch stays, and the restarted process expands it.
	crash := errors.New("crash")
	err := r.s.Update(context.Background(), func(tx *storage.Tx) error {
		if _, err := tx.ExpandFanOut(4, everyone); err != nil {
			return err
		}
		return crash
	})
	if !errors.Is(err, crash) {
		t.Fatal(err)
	}
	r.s.Close()
	r.s = mustOpen(t, r.path, r.c)
	r.expandAll(4, everyone)
	sent = append(sent, r.sent()...)
	if want := each("https://hearth.test/a/1", inboxes); !slices.Equal(sent, want) {
		t.Errorf("sent %q across the crash, want each server once: %q", sent, want)
	}
}

func TestFanOutReadsTheRosterWhenEachBatchIsExpanded(t *testing.T) {
	t.Parallel()
	r := newRoster(t)
	stays := r.join("b.test", "stays", true)
	banned := r.join("c.test", "banned", true)
	left := r.join("d.test", "left", true)
	r.join("e.test", "moved", true)
	r.queue("https://hearth.test/a/1", "all")
	r.step(1, everyone)
	update(t, r.s, func(tx *storage.Tx) error {
		if err := tx.SetMembership(r.group.ID, "https://c.test/users/banned", storage.Banned, ""); err != nil {
			return err
		}
		if err := tx.RemoveMembership(r.group.ID, "https://d.test/users/left"); err != nil {
			return err
		}
		// A member whose server has changed its shared inbox since.
		return tx.PutActor(storage.Actor{ID: "https://e.test/users/moved", Host: "e.test",
			Inbox: "https://e.test/users/moved/inbox", SharedInbox: "https://e.test/shared"})
	})
	early := r.join("a.test", "early", true)
	late := r.join("z.test", "late", true)
	r.expandAll(1, everyone)
	got := r.sent()
	want := each("https://hearth.test/a/1", []string{stays, "https://e.test/shared", late})
	if !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	for _, inbox := range []string{banned, left, early} {
		if slices.Contains(got, "https://hearth.test/a/1 "+inbox) {
			t.Errorf("sent to %s", inbox)
		}
	}
}

func TestFanOutLeavesOutWhatTheAudienceSkips(t *testing.T) {
	t.Parallel()
	r := newRoster(t)
	open := r.join("open.test", "m", true)
	r.join("blocked.test", "m", true)
	r.queue("https://hearth.test/a/1", "all")
	r.expandAll(10, func(_ string, t storage.Target) storage.Turn {
		if t.Host == "blocked.test" {
			return storage.Skip
		}
		return storage.First
	})
	if got, want := r.sent(), each("https://hearth.test/a/1", []string{open}); !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
}

// byForm is the audience of the tests: "boost" goes to every server but
// Lemmy's, first; "wrapped" to Lemmy first and to servers of unknown
// software second, after their boost.
func byForm(form string, t storage.Target) storage.Turn {
	switch {
	case form == "boost" && t.Software == "lemmy", form == "wrapped" && t.Software == "mastodon":
		return storage.Skip
	case form == "wrapped" && t.Software == "":
		return storage.Second
	}
	return storage.First
}

func TestEveryServersFirstFormIsQueuedBeforeAnySecondForm(t *testing.T) {
	t.Parallel()
	r := newRoster(t)
	update(t, r.s, func(tx *storage.Tx) error {
		if err := tx.SetHostSoftware("lemmy.test", "lemmy"); err != nil {
			return err
		}
		return tx.SetHostSoftware("masto.test", "mastodon")
	})
	lemmy, masto := r.join("lemmy.test", "m", true), r.join("masto.test", "m", true)
	unknown := []string{r.join("u1.test", "m", true), r.join("u2.test", "m", true)}
	// Two posts, each with both forms: the second post's first forms are
	// queued before the first post's second forms.
	for _, post := range []string{"1", "2"} {
		r.queue("https://hearth.test/wrapped/"+post, "wrapped")
		r.queue("https://hearth.test/boost/"+post, "boost")
	}
	r.expandAll(2, byForm)
	var want []string
	for _, post := range []string{"1", "2"} {
		want = append(want, each("https://hearth.test/wrapped/"+post, []string{lemmy})...)
		want = append(want, each("https://hearth.test/boost/"+post, append([]string{masto}, unknown...))...)
	}
	for _, post := range []string{"1", "2"} {
		want = append(want, each("https://hearth.test/wrapped/"+post, unknown)...)
	}
	if got := r.sent(); !slices.Equal(got, want) {
		t.Errorf("queue order\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFanOutAlsoReachesInboxesOutsideTheRosterOnce(t *testing.T) {
	t.Parallel()
	r := newRoster(t)
	member := r.join("s.test", "m", true)
	outside := "https://gone.test/users/left/inbox"
	update(t, r.s, func(tx *storage.Tx) error {
		return tx.QueueFanOut(storage.Activity{ID: "https://hearth.test/a/1", GroupID: r.group.ID, Type: "Undo", Body: []byte(`{}`)},
			"all", outside, member)
	})
	if got, want := r.sent(), each("https://hearth.test/a/1", []string{outside}); !slices.Equal(got, want) {
		t.Errorf("before the expansion sent %q, want %q", got, want)
	}
	r.expandAll(10, everyone)
	if got, want := r.sent(), each("https://hearth.test/a/1", []string{member}); !slices.Equal(got, want) {
		t.Errorf("after the expansion sent %q, want %q: the member's inbox once, by the fan-out", got, want)
	}
}

func TestErasedPostsAndRetiredGroupsLeaveNoFanOut(t *testing.T) {
	t.Parallel()
	r := newRoster(t)
	r.join("s.test", "m", true)
	p := &storage.Post{GroupID: r.group.ID, ObjectID: "https://s.test/notes/1", AuthorID: "https://s.test/users/m",
		ActivityID: "https://s.test/create/1", State: storage.Relayed}
	update(t, r.s, func(tx *storage.Tx) error { return tx.CreatePost(p) })
	update(t, r.s, func(tx *storage.Tx) error {
		return tx.QueueFanOut(storage.Activity{ID: "https://hearth.test/a/post", GroupID: r.group.ID, PostID: p.ID,
			Type: "Announce", Body: []byte(`{}`)}, "all")
	})
	update(t, r.s, func(tx *storage.Tx) error { return tx.ErasePost(p, storage.Removed) })
	r.queue("https://hearth.test/a/profile", "all")
	update(t, r.s, func(tx *storage.Tx) error { return tx.RetireGroup(r.group.ID) })
	if e := r.step(10, everyone); e.Queued != 0 || e.Pending {
		t.Errorf("expansion %+v, want nothing left to expand", e)
	}
}

// TestMigrationGivesExistingMembershipsTheirInboxes upgrades a database
// made by the migrations before fan-outs.
func TestMigrationGivesExistingMembershipsTheirInboxes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/sqlite/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		if name >= "0010" {
			break
		}
		script, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(script)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		`INSERT INTO groups (id, name, private_key_pem, public_key_pem, created_at, updated_at) VALUES (1, 'grief', '', '', 0, 0)`,
		`INSERT INTO actors (id, host, inbox, shared_inbox, fetched_at) VALUES
			('https://a.test/users/1', 'a.test', 'https://a.test/users/1/inbox', 'https://a.test/inbox', 0),
			('https://b.test/users/2', 'b.test', 'https://b.test/users/2/inbox', '', 0)`,
		`INSERT INTO memberships (group_id, actor_id, state, created_at, updated_at) VALUES
			(1, 'https://a.test/users/1', 'member', 0, 0), (1, 'https://b.test/users/2', 'member', 0, 0),
			(1, 'https://c.test/users/uncached', 'member', 0, 0)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := mustOpen(t, path, &clock{t: time.Now()})
	var inboxes []string
	s.View(context.Background(), func(tx *storage.Tx) (err error) { inboxes, err = tx.MemberInboxes(1); return err })
	if want := []string{"https://a.test/inbox", "https://b.test/users/2/inbox"}; !slices.Equal(inboxes, want) {
		t.Errorf("member inboxes after the upgrade %q, want %q", inboxes, want)
	}
}
