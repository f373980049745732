// Package transport builds the HTTP client for every request Hearth makes to
// another server: bounded in time, identified by its User-Agent, and kept
// away from private networks so that a remote actor cannot make the server
// fetch from inside its own network.
package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// Options tune the client.
type Options struct {
	// UserAgent names Hearth, its version and the instance URL; admins of
	// other servers use it to see who is calling.
	UserAgent string
	// Insecure allows plain http and private or loopback addresses, for
	// local testing only.
	Insecure bool
	// Base replaces the network transport; tests route requests to fake
	// servers with it.
	Base http.RoundTripper
	// Timeout bounds each request, from sending it to closing the body of
	// its answer; a redirect starts a request of its own.
	Timeout time.Duration
}

// ErrRefused is matched by every refusal of the guard: a forbidden address,
// an insecure scheme, too many redirects, whether for the URL asked for or
// one it redirects to. errors.Is finds it through the *url.Error that
// http.Client returns. A refusal is permanent, unlike a network failure:
// the same URL will be refused again, so a caller should give up rather
// than retry.
var ErrRefused = errors.New("refused")

// ErrForbiddenAddress is returned for a request to a private, loopback or
// otherwise internal address. It matches ErrRefused.
var ErrForbiddenAddress = fmt.Errorf("%w: address is not on the public internet", ErrRefused)

// ErrInsecureScheme is returned for a non-https URL when http is not allowed.
// It matches ErrRefused.
var ErrInsecureScheme = fmt.Errorf("%w: only https URLs may be fetched", ErrRefused)

// maxRedirects bounds how far a fetch may be sent elsewhere.
const maxRedirects = 3

// NewClient returns a client with the guards described by opts.
func NewClient(opts Options) *http.Client {
	return newClient(opts, seams{})
}

// NewPool returns the pool of connections Hearth keeps to other servers,
// opening each with dial. A group's posts go to every server its members
// are on, so the pool keeps a connection to a thousand servers and more.
// Each connection holds two goroutines and a read and a write buffer, idle
// or not; the buffers are a quarter and a half of the usual 4 KiB, since
// what passes through them is small: a signed activity out, a short answer
// in.
func NewPool(dial func(ctx context.Context, network, address string) (net.Conn, error)) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
		ExpectContinueTimeout: time.Second,
		ReadBufferSize:        1 << 10,
		WriteBufferSize:       2 << 10,
	}
}

// seams let this package's tests run the real guarded dialer against fake
// DNS and local TLS servers: a resolver, the roots that trust those servers,
// and the exact loopback address and port of each server that is to stand
// in for a public one. They are kept out of Options on purpose: permitted
// addresses would be a hole in the guard, and nothing else needs another
// resolver, so only test files of this package can set them.
type seams struct {
	resolver  *net.Resolver
	tlsConfig *tls.Config
	permitted []netip.AddrPort
}

func newClient(opts Options, s seams) *http.Client {
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	base := opts.Base
	if base == nil {
		dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: s.resolver}
		if !opts.Insecure {
			dialer.Control = s.refusePrivate
		}
		pool := NewPool(dialer.DialContext)
		pool.TLSClientConfig = s.tlsConfig
		base = pool
	}
	return &http.Client{
		Transport: &guard{next: base, userAgent: opts.UserAgent, insecure: opts.Insecure, timeout: opts.Timeout},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: stopped after %d redirects", ErrRefused, maxRedirects)
			}
			return checkScheme(req, opts.Insecure)
		},
	}
}

// guard checks the scheme of every request, redirects included, sets the
// User-Agent, and bounds each request in time.
//
// The bound is a deadline on the request's context rather than
// http.Client.Timeout: a client only applies its Timeout through contexts
// when it talks to an *http.Transport directly. Behind any other
// RoundTripper, such as this one, it falls back to cancelling by channel,
// which costs two goroutines for every request in flight, hundreds of
// them while a post goes out.
type guard struct {
	next      http.RoundTripper
	userAgent string
	insecure  bool
	timeout   time.Duration
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req, g.insecure); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(req.Context(), g.timeout)
	if g.userAgent != "" && req.Header.Get("User-Agent") == "" {
		req = req.Clone(ctx)
		req.Header.Set("User-Agent", g.userAgent)
	} else {
		req = req.WithContext(ctx)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose keeps a response's deadline running while its body is
// read, and frees it when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func checkScheme(req *http.Request, insecure bool) error {
	switch req.URL.Scheme {
	case "https":
		return nil
	case "http":
		if insecure {
			return nil
		}
	}
	return fmt.Errorf("%s: %w", req.URL.Redacted(), ErrInsecureScheme)
}

// refusePrivate runs after DNS resolution, on the address about to be
// connected, for every connection: a name that resolves to an internal
// address is refused too, and so is one that resolved to a public address
// when it was checked and is rebound to an internal one by the time it is
// used. The net.OpError around the refusal names the address.
func (s seams) refusePrivate(_, address string, _ syscall.RawConn) error {
	addr, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if !IsPublic(addr.Addr()) && !slices.Contains(s.permitted, addr) {
		return ErrForbiddenAddress
	}
	return nil
}

// IsPublic reports whether ip is a globally reachable unicast address, one
// that a server on the fediverse may have. An address that only leads to
// another one (IPv4-mapped, NAT64, 6to4) is judged by the IPv4 address it
// carries.
func IsPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is4() {
		return !within(ip, special4)
	}
	switch {
	case nat64.Contains(ip):
		a := ip.As16()
		return IsPublic(netip.AddrFrom4([4]byte(a[12:16])))
	case sixToFour.Contains(ip):
		a := ip.As16()
		return IsPublic(netip.AddrFrom4([4]byte(a[2:6])))
	}
	// A zoned address is contained in no prefix, so it is refused here.
	return globalUnicast6.Contains(ip) && !within(ip, special6)
}

func within(ip netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// special4 are the IPv4 ranges of the IANA special-purpose address registry
// that are not globally reachable, with multicast and the limited broadcast
// address. 192.0.0.0/24 is refused whole although two anycast addresses in
// it (PCP and TURN) are global: neither is a web server. The AS112 ranges
// are global and left alone.
var special4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // this network
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast: whichever relay is nearest
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 broadcast
}

// globalUnicast6 is the only IPv6 space IANA hands out for global unicast:
// everything outside it is loopback, unspecified, IPv4-compatible or
// -translated, discard, unique-local, link- or site-local, multicast, SRv6,
// or not allocated at all, and is refused without listing each.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// nat64 is the well-known NAT64 prefix, which reaches the IPv4 address in
// its last 32 bits. The local-use prefix 64:ff9b:1::/48 leads into the
// operator's own network and lies outside globalUnicast6.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// sixToFour is 6to4, which reaches the IPv4 address in bits 16 to 47.
var sixToFour = netip.MustParsePrefix("2002::/16")

// special6 are the ranges inside globalUnicast6 that the IANA registry marks
// as special. 2001::/23 is refused whole: Teredo (2001::/32) reaches a
// client through whichever relay is nearest, at an address hidden in its
// last bits, and the global entries of the block (AMT, AS112, ORCHID) are
// not web servers.
var special6 = []netip.Prefix{
	netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments, Teredo, benchmarking
	netip.MustParsePrefix("2001:db8::/32"), // documentation
	netip.MustParsePrefix("3fff::/20"),     // documentation
}
