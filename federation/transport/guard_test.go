package transport

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// These tests go through the client that NewClient builds, with its guarded
// dialer, and real TLS servers on loopback. Names resolve through fakeDNS,
// and a server stands in for a public one only when its exact address is in
// seams.permitted.

func TestNameResolvingToLoopbackIsRefusedBeforeConnecting(t *testing.T) {
	srv, hits := countingServer(t, nil)
	dns := newFakeDNS(map[string][]netip.Addr{"internal.example.com": {addrOf(srv).Addr()}})
	client := newClient(Options{}, seams{resolver: dns.resolver(), tlsConfig: trusting(srv)})
	t.Cleanup(client.CloseIdleConnections)

	_, err := client.Get(fmt.Sprintf("https://internal.example.com:%d/", addrOf(srv).Port()))
	wantRefused(t, err, ErrForbiddenAddress)
	if n := dns.lookups("internal.example.com"); n != 1 {
		t.Errorf("%d lookups, want 1: the name must go through the resolver", n)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("loopback server got %d requests, want none", n)
	}
}

// TestRebindingIsCaughtAtDial has a name answer a permitted address first
// and an internal one on the next lookup. The guard checks each connection
// as it is made, so the second connection is refused even though the name
// passed the first time; a guard that checked one lookup and let the dialer
// resolve again would connect to the internal address instead.
func TestRebindingIsCaughtAtDial(t *testing.T) {
	srv, hits := countingServer(t, nil)
	public := addrOf(srv)
	// Refused before connect(2), so nothing needs to listen there.
	internal := netip.MustParseAddr("127.0.0.2")
	dns := newFakeDNS(map[string][]netip.Addr{"rebind.example.com": {public.Addr(), internal}})
	client := newClient(Options{}, seams{resolver: dns.resolver(), tlsConfig: trusting(srv), permitted: []netip.AddrPort{public}})
	t.Cleanup(client.CloseIdleConnections)
	target := fmt.Sprintf("https://rebind.example.com:%d/", public.Port())

	// Closing the first connection makes the second request dial, and so
	// resolve, again.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	req.Close = true
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("first fetch, while the name is public: %v", err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Fatalf("server got %d requests, want 1", n)
	}

	_, err = client.Get(target)
	wantRefused(t, err, ErrForbiddenAddress)
	var dial *net.OpError
	if !errors.As(err, &dial) || dial.Addr == nil || dial.Addr.String() != netip.AddrPortFrom(internal, public.Port()).String() {
		t.Errorf("refused dial %v, want one to %s", dial, internal)
	}
	if n := dns.lookups("rebind.example.com"); n != 2 {
		t.Errorf("%d lookups, want one per connection, 2", n)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server got %d requests after the rebinding, want still 1", n)
	}
}

func TestRedirectToInternalAddressIsRefused(t *testing.T) {
	internal, internalHits := countingServer(t, nil)
	dns := newFakeDNS(map[string][]netip.Addr{"internal.example.com": {addrOf(internal).Addr()}})
	for _, tc := range []struct{ name, location string }{
		{"loopback literal", internal.URL},
		{"name of a loopback address", fmt.Sprintf("https://internal.example.com:%d/", addrOf(internal).Port())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin, originHits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tc.location, http.StatusFound)
			})
			client := newClient(Options{}, seams{resolver: dns.resolver(), tlsConfig: trusting(origin), permitted: []netip.AddrPort{addrOf(origin)}})
			t.Cleanup(client.CloseIdleConnections)

			_, err := client.Get(origin.URL)
			wantRefused(t, err, ErrForbiddenAddress)
			if n := originHits.Load(); n != 1 {
				t.Errorf("origin got %d requests, want 1", n)
			}
			if n := internalHits.Load(); n != 0 {
				t.Errorf("loopback server got %d requests, want none", n)
			}
		})
	}
}

