package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
)

// modlog prints a group's moderation log, newest first.
func modlog(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	limit := fs.Int("limit", 100, "show at most this many `lines`")
	group, err := c.groupArg(fs, args)
	if err != nil {
		return err
	}
	if *limit <= 0 {
		return usagef("invalid value %d for -limit: must be positive", *limit)
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	lines, err := m.Service.ModerationLog(ctx, group, *limit)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		fmt.Fprintf(c.stdout, "Nothing was moderated in %s yet.\n", group)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHO\tWHAT\tON\tWHY")
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.At.Format("2006-01-02 15:04"), l.By, l.Action, l.Target, l.Reason)
	}
	return tw.Flush()
}
