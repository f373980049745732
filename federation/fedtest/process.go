package fedtest

import (
	"context"
	"fmt"
)

// Addr is the address the network's server listens on. A network built in
// one process can serve a Hearth running in another: that side dials Addr
// for every host on the network and names the host in the request, as
// Transport does here. Benchmarks use this to keep the fake servers out of
// the memory they measure.
func (n *Network) Addr() string { return n.server.Listener.Addr().String() }

// WaitDeliveries waits until the instance has received at least n
// deliveries, verified or not, and returns them all. Unlike AwaitDeliveries
// it fails with an error rather than the test, so it may run outside the
// test's goroutine, in a handler for instance.
func (i *Instance) WaitDeliveries(ctx context.Context, n int) ([]Delivery, error) {
	for {
		deliveries, arrived := i.snapshot()
		if len(deliveries) >= n {
			return deliveries, nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return nil, fmt.Errorf("fedtest: %s received %d deliveries, want %d: %w%s", i.Host, len(deliveries), n, ctx.Err(), list(deliveries))
		}
	}
}
