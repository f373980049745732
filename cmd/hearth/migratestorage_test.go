package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// TestMigrateStorageMovesAnInstanceWithItsMembersAndKeys moves a serving
// instance from its SQLite file to PostgreSQL (or, without one, to another
// SQLite file), and the members see nothing change: the group signs with
// the same key, and a post reaches them as before.
func TestMigrateStorageMovesAnInstanceWithItsMembersAndKeys(t *testing.T) {
	t.Parallel()
	network := fedtest.NewNetwork(t)
	var serving atomic.Pointer[runningHearth]
	network.Route(hearthHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serving.Load().handler.ServeHTTP(w, r)
	}))
	source := filepath.Join(t.TempDir(), "hearth.db")
	before := launchHearth(t, network, "sqlite:"+source, nil)
	serving.Store(before)
	group := before.createGroup("grief", nil)
	masto, alice, bob := twoMastodonMembers(t, before, group)
	create := alice.Create(publicNote(alice, group, "The first night."))
	mustPost(t, alice, before.svc.IRIs().SharedInbox(), create)
	awaitBoost(t, masto, objectField(create, "id").(string))
	if err := before.stop(wait); err != nil {
		t.Fatal(err)
	}
	var key string
	before.view(func(tx *storage.Tx) error { g, err := tx.GroupByName("grief"); key = g.PublicKeyPEM; return err })

	target := "sqlite:" + filepath.Join(t.TempDir(), "moved.db")
	if storagetest.Postgres() != "" {
		target = "postgres:" + storagetest.Location(t)
	}
	getenv := func(string) string { return "" }
	out := mustHearth(t, getenv, "migrate-storage", "--from", "sqlite:"+source, "--to", target)
	for _, want := range []string{"groups", "memberships", "actors", "posts", "instance_key"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate-storage did not report copying %s:\n%s", want, out)
		}
	}
	if code, _, stderr := hearth(t, getenv, "migrate-storage", "--from", "sqlite:"+source, "--to", target); code != 1 || !strings.Contains(stderr, "empty database only") {
		t.Errorf("a second copy into the same database: exit %d, %q; want a refusal", code, stderr)
	}

	after := launchHearth(t, network, target, nil)
	serving.Store(after)
	var moved string
	after.view(func(tx *storage.Tx) error { g, err := tx.GroupByName("grief"); moved = g.PublicKeyPEM; return err })
	if moved != key {
		t.Error("the group's key changed in the move")
	}
	again := bob.Create(publicNote(bob, group, "And the second."))
	mustPost(t, bob, after.svc.IRIs().SharedInbox(), again)
	if d := awaitBoost(t, masto, objectField(again, "id").(string)); !d.Verified {
		t.Errorf("the post relayed after the move is not signed by the group's key: %v", d)
	}
	g, err := after.svc.Group(context.Background(), "grief")
	if err != nil || g.Name != "grief" {
		t.Errorf("group after the move: %+v, %v", g, err)
	}
}
