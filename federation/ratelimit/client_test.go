package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientKey(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name      string
		peer      string
		forwarded []string
		trusted   []netip.Prefix
		want      string
	}{
		{"the peer", "192.0.2.7:4711", nil, nil, "192.0.2.7"},
		{"X-Forwarded-For ignored by default", "127.0.0.1:4711", []string{"192.0.2.7"}, nil, "127.0.0.1"},
		{"X-Forwarded-For from an untrusted peer", "192.0.2.9:4711", []string{"192.0.2.7"}, proxies, "192.0.2.9"},
		{"behind a trusted proxy", "127.0.0.1:4711", []string{"192.0.2.7"}, proxies, "192.0.2.7"},
		{"the right-most untrusted hop", "127.0.0.1:4711", []string{"198.51.100.1, 192.0.2.7, 10.1.2.3"}, proxies, "192.0.2.7"},
		{"hops over several header lines", "127.0.0.1:4711", []string{"198.51.100.1", "192.0.2.7", "10.1.2.3"}, proxies, "192.0.2.7"},
		{"a made-up left part", "127.0.0.1:4711", []string{"not an address, 192.0.2.7"}, proxies, "192.0.2.7"},
		{"a hop with a port", "127.0.0.1:4711", []string{"192.0.2.7:5555"}, proxies, "192.0.2.7"},
		{"a proxy without the header", "127.0.0.1:4711", nil, proxies, "127.0.0.1"},
		{"only proxies", "127.0.0.1:4711", []string{"10.0.0.1, 10.0.0.2"}, proxies, "10.0.0.1"},
		{"an unreadable hop stops the walk", "127.0.0.1:4711", []string{"192.0.2.7, garbage, 10.0.0.2"}, proxies, "10.0.0.2"},
		{"IPv6 by its /64", "[2001:db8:1:2:3:4:5:6]:4711", nil, nil, "2001:db8:1:2::/64"},
		{"IPv4 written as IPv6", "[::ffff:192.0.2.7]:4711", nil, nil, "192.0.2.7"},
		{"a forwarded IPv6 client", "127.0.0.1:4711", []string{"[2001:db8::1]:5555"}, proxies, "2001:db8::/64"},
	} {
		r := httptest.NewRequest("GET", "/actor", nil)
		r.RemoteAddr = tc.peer
		for _, value := range tc.forwarded {
			r.Header.Add("X-Forwarded-For", value)
		}
		if got := ClientKey(r, tc.trusted); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
