// Package transport builds the HTTP client for every request Hearth makes to
// another server: bounded in time, identified by its User-Agent, and kept
// away from private networks so that a remote actor cannot make the server
// fetch from inside its own network.
package transport

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
	// MaxConnsPerHost bounds connections to one server (0: unbounded).
	MaxConnsPerHost int
	// Timeout bounds one whole request, body included.
	Timeout time.Duration
}

// ErrForbiddenAddress is returned for a request to a private, loopback or
// otherwise internal address.
var ErrForbiddenAddress = errors.New("address is not on the public internet")

// ErrInsecureScheme is returned for a non-https URL when http is not allowed.
var ErrInsecureScheme = errors.New("only https URLs may be fetched")

// maxRedirects bounds how far a fetch may be sent elsewhere.
const maxRedirects = 3

// NewClient returns a client with the guards described by opts.
func NewClient(opts Options) *http.Client {
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	base := opts.Base
	if base == nil {
		dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		if !opts.Insecure {
			dialer.Control = refusePrivate
		}
		base = &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   8,
			MaxConnsPerHost:       opts.MaxConnsPerHost,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 20 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	return &http.Client{
		Timeout:   opts.Timeout,
		Transport: &guard{next: base, userAgent: opts.UserAgent, insecure: opts.Insecure},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return checkScheme(req, opts.Insecure)
		},
	}
}

// guard checks the scheme of every request, redirects included, and sets
// the User-Agent.
type guard struct {
	next      http.RoundTripper
	userAgent string
	insecure  bool
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req, g.insecure); err != nil {
		return nil, err
	}
	if g.userAgent != "" && req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", g.userAgent)
	}
	return g.next.RoundTrip(req)
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

// refusePrivate runs after DNS resolution, on the address actually dialled,
// so a name that resolves to an internal address is refused too.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !IsPublic(ip) {
		return fmt.Errorf("%s: %w", ip, ErrForbiddenAddress)
	}
	return nil
}

// IsPublic reports whether ip is a globally routable unicast address.
func IsPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsMulticast(), ip.IsUnspecified(), ip.IsInterfaceLocalMulticast():
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// reserved are ranges that IsPrivate and friends do not cover but that never
// hold a fediverse server: carrier-grade NAT, benchmarking, documentation,
// and the IPv6 ranges that tunnel or translate IPv4 (Teredo, 6to4, NAT64),
// through which a private IPv4 address could be reached.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fec0::/10"),
}
