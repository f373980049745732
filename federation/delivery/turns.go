package delivery

import (
	"slices"
	"sync"
)

// signingTurns hands out turns to sign, as many at a time as there are
// cores. Signing is most of a delivery's processor time: with hundreds of
// workers signing at once, everything else that needs a core (inbound
// requests, the transaction holding the only writer) would queue behind
// them, and as many signatures at once as there are cores keep the cores
// as busy. When requests wait for a turn, those for servers that answer
// well go first: a server that is new, failing or slow has its requests
// signed with the time the healthy ones leave, so that a crowd of failing
// servers takes no processor time from the healthy ones.
type signingTurns struct {
	mu   sync.Mutex
	free int
	// waiting holds the turns asked for and not yet given, oldest first:
	// healthy requests, then cautious ones. A turn is given by closing it.
	waiting [2][]chan struct{}
}

func newSigningTurns(n int) *signingTurns { return &signingTurns{free: n} }

// ask returns a turn, given at once when one is free.
func (s *signingTurns) ask(cautious bool) chan struct{} {
	turn := make(chan struct{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free > 0 {
		s.free--
		close(turn)
		return turn
	}
	q := 0
	if cautious {
		q = 1
	}
	s.waiting[q] = append(s.waiting[q], turn)
	return turn
}

// done ends a turn that was given: the next waiting request has it.
func (s *signingTurns) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q := range s.waiting {
		if len(s.waiting[q]) > 0 {
			close(s.waiting[q][0])
			s.waiting[q] = s.waiting[q][1:]
			return
		}
	}
	s.free++
}

// abandon gives up a turn asked for, whether it was given meanwhile or not.
func (s *signingTurns) abandon(turn chan struct{}) {
	s.mu.Lock()
	for q := range s.waiting {
		if i := slices.Index(s.waiting[q], turn); i >= 0 {
			s.waiting[q] = slices.Delete(s.waiting[q], i, i+1)
			s.mu.Unlock()
			return
		}
	}
	s.mu.Unlock()
	s.done()
}
