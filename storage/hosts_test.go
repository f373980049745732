package storage_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// TestInboxHostIsActivityPubHost: deliveries are grouped by the host
// storage names, and everything else compares hosts as activitypub.Host
// gives them; a spelling on which the two differ would escape per-host
// limits and the dropping of a blocked domain's deliveries.
func TestInboxHostIsActivityPubHost(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mustOpen(t, storagetest.Location(t), c)
	inboxes := []string{
		"https://one.example/inbox",
		"https://ONE.Example./users/a/inbox",
		"https://one.example:443/users/b/inbox",
		"http://one.example:80/users/c/inbox",
		"https://one.example:8443/inbox",
		"https://bücher.example/inbox",
		"https://XN--BCHER-KVA.example./users/d/inbox",
		"https://under_score.example/inbox",
		"https://[2001:DB8::1]/inbox",
		"https://[2001:db8::1]:8443/inbox",
	}
	enqueue(t, s, "https://hearth.test/a/1", inboxes...)
	want := map[string]bool{}
	for _, inbox := range inboxes {
		host, err := activitypub.Host(inbox)
		if err != nil {
			t.Fatal(err)
		}
		want[host] = true
	}
	// A host never delivered to gets one request at a time: a claim takes
	// one delivery from each host.
	got := map[string]bool{}
	for _, j := range claim(t, s, 100, 100, c.t.Add(time.Minute)) {
		if got[j.Host] {
			t.Errorf("two deliveries claimed at once for new host %s", j.Host)
		}
		got[j.Host] = true
	}
	if !maps.Equal(got, want) {
		t.Errorf("deliveries are grouped under %v; activitypub.Host names %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}
