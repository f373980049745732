package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/storage"
)

var domainCommands = []command{
	{name: "block", args: "DOMAIN", summary: "Refuse DOMAIN and its subdomains: their memberships end, and nothing is taken from or sent to them.", run: domainBlock},
	{name: "unblock", args: "DOMAIN", summary: "Lift a block made with \"hearth domain block\"; memberships it ended stay ended.", run: domainUnblock},
	{name: "allow", args: "DOMAIN", summary: "In allowlist mode, federate with DOMAIN and its subdomains.", run: domainAllow},
	{name: "disallow", args: "DOMAIN", summary: "Take DOMAIN off the allowlist made with \"hearth domain allow\".", run: domainDisallow},
	{name: "list", args: "[DOMAIN]", summary: "List the blocked and allowed domains, from the configuration and from these commands; with DOMAIN, only the rules that cover it.", run: domainRulesList},
}

// domainArg reads the one DOMAIN of a domain command, with the flags
// declared on fs. It is "" when optional and left out.
func (c *cli) domainArg(fs *flag.FlagSet, args []string, optional bool) (string, error) {
	positional, err := c.parse(fs, args)
	if err != nil {
		return "", err
	}
	switch {
	case len(positional) > 1:
		return "", usagef("unexpected argument %q", positional[1])
	case len(positional) == 1:
		return positional[0], nil
	case !optional:
		return "", usagef("missing DOMAIN")
	}
	return "", nil
}

// onDomain makes a domain command that changes a rule: it reads DOMAIN
// (and --reason, when the rule keeps one) and runs with the instance open.
func onDomain(withReason bool, run func(ctx context.Context, c *cli, m *Main, domain, reason string) error) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) (err error) {
		fs := c.flags()
		var reason string
		if withReason {
			fs.StringVar(&reason, "reason", "", "`text` saying why, for the admins who read \"hearth domain list\" later; never sent anywhere")
		}
		domain, err := c.domainArg(fs, args, false)
		if err != nil {
			return err
		}
		if domain, err = federation.ParseDomain(domain); err != nil {
			return err
		}
		m, err := c.open(ctx)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, m.Close()) }()
		return run(ctx, c, m, domain, reason)
	}
}

var domainBlock = onDomain(true, func(ctx context.Context, c *cli, m *Main, domain, reason string) error {
	cutoff, err := m.Service.BlockDomain(ctx, domain, reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Blocked %s and its subdomains; a running server refuses them within a second.\n", domain)
	fmt.Fprintf(c.stdout, "Memberships ended: %d. Queued deliveries dropped: %d.\n", cutoff.Memberships, cutoff.Deliveries)
	return nil
})

var domainUnblock = onDomain(false, func(ctx context.Context, c *cli, m *Main, domain, _ string) error {
	if err := m.Service.RemoveDomainRule(ctx, storage.DomainBlock, domain); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Unblocked %s. Its accounts are members again only if they follow again.\n", domain)
	return nil
})

var domainAllow = onDomain(true, func(ctx context.Context, c *cli, m *Main, domain, reason string) error {
	if err := m.Service.AllowDomain(ctx, domain, reason); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Allowed %s and its subdomains.\n", domain)
	if m.Service.Mode() != federation.ModeAllowlist {
		fmt.Fprintf(c.stdout, "federation.mode is %s: allowed domains matter only in allowlist mode.\n", m.Service.Mode())
	}
	return nil
})

var domainDisallow = onDomain(false, func(ctx context.Context, c *cli, m *Main, domain, _ string) error {
	if err := m.Service.RemoveDomainRule(ctx, storage.DomainAllow, domain); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Took %s off the allowlist.\n", domain)
	return nil
})

func domainRulesList(ctx context.Context, c *cli, args []string) (err error) {
	domain, err := c.domainArg(c.flags(), args, true)
	if err != nil {
		return err
	}
	if domain != "" {
		if domain, err = federation.ParseDomain(domain); err != nil {
			return err
		}
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	rules, err := m.Service.DomainRules(ctx)
	if err != nil {
		return err
	}
	switch m.Service.Mode() {
	case federation.ModeAllowlist:
		fmt.Fprintln(c.stdout, "federation.mode: allowlist (only allowed domains, less the blocked ones)")
	default:
		fmt.Fprintln(c.stdout, "federation.mode: open (every domain but the blocked ones; allowed domains do not matter)")
	}
	if domain != "" {
		verdict := "refused"
		if m.Service.Federates(domain) {
			verdict = "federated with"
		}
		fmt.Fprintf(c.stdout, "%s is %s.\n", domain, verdict)
		rules = slices.DeleteFunc(rules, func(r federation.DomainRule) bool { return !r.Covers(domain) })
	}
	if len(rules) == 0 {
		fmt.Fprintln(c.stdout, "No domain rules.")
		return nil
	}
	fmt.Fprintln(c.stdout)
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tDOMAIN\tFROM\tSINCE\tREASON")
	for _, r := range rules {
		from, since := "hearth domain", r.Since.Format("2006-01-02 15:04")
		if r.InConfig {
			from, since = "config", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Policy, r.Domain, from, since, r.Reason)
	}
	return tw.Flush()
}
