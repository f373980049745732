package federation

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation/ratelimit"
	"github.com/hearth-social/hearth/federation/signature"
)

// RateLimits are the request budgets of the network edge, so that no one
// server or client can take the instance from the others. A rate is in
// requests per second, with a burst on top for a party that has been
// quiet; a rate of 0 turns its limit off.
type RateLimits struct {
	// PerHost limits the inbox POSTs signed with the keys of one server.
	PerHost, PerHostBurst int
	// PerIP limits the requests from one client address to the inboxes,
	// the ActivityPub documents and discovery.
	PerIP, PerIPBurst int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client; with none, the header is ignored.
	TrustedProxies []netip.Prefix
}

// edgeLimits are the limiters RateLimits asks for.
type edgeLimits struct {
	hosts, clients *ratelimit.Limiter
	trustedProxies []netip.Prefix
}

func newEdgeLimits(cfg RateLimits, log *slog.Logger, now func() time.Time) edgeLimits {
	return edgeLimits{
		hosts:          ratelimit.New(ratelimit.Config{Rate: cfg.PerHost, Burst: cfg.PerHostBurst, Subject: "host", Logger: log, Now: now}),
		clients:        ratelimit.New(ratelimit.Config{Rate: cfg.PerIP, Burst: cfg.PerIPBurst, Subject: "ip", Logger: log, Now: now}),
		trustedProxies: cfg.TrustedProxies,
	}
}

// LimitClients is middleware answering 429, with Retry-After, to a client
// address over its rate.
func (s *Service) LimitClients(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, retryAfter := s.limits.clients.Allow(ratelimit.ClientKey(r, s.limits.trustedProxies)); !ok {
			s.cfg.Metrics.RateLimitRefusal("ip")
			ratelimit.Refuse(w, retryAfter)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ClientAddress is the address a request's client is known by, as the
// limits of the edge key it: read from X-Forwarded-For only behind a
// trusted proxy.
func (s *Service) ClientAddress(r *http.Request) string {
	return ratelimit.ClientKey(r, s.limits.trustedProxies)
}

// admitSigner answers 429, with Retry-After, to an inbox POST from a server
// over its rate, and says whether the request may go on. The server is the
// host of the signature's keyId, read before anything costly is done: the
// body read, the key fetched, the signature checked. A request without a
// readable keyId goes on, for verify to refuse.
func (s *Service) admitSigner(w http.ResponseWriter, r *http.Request) bool {
	keyID, err := signature.KeyID(r)
	if err != nil {
		return true
	}
	host, err := activitypub.Host(keyID)
	if err != nil {
		return true
	}
	ok, retryAfter := s.limits.hosts.Allow(host)
	if !ok {
		s.cfg.Metrics.RateLimitRefusal("host")
		ratelimit.Refuse(w, retryAfter)
	}
	return ok
}
