package ratelimit

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientKey is the key a request's client is limited under: the address
// of the peer that connected, or, when that peer is one of the trusted
// proxies, the right-most address of X-Forwarded-For that is not a
// trusted proxy. Every address left of that one could be made up by the
// client, so it is never believed; with no trusted proxies the header is
// ignored altogether.
//
// An IPv6 client is keyed by its /64: one subscriber usually holds a whole
// /64 and could otherwise take a fresh address for every request.
func ClientKey(r *http.Request, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	client := plain(peer.Addr())
	if isTrusted(client, trusted) {
		client = forwardedFor(r.Header.Values("X-Forwarded-For"), trusted, client)
	}
	if client.Is6() {
		prefix, _ := client.Prefix(64)
		return prefix.String()
	}
	return client.String()
}

// forwardedFor walks the X-Forwarded-For hops from the right, past the
// trusted proxies, and returns the first other address. If every hop is a
// trusted proxy, or one cannot be read, the last address reached is the
// client: proxy is the peer that handed over the request.
func forwardedFor(values []string, trusted []netip.Prefix, proxy netip.Addr) netip.Addr {
	hops := strings.Split(strings.Join(values, ","), ",")
	client := proxy
	for i := len(hops) - 1; i >= 0; i-- {
		addr, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			break
		}
		client = addr
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port as some proxies write it ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(hop string) (netip.Addr, bool) {
	if addr, err := netip.ParseAddr(hop); err == nil {
		return plain(addr), true
	}
	if addrPort, err := netip.ParseAddrPort(hop); err == nil {
		return plain(addrPort.Addr()), true
	}
	return netip.Addr{}, false
}

// plain drops what makes one address look like two: an IPv4 address
// written as IPv6, and an IPv6 zone.
func plain(addr netip.Addr) netip.Addr {
	return addr.Unmap().WithZone("")
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, prefix := range trusted {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}
