package federation

import (
	"net"
	"strings"

	"github.com/hearth-social/hearth/federation/dereference"
)

// errDomainRefused is returned for a server this instance does not federate with.
var errDomainRefused = dereference.ErrNotFederated

// federates reports whether the instance talks to host at all: a blocked
// domain never, and in allowlist mode only the listed ones. A rule for a
// domain covers its subdomains.
func (s *Service) federates(host string) bool {
	name := strings.ToLower(host)
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	if matchesDomain(name, s.cfg.Block) {
		return false
	}
	return s.cfg.Mode != ModeAllowlist || matchesDomain(name, s.cfg.Allow)
}

func matchesDomain(name string, domains []string) bool {
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d != "" && (name == d || strings.HasSuffix(name, "."+d)) {
			return true
		}
	}
	return false
}
