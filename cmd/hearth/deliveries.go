package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/storage"
)

var deliveriesCommands = []command{
	{name: "retry", args: "HOST", summary: "Try every delivery to HOST again now, given-up ones included, and lift its rest.", run: deliveriesRetry},
}

// recentFailures is how many given-up deliveries the status lists.
const recentFailures = 10

// deliveries shows the state of the outgoing queue.
func deliveries(ctx context.Context, c *cli, args []string) (err error) {
	if err := c.noArgs(args); err != nil {
		return err
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	var (
		stats  storage.QueueStats
		hosts  []storage.Host
		failed []storage.FailedDelivery
	)
	err = m.Store.View(ctx, func(tx *storage.Tx) (err error) {
		if stats, err = tx.QueueStats(); err != nil {
			return err
		}
		if hosts, err = tx.FailingHosts(); err != nil {
			return err
		}
		failed, err = tx.RecentFailures(recentFailures)
		return err
	})
	if err != nil {
		return err
	}
	now := time.Now()
	printQueue(c.stdout, stats, now)
	if err := printFailingHosts(c.stdout, hosts, now); err != nil {
		return err
	}
	return printGivenUp(c.stdout, failed, now)
}

func printQueue(w io.Writer, s storage.QueueStats, now time.Time) {
	fmt.Fprintf(w, "Queued:  %d (%d due now, %d waiting on failing hosts)\n", s.Queued, s.Due, s.Waiting)
	if s.FanOuts > 0 {
		fmt.Fprintf(w, "Still addressing: %d (activities for all of a group's members, queued to their servers a batch at a time while the server runs)\n", s.FanOuts)
	}
	if !s.Oldest.IsZero() {
		fmt.Fprintf(w, "Oldest:  %s\n", when(s.Oldest, now))
	}
	fmt.Fprintf(w, "Given up: %d\n", s.Failed)
}

func printFailingHosts(w io.Writer, hosts []storage.Host, now time.Time) error {
	if len(hosts) == 0 {
		fmt.Fprintln(w, "\nNo failing hosts.")
		return nil
	}
	fmt.Fprintln(w, "\nFailing hosts:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tFAILURES\tUNREACHABLE SINCE\tNEXT TRY\tQUEUED\tLAST ERROR")
	for _, h := range hosts {
		since, next := "-", "when due"
		if !h.UnreachableSince.IsZero() {
			since = when(h.UnreachableSince, now)
		}
		if h.RetryAt.After(now) {
			next = when(h.RetryAt, now)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", printable(h.Host), h.Failures, since, next, h.Queued, printable(h.LastError))
	}
	return tw.Flush()
}

func printGivenUp(w io.Writer, failed []storage.FailedDelivery, now time.Time) error {
	if len(failed) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nRecently given up:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tINBOX\tATTEMPTS\tREASON\tACTIVITY")
	for _, f := range failed {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", when(f.UpdatedAt, now), printable(f.Inbox), f.Attempts, printable(f.LastError), f.ActivityID)
	}
	return tw.Flush()
}

// when writes a time with how far it is from now, in the words an admin
// reads at a glance: "2026-03-01 12:00 UTC (3h ago)".
func when(t, now time.Time) string {
	d := now.Sub(t)
	relative := "ago"
	if d < 0 {
		d, relative = -d, "from now"
	}
	var span string
	switch {
	case d < time.Minute:
		span = d.Round(time.Second).String()
	case d < time.Hour:
		span = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		span = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		span = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return fmt.Sprintf("%s (%s %s)", t.UTC().Format("2006-01-02 15:04 MST"), span, relative)
}

func deliveriesRetry(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	positional, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch len(positional) {
	case 0:
		return usagef("missing HOST")
	case 1:
	default:
		return usagef("unexpected argument %q", positional[1])
	}
	host, err := hostOf(positional[0])
	if err != nil {
		return err
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	var requeued int64
	err = m.Store.Update(ctx, func(tx *storage.Tx) (err error) {
		requeued, err = tx.RetryHost(host)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "requeued %d deliveries to %s\n", requeued, host)
	return nil
}

// hostOf accepts a host as the status lists it, or any URL on it, in any
// spelling of its name.
func hostOf(arg string) (string, error) {
	if strings.Contains(arg, "://") {
		host, err := activitypub.Host(arg)
		if err != nil {
			return "", usagef("%q is neither a host nor a URL", arg)
		}
		return host, nil
	}
	host, err := activitypub.CanonicalHost(arg)
	if err != nil {
		return "", usagef("%q is not a host name", arg)
	}
	return host, nil
}
