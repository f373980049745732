package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
)

// TestBlockedDomainIsRefusedHoweverItSpellsItsHost: a server writes its own
// ids, and "blocked.example." (fully qualified), "BLOCKED.example" or, for
// bücher.example, "xn--bcher-kva.example." name the blocked server as much
// as the plain spelling does. None of them may join, and nothing is sent
// to them.
func TestBlockedDomainIsRefusedHoweverItSpellsItsHost(t *testing.T) {
	t.Parallel()
	h := startHearth(t, func(c *federation.Config) { c.Block = []string{"blocked.example", "BÜCHER.example."} })
	group := h.createGroup("grief", nil)
	blocked := h.network.NewInstance("blocked.example")
	sub := h.network.NewInstance("sub.blocked.example")
	books := h.network.NewInstance("xn--bcher-kva.example")
	for _, a := range []*fedtest.Actor{
		blocked.NewActorSpelled("dot", "blocked.example."),
		blocked.NewActorSpelled("upper", "BLOCKED.example"),
		blocked.NewActorSpelled("both", "Blocked.Example."),
		sub.NewActorSpelled("sub", "sub.blocked.example."),
		books.NewActorSpelled("books", "xn--bcher-kva.example."),
	} {
		if status := post(t, a, group+"/inbox", a.Follow(group)); status != http.StatusForbidden {
			t.Errorf("follow from %s: status %d, want 403", a.ID, status)
		}
	}
	// A refusal is answered before anything is stored: nothing can be on
	// its way to them.
	if stats := queueStats(t, h.store); stats.Queued != 0 {
		t.Errorf("%d deliveries queued after refused follows, want none", stats.Queued)
	}
	for _, inst := range []*fedtest.Instance{blocked, sub, books} {
		if got := inst.Deliveries(); len(got) > 0 {
			t.Errorf("%s, blocked, was sent %v", inst.Host, got)
		}
	}
}

func queueStats(t *testing.T, store *storage.Store) storage.QueueStats {
	t.Helper()
	var stats storage.QueueStats
	err := store.View(context.Background(), func(tx *storage.Tx) (err error) {
		stats, err = tx.QueueStats()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return stats
}
