package fedtest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client in another process knows only the address: dialing it and
// naming the host must reach that host.
func TestAddrServesEveryHostByName(t *testing.T) {
	f := newFediverse(t)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", f.network.Addr())
		},
	}}
	if got := statusOf(t)(client.Get(f.alice.ID)); got != http.StatusOK {
		t.Errorf("GET %s through Addr: %d, want 200", f.alice.ID, got)
	}
	if got := statusOf(t)(client.Get("http://nowhere.test/")); got != http.StatusMisdirectedRequest {
		t.Errorf("GET a host not on the network through Addr: %d, want 421", got)
	}
}

func TestWaitDeliveriesReturnsWhatArrived(t *testing.T) {
	f := newFediverse(t)
	resp, err := f.bob.Post(context.Background(), f.masto.SharedInbox(), f.bob.Follow(f.alice.ID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	deliveries, err := f.masto.WaitDeliveries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) != 1 || deliveries[0].Type() != "Follow" || !deliveries[0].Verified {
		t.Errorf("deliveries = %v, want bob's verified Follow", deliveries)
	}
}

func TestWaitDeliveriesFailsWithoutFailingTheTest(t *testing.T) {
	f := newFediverse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error)
	// Off the test's goroutine, where failing the test is not allowed.
	go func() {
		_, err := f.masto.WaitDeliveries(ctx, 1)
		done <- err
	}()
	err := <-done
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "mastodon.test received 0 deliveries") {
		t.Errorf("err = %v, want the deadline and what arrived", err)
	}
}
