package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
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

// domainRules is the instance's domain policy at one moment: the
// configuration's lists merged with what "hearth domain" stored. A change
// replaces it whole, so readers need no lock.
type domainRules struct {
	version      int64 // of the stored policies it was read with
	block, allow map[string]bool
}

// blocks reports whether host, in any spelling and with or without a
// port, is a blocked domain or under one.
func (r *domainRules) blocks(host string) bool {
	name, ok := domainOf(host)
	return ok && under(name, r.block)
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

// readDomainRules reads the stored policies, unless they are still at
// version known, and merges them with the configuration's. It returns nil
// when nothing changed.
func (s *Service) readDomainRules(tx *storage.Tx, known *domainRules) (*domainRules, error) {
	version, err := tx.DomainPoliciesVersion()
	if err != nil || known != nil && known.version == version {
		return nil, err
	}
	stored, err := tx.DomainPolicies()
	if err != nil {
		return nil, err
	}
	rules := &domainRules{version: version, block: map[string]bool{}, allow: map[string]bool{}}
	for _, d := range s.cfg.Block {
		rules.block[d] = true
	}
	for _, d := range s.cfg.Allow {
		rules.allow[d] = true
	}
	for _, p := range stored {
		switch p.Policy {
		case storage.DomainBlock:
			rules.block[p.Domain] = true
		case storage.DomainAllow:
			rules.allow[p.Domain] = true
		}
	}
	return rules, nil
}

// loadDomainRules takes up what "hearth domain" changed, from another
// process, since the rules were last read, and reports whether anything had.
func (s *Service) loadDomainRules(ctx context.Context) (bool, error) {
	var rules *domainRules
	err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		rules, err = s.readDomainRules(tx, s.rules.Load())
		return err
	})
	if err != nil || rules == nil {
		return false, err
	}
	s.rules.Store(rules)
	return true, nil
}

// domainPollEvery is how often the server looks for domain policies
// changed from the command line: a change takes effect within it.
const domainPollEvery = 500 * time.Millisecond

// watchDomainRules takes up changes to the domain rules until ctx ends,
// and cuts off what a newly refused domain got in while this process did
// not know of the change yet.
func (s *Service) watchDomainRules(ctx context.Context) {
	defer close(s.watched)
	ticker := time.NewTicker(domainPollEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		changed, err := s.loadDomainRules(ctx)
		if changed {
			rules := s.rules.Load()
			s.log.Info("domain policies changed", "blocked", len(rules.block), "allowed", len(rules.allow))
			err = s.cutOffRefused(ctx)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("taking up changed domain policies", "err", err)
		}
	}
}

// Cutoff is what cutting off refused domains ended.
type Cutoff struct {
	Memberships int64 // memberships and requests to join, in every group
	Deliveries  int64 // queued deliveries to its servers
}

// cutOffRefused catches up with the rules in force: the accounts of
// blocked domains lose their memberships, and nothing stays queued for a
// server the instance does not federate with. Blocking from the command
// line does this at once; this catches up on what came in before a change
// reached this process, and on the configuration's rules at start.
func (s *Service) cutOffRefused(ctx context.Context) error {
	rules := s.rules.Load()
	if len(rules.block) == 0 && s.cfg.Mode != ModeAllowlist {
		return nil
	}
	var c Cutoff
	err := s.store.Update(ctx, func(tx *storage.Tx) (err error) {
		if c.Memberships, err = tx.EndMembershipsOnHosts(rules.blocks); err != nil {
			return err
		}
		c.Deliveries, err = tx.DropDeliveriesToHosts(func(host string) bool { return !rules.federates(s.cfg.Mode, host) })
		return err
	})
	if err == nil && c != (Cutoff{}) {
		s.log.Info("refused domains cut off", "memberships_ended", c.Memberships, "deliveries_dropped", c.Deliveries)
	}
	return err
}

// BlockDomain blocks domain and its subdomains, whatever the federation
// mode: their accounts' memberships end in every group, what is queued for
// their servers is dropped, and nothing from them is taken or sent again.
// Nobody there is told. A running server follows within a second.
func (s *Service) BlockDomain(ctx context.Context, domain, reason string) (Cutoff, error) {
	domain, err := ParseDomain(domain)
	if err != nil {
		return Cutoff{}, err
	}
	var c Cutoff
	err = s.changeDomainPolicies(ctx, func(tx *storage.Tx) (err error) {
		if err = tx.PutDomainPolicy(storage.DomainPolicy{Domain: domain, Policy: storage.DomainBlock, Reason: reason}); err != nil {
			return err
		}
		blocked := DomainRule{Domain: domain}.Covers
		if c.Memberships, err = tx.EndMembershipsOnHosts(blocked); err != nil {
			return err
		}
		c.Deliveries, err = tx.DropDeliveriesToHosts(blocked)
		return err
	})
	return c, err
}

