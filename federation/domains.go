package federation

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/hearth-social/hearth/activitypub"
)

// ErrInvalidDomain is returned for a domain rule that names no domain.
var ErrInvalidDomain = errors.New("must be a bare domain name, like example.social")

// ErrDomainPort is returned for a domain rule with a port.
var ErrDomainPort = errors.New("a rule names a domain, not a server: leave out the port")

// ParseDomain reads a domain rule as an admin writes it, in
// federation.block or "hearth domain block", and returns it in the
// canonical form hosts are compared in (see activitypub.HostName):
// "Spam.Example." is spam.example. A rule covers the domain and its
// subdomains, so a port would make it cover nothing.
func ParseDomain(rule string) (string, error) {
	if strings.ContainsAny(rule, "/@?#[] \t") {
		return "", fmt.Errorf("%q: %w", rule, ErrInvalidDomain)
	}
	if strings.Contains(rule, ":") {
		return "", fmt.Errorf("%q: %w", rule, ErrDomainPort)
	}
	domain, err := activitypub.HostName(rule)
	if err != nil {
		return "", fmt.Errorf("%q: %w", rule, ErrInvalidDomain)
	}
	return domain, nil
}

// domainRules is the instance's domain policy: the domains it blocks and
// those it allows, in canonical form.
type domainRules struct {
	block, allow map[string]bool
}

// federates reports whether the rules let host in, in mode.
func (r *domainRules) federates(mode Mode, host string) bool {
	name, ok := domainOf(host)
	return ok && !under(name, r.block) && (mode != ModeAllowlist || under(name, r.allow))
}

// domainOf returns the name of host, as rules name domains: canonical, and
// without a port.
func domainOf(host string) (string, bool) {
	host, err := activitypub.CanonicalHost(host)
	if err != nil {
		return "", false
	}
	if name, _, err := net.SplitHostPort(host); err == nil {
		return name, true
	}
	return host, true
}

// under reports whether the domain name is one of domains or under one.
func under(name string, domains map[string]bool) bool {
	_, ok := covering(name, domains)
	return ok
}

// covering returns the domain among domains that the domain name is or is
// under.
func covering(name string, domains map[string]bool) (string, bool) {
	for {
		if domains[name] {
			return name, true
		}
		_, parent, found := strings.Cut(name, ".")
		if !found {
			return "", false
		}
		name = parent
	}
}

// parseDomains reads the configuration's federation.<key> list.
func parseDomains(key string, rules []string) (map[string]bool, error) {
	out := make(map[string]bool, len(rules))
	for _, rule := range rules {
		domain, err := ParseDomain(rule)
		if err != nil {
			return nil, fmt.Errorf("federation.%s: %w", key, err)
		}
		out[domain] = true
	}
	return out, nil
}
