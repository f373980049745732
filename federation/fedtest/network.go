package fedtest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Network is one test server standing in for many hosts. It is closed when
// the test that made it ends.
type Network struct {
	tb        testing.TB
	server    *httptest.Server
	transport *http.Transport
	client    *http.Client
	// closing releases requests an instance is holding on purpose (see
	// Failure.Hang), since closing the server waits for every request.
	closing chan struct{}

	mu    sync.Mutex
	hosts map[string]http.Handler
}

// NewNetwork starts an empty network.
func NewNetwork(tb testing.TB) *Network {
	n := &Network{tb: tb, closing: make(chan struct{}), hosts: make(map[string]http.Handler)}
	n.server = httptest.NewServer(http.HandlerFunc(n.serve))
	n.transport = &http.Transport{
		DialContext:         n.DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	n.client = &http.Client{Transport: n.transport}
	tb.Cleanup(func() {
		close(n.closing)
		n.transport.CloseIdleConnections()
		n.server.Close()
	})
	return n
}

// Route serves h for host, which may carry a port (ignored). Tests mount
// Hearth's router this way, as "hearth.test" for instance.
func (n *Network) Route(host string, h http.Handler) {
	n.tb.Helper()
	host = hostOnly(host)
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, taken := n.hosts[host]; taken {
		n.tb.Fatalf("fedtest: host %s is already on the network", host)
	}
	n.hosts[host] = h
}

// Transport connects every request for a host on the network to the
// network's server, whatever address the URL names. Hosts not on the network
// fail to dial, like names that do not resolve.
func (n *Network) Transport() *http.Transport { return n.transport }

// Client is an HTTP client using Transport.
func (n *Network) Client() *http.Client { return n.client }

// DialContext is the dialer behind Transport, for code that builds its own
// transport around a dial function.
func (n *Network) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host := hostOnly(addr)
	if n.handler(host) == nil {
		return nil, &net.DNSError{Err: "no such host on the test network", Name: host, IsNotFound: true}
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", n.server.Listener.Addr().String())
}

func (n *Network) handler(host string) http.Handler {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[host]
}

func (n *Network) serve(w http.ResponseWriter, r *http.Request) {
	h := n.handler(hostOnly(r.Host))
	if h == nil {
		http.Error(w, "no such host on the test network", http.StatusMisdirectedRequest)
		return
	}
	h.ServeHTTP(w, r)
}

// hostOnly lower-cases a host and strips any port, and the trailing dot of
// a fully qualified name: "blocked.example." reaches blocked.example, as it
// does through DNS.
func hostOnly(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
}
