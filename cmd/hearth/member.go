package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/storage"
)

var memberCommands = []command{
	{name: "list", args: "GROUP", summary: "List members, pending requests and bans (for admins only: never published).", run: memberList},
	{name: "approve", args: "GROUP ACCOUNT", summary: "Let a pending account in; its server is sent the Accept.", run: memberDecision((*federation.Service).ApproveMember, "approved")},
	{name: "reject", args: "GROUP ACCOUNT", summary: "Refuse a pending request; its server is sent the Reject.", run: memberDecision((*federation.Service).RejectMember, "rejected")},
	{name: "ban", args: "GROUP ACCOUNT", summary: "Remove an account and block it from the group, for good or for --days; it can neither post nor join again meanwhile.", run: memberBan},
	{name: "unban", args: "GROUP ACCOUNT", summary: "Lift a ban and undo the block; the account may ask to join again.", run: memberDecision((*federation.Service).UnbanMember, "unbanned")},
}

// groupAndAccount reads GROUP ACCOUNT. ACCOUNT is user@host, @user@host or
// an actor URL.
func groupAndAccount(positional []string) (string, string, error) {
	if len(positional) != 2 {
		return "", "", usagef("want GROUP ACCOUNT (ACCOUNT is user@host, @user@host or an actor URL)")
	}
	if err := federation.ValidateGroupName(positional[0]); err != nil {
		return "", "", err
	}
	return positional[0], positional[1], nil
}

type decision func(s *federation.Service, ctx context.Context, group, account string) (storage.Actor, error)

func memberDecision(decide decision, done string) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) (err error) {
		fs := c.flags()
		positional, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		group, account, err := groupAndAccount(positional)
		if err != nil {
			return err
		}
		m, err := c.open(ctx)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, m.Close()) }()
		a, err := decide(m.Service, ctx, group, account)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s %s in %s.\n", printable(a.Handle()), done, group)
		return nil
	}
}

func memberBan(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	var terms federation.BanTerms
	fs.IntVar(&terms.Days, "days", 0, "lift the ban by itself after this many `days` (0: only when lifted)")
	fs.StringVar(&terms.Reason, "reason", "", "why, for the moderation log")
	positional, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	group, account, err := groupAndAccount(positional)
	if err != nil {
		return err
	}
	if terms.Days < 0 || terms.Days > federation.MaxBanDays {
		return usagef("invalid value %d for -days: must be 0 to %d", terms.Days, federation.MaxBanDays)
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	a, err := m.Service.BanMember(ctx, group, account, terms)
	if err != nil {
		return err
	}
	how := "until unbanned"
	if terms.Days > 0 {
		how = fmt.Sprintf("for %d days", terms.Days)
	}
	fmt.Fprintf(c.stdout, "%s banned in %s %s.\n", a.Handle(), group, how)
	return nil
}

func memberList(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	state := fs.String("state", "", "only this `state`: member, pending or banned")
	group, err := c.groupArg(fs, args)
	if err != nil {
		return err
	}
	states := []storage.MemberState{storage.Pending, storage.Member, storage.Banned}
	switch *state {
	case "":
	case "member", "pending", "banned":
		states = []storage.MemberState{storage.MemberState(*state)}
	default:
		return usagef("invalid value %q for -state: must be member, pending or banned", *state)
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tACCOUNT\tSINCE")
	rows := 0
	var answers []federation.MemberEntry
	for _, st := range states {
		entries, err := m.Service.Members(ctx, group, st)
		if err != nil {
			return err
		}
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", e.State, printable(e.Actor.Handle()), e.Membership.UpdatedAt.Format("2006-01-02 15:04"))
			rows++
			if e.Membership.Answer != "" {
				answers = append(answers, e)
			}
		}
	}
	if rows == 0 {
		fmt.Fprintf(c.stdout, "%s has no members yet.\n", group)
		return nil
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range answers {
		fmt.Fprintf(c.stdout, "\n%s answered the group's questions:\n  %s\n", printable(e.Actor.Handle()), printable(e.Membership.Answer))
	}
	return nil
}