// AllowDomain lets domain and its subdomains in when the instance federates
// only with the domains it allows (allowlist mode); in open mode it is
// recorded for when the mode changes.
func (s *Service) AllowDomain(ctx context.Context, domain, reason string) error {
	domain, err := ParseDomain(domain)
	if err != nil {
		return err
	}
	return s.changeDomainPolicies(ctx, func(tx *storage.Tx) error {
		return tx.PutDomainPolicy(storage.DomainPolicy{Domain: domain, Policy: storage.DomainAllow, Reason: reason})
	})
}

// RemoveDomainRule removes a block (unblock) or an allow (disallow) made
// with BlockDomain or AllowDomain. Memberships a block ended stay ended.
// Rules from the configuration are changed there.
func (s *Service) RemoveDomainRule(ctx context.Context, policy storage.DomainPolicyKind, domain string) error {
	domain, err := ParseDomain(domain)
	if err != nil {
		return err
	}
	err = s.changeDomainPolicies(ctx, func(tx *storage.Tx) error { return tx.RemoveDomainPolicy(policy, domain) })
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	configured, key, rules, done := s.cfg.Block, "federation.block", s.rules.Load().block, "blocked"
	if policy == storage.DomainAllow {
		configured, key, rules, done = s.cfg.Allow, "federation.allow", s.rules.Load().allow, "allowed"
	}
	if slices.Contains(configured, domain) {
		return fmt.Errorf("%s is %s by %s in the configuration; remove it there", domain, done, key)
	}
	if above, ok := covering(domain, rules); ok {
		return fmt.Errorf("%s has no %s rule of its own: it is %s as part of %s", domain, policy, done, above)
	}
	return fmt.Errorf("%s is not %s", domain, done)
}

// changeDomainPolicies runs change in a transaction and then takes up the
// rules it leaves.
func (s *Service) changeDomainPolicies(ctx context.Context, change func(*storage.Tx) error) error {
	var rules *domainRules
	err := s.store.Update(ctx, func(tx *storage.Tx) (err error) {
		if err := change(tx); err != nil {
			return err
		}
		rules, err = s.readDomainRules(tx, nil)
		return err
	})
	if err == nil {
		s.rules.Store(rules)
	}
	return err
}

// DomainRule is a domain the instance blocks or allows.
type DomainRule struct {
	Domain string
	Policy storage.DomainPolicyKind
	Reason string
	Since  time.Time // zero for the configuration's
	// InConfig marks a rule from federation.block or federation.allow,
	// which only the configuration changes.
	InConfig bool
}

// Covers reports whether the rule applies to host: it is the rule's domain
// or under it, in any spelling.
func (r DomainRule) Covers(host string) bool {
	name, ok := domainOf(host)
	return ok && under(name, map[string]bool{r.Domain: true})
}

// Federates reports whether the instance talks to host, as the rules in
// force now have it.
func (s *Service) Federates(host string) bool { return s.federates(host) }

// DomainRules lists the configuration's rules and the stored ones, blocks
// first.
func (s *Service) DomainRules(ctx context.Context) ([]DomainRule, error) {
	var stored []storage.DomainPolicy
	err := s.store.View(ctx, func(tx *storage.Tx) (err error) {
		stored, err = tx.DomainPolicies()
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []DomainRule
	for _, policy := range []storage.DomainPolicyKind{storage.DomainBlock, storage.DomainAllow} {
		configured := s.cfg.Block
		if policy == storage.DomainAllow {
			configured = s.cfg.Allow
		}
		for _, d := range configured {
			out = append(out, DomainRule{Domain: d, Policy: policy, InConfig: true})
		}
		for _, p := range stored {
			if p.Policy == policy {
				out = append(out, DomainRule{Domain: p.Domain, Policy: p.Policy, Reason: p.Reason, Since: p.CreatedAt})
			}
		}
	}
	return out, nil
}

// Mode is the federation mode the instance runs in.
func (s *Service) Mode() Mode { return s.cfg.Mode }

// parseDomains reads the configuration's federation.<key> list.
func parseDomains(key string, rules []string) ([]string, error) {
	out := make([]string, 0, len(rules))
	for _, rule := range rules {
		domain, err := ParseDomain(rule)
		if err != nil {
			return nil, fmt.Errorf("federation.%s: %w", key, err)
		}
		out = append(out, domain)
	}
	return out, nil
}
