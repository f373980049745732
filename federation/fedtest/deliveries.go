package fedtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Delivery is one POST received by an instance's inbox, accepted or not.
type Delivery struct {
	Inbox    string         // the inbox URL posted to
	Host     string         // the receiving instance
	Activity map[string]any // the decoded body; nil when it is not JSON
	Raw      []byte         // the body exactly as received
	Header   http.Header    // the request's headers
	KeyID    string         // the keyId of the signature, if any
	Verified bool           // signature, Digest, Date, signed headers and actor all checked out
	Err      string         // why it did not verify
	Status   int            // the status answered; 0 while held by Failure.Hang
	At       time.Time
}

// Type is the activity's type, or "" when there is none.
func (d Delivery) Type() string {
	t, _ := d.Activity["type"].(string)
	return t
}

// ObjectType is the type of the embedded object, or "" for a reference.
func (d Delivery) ObjectType() string {
	object, _ := d.Activity["object"].(map[string]any)
	t, _ := object["type"].(string)
	return t
}

func (d Delivery) String() string {
	outcome := "verified"
	if !d.Verified {
		outcome = "NOT verified (" + d.Err + ")"
	}
	return fmt.Sprintf("%s %s, keyId %s, answered %d, %s", d.Inbox, d.Type(), d.KeyID, d.Status, outcome)
}

// OfType matches verified deliveries of activity type typ, for AwaitDelivery.
func OfType(typ string) func(Delivery) bool {
	return func(d Delivery) bool { return d.Verified && d.Type() == typ }
}

func (i *Instance) record(d Delivery) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.deliveries = append(i.deliveries, d)
	close(i.arrived)
	i.arrived = make(chan struct{})
}

// Deliveries returns every delivery received so far, in order of arrival.
func (i *Instance) Deliveries() []Delivery {
	deliveries, _ := i.snapshot()
	return deliveries
}

// snapshot returns the deliveries so far and a channel closed on the next one.
func (i *Instance) snapshot() ([]Delivery, <-chan struct{}) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]Delivery(nil), i.deliveries...), i.arrived
}

// AwaitDeliveries waits until the instance has received at least n
// deliveries, verified or not, and returns them all. If they do not arrive
// within timeout, it fails the test, listing what did arrive.
func (i *Instance) AwaitDeliveries(tb testing.TB, n int, timeout time.Duration) []Delivery {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		deliveries, arrived := i.snapshot()
		if len(deliveries) >= n {
			return deliveries
		}
		select {
		case <-arrived:
		case <-deadline.C:
			tb.Fatalf("fedtest: %s received %d deliveries within %v, want %d%s", i.Host, len(deliveries), timeout, n, list(deliveries))
			return nil
		}
	}
}

// AwaitDelivery waits for a delivery that match accepts, including those
// already received, and returns the first. If none arrives within timeout,
// it fails the test, listing what did arrive.
func (i *Instance) AwaitDelivery(tb testing.TB, timeout time.Duration, match func(Delivery) bool) Delivery {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		deliveries, arrived := i.snapshot()
		for _, d := range deliveries {
			if match(d) {
				return d
			}
		}
		select {
		case <-arrived:
		case <-deadline.C:
			tb.Fatalf("fedtest: %s received no matching delivery within %v%s", i.Host, timeout, list(deliveries))
			return Delivery{}
		}
	}
}

func list(deliveries []Delivery) string {
	if len(deliveries) == 0 {
		return "; nothing arrived"
	}
	var b strings.Builder
	b.WriteString("; arrived:")
	for _, d := range deliveries {
		b.WriteString("\n\t" + d.String())
	}
	return b.String()
}
