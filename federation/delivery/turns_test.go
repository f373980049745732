package delivery

import "testing"

func given(turn chan struct{}) bool {
	select {
	case <-turn:
		return true
	default:
		return false
	}
}

// TestHealthyServersAreSignedForFirst: when every core is signing, the
// next turn goes to a request for a server that answers well, even one
// that asked after a request for a failing server.
func TestHealthyServersAreSignedForFirst(t *testing.T) {
	turns := newSigningTurns(1)
	if !given(turns.ask(false)) {
		t.Fatal("the one free turn was not given at once")
	}
	failing := turns.ask(true)
	healthy := turns.ask(false)
	later := turns.ask(false)
	if given(failing) || given(healthy) {
		t.Fatal("a turn was given while the only one was taken")
	}
	turns.done()
	if !given(healthy) || given(failing) || given(later) {
		t.Fatalf("after one turn: healthy given %v, failing given %v, later healthy given %v; want only the first healthy",
			given(healthy), given(failing), given(later))
	}
	turns.done()
	if !given(later) || given(failing) {
		t.Fatal("the second healthy request did not go before the failing server's")
	}
	turns.done()
	if !given(failing) {
		t.Fatal("the failing server's request was never given a turn")
	}
	turns.done()
	if !given(turns.ask(true)) {
		t.Fatal("the turn given back was not free again")
	}
}

// TestAnAbandonedTurnIsNotLost: a request that stops waiting, before or
// after its turn came, leaves the turn to the others.
func TestAnAbandonedTurnIsNotLost(t *testing.T) {
	turns := newSigningTurns(1)
	turns.ask(false)
	gaveUp := turns.ask(false)
	next := turns.ask(true)
	turns.abandon(gaveUp)
	turns.done()
	if !given(next) {
		t.Fatal("a request that stopped waiting still held its place")
	}
	turns.abandon(next)
	if !given(turns.ask(false)) {
		t.Fatal("a turn given to a request that stopped waiting was lost")
	}
}
