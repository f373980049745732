package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hearth-social/hearth/federation"
)

var reportCommands = []command{
	{name: "list", args: "GROUP", summary: "List the group's open reports, with what they name and the reporters' comments.", run: onGroup(reportList)},
	{name: "resolve", args: "GROUP NUMBER", summary: "Close a report.", run: reportResolve},
}

func reportList(ctx context.Context, c *cli, m *Main, group string) error {
	reports, err := m.Service.Reports(ctx, group)
	if err != nil {
		return err
	}
	if len(reports) == 0 {
		fmt.Fprintf(c.stdout, "No report about %s is open.\n", group)
		return nil
	}
	for _, r := range reports {
		fmt.Fprintf(c.stdout, "report %d\n  from:     %s (%d)\n  received: %s\n", r.ID, r.From, r.Reports, r.Received.Format("2006-01-02 15:04"))
		if r.Account != "" {
			fmt.Fprintf(c.stdout, "  account:  %s %s\n", r.Account, r.Standing)
		}
		for _, p := range r.Posts {
			fmt.Fprintf(c.stdout, "  post:     %s %s\n", p.Address, p.State)
		}
		if r.Comment != "" {
			fmt.Fprintf(c.stdout, "  comment:  %s\n", r.Comment)
		}
		fmt.Fprintln(c.stdout)
	}
	fmt.Fprintf(c.stdout, "Close one with \"hearth report resolve %s NUMBER\".\n", group)
	return nil
}

func reportResolve(ctx context.Context, c *cli, args []string) (err error) {
	positional, err := c.parse(c.flags(), args)
	if err != nil {
		return err
	}
	if len(positional) != 2 {
		return usagef("want GROUP NUMBER, a number that \"hearth report list\" shows")
	}
	group := positional[0]
	if err := federation.ValidateGroupName(group); err != nil {
		return err
	}
	id, err := strconv.ParseInt(positional[1], 10, 64)
	if err != nil {
		return usagef("%q is not a report's number", positional[1])
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	if err := m.Service.ResolveReport(ctx, group, id); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Report %d in %s is resolved.\n", id, group)
	return nil
}