// wantRefused checks that the guard's refusal can still be told apart
// through the *url.Error that net/http wraps it in.
func wantRefused(t *testing.T, err, sentinel error) {
	t.Helper()
	var urlErr *url.Error
	if !errors.As(err, &urlErr) || !errors.Is(err, sentinel) || !errors.Is(err, ErrRefused) {
		t.Errorf("got %v, want a *url.Error matching %v and ErrRefused", err, sentinel)
	}
}

// countingServer starts a TLS server on loopback that counts its requests
// and answers them with h, or 200 when h is nil.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	hits := new(atomic.Int32)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

func addrOf(srv *httptest.Server) netip.AddrPort {
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// trusting returns a TLS configuration that trusts the certificate every
// httptest server shares, valid for *.example.com and loopback.
func trusting(srv *httptest.Server) *tls.Config {
	return srv.Client().Transport.(*http.Transport).TLSClientConfig
}

// fakeDNS answers the resolver in memory, so names resolve without any
// traffic. An A lookup of a name takes its next answer, the last one
// repeating; an AAAA lookup finds nothing; other names do not exist.
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string][]netip.Addr
	count   map[string]int
}

func newFakeDNS(answers map[string][]netip.Addr) *fakeDNS {
	return &fakeDNS{answers: answers, count: map[string]int{}}
}

func (d *fakeDNS) lookups(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.count[name]
}

func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		// The nameserver the resolver picked from the system configuration
		// is never dialled: every query is answered here.
		Dial: func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			go d.serve(server)
			return client, nil
		},
	}
}

// serve answers one query. The resolver frames messages with a length, as
// over TCP, on a connection that is not a net.PacketConn.
func (d *fakeDNS) serve(conn net.Conn) {
	defer conn.Close()
	var size [2]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return
	}
	query := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(conn, query); err != nil {
		return
	}
	reply, ok := d.reply(query)
	if !ok {
		return
	}
	conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(reply))), reply...))
}

const (
	typeA         = 1
	classIN       = 1
	flagsAnswer   = 0x8180 // a response; recursion desired and available
	rcodeNXDomain = 3
)

// reply builds the answer to a query of one question, which is all the Go
// resolver sends.
func (d *fakeDNS) reply(query []byte) ([]byte, bool) {
	const header = 12
	var labels []string
	i := header
	for i < len(query) && query[i] != 0 {
		n := int(query[i])
		if i+1+n >= len(query) {
			return nil, false
		}
		labels = append(labels, string(query[i+1:i+1+n]))
		i += 1 + n
	}
	questionEnd := i + 5 // the root label, type and class
	if questionEnd > len(query) {
		return nil, false
	}
	name := strings.ToLower(strings.Join(labels, "."))
	qtype := binary.BigEndian.Uint16(query[i+1:])

	d.mu.Lock()
	answers, known := d.answers[name]
	var addrs []netip.Addr
	if known && qtype == typeA {
		addrs = []netip.Addr{answers[min(d.count[name], len(answers)-1)]}
		d.count[name]++
	}
	d.mu.Unlock()

	flags := uint16(flagsAnswer)
	if !known {
		flags |= rcodeNXDomain
	}
	reply := append([]byte(nil), query[:2]...) // the query's id
	reply = binary.BigEndian.AppendUint16(reply, flags)
	reply = binary.BigEndian.AppendUint16(reply, 1) // questions
	reply = binary.BigEndian.AppendUint16(reply, uint16(len(addrs)))
	reply = binary.BigEndian.AppendUint32(reply, 0) // no authority or additional records
	reply = append(reply, query[header:questionEnd]...)
	for _, a := range addrs {
		reply = append(reply, 0xc0, header) // the name, pointing at the question's
		reply = binary.BigEndian.AppendUint16(reply, typeA)
		reply = binary.BigEndian.AppendUint16(reply, classIN)
		reply = binary.BigEndian.AppendUint32(reply, 0) // TTL
		reply = binary.BigEndian.AppendUint16(reply, 4)
		ip := a.As4()
		reply = append(reply, ip[:]...)
	}
	return reply, true
}
