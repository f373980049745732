package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/storage"
)

var groupCommands = []command{
	{name: "create", args: "NAME", summary: "Create a group. Mastodon users find it as @NAME@HOST.", run: groupCreate},
	{name: "list", summary: "List every group.", run: groupList},
	{name: "show", args: "NAME", summary: "Show a group's settings, member count and handle.", run: onGroup(groupShow)},
	{name: "update", args: "NAME", summary: "Change a group's settings; only the flags given change.", run: groupUpdate},
	{name: "delete", args: "NAME", summary: "Delete a group with its members and posts.", run: groupDelete},
}

// groupChanges collects the settings flags of group create and update in
// the order given, so that update changes exactly what was typed.
type groupChanges []func(*storage.Group)

func (ch groupChanges) apply(g *storage.Group) {
	for _, change := range ch {
		change(g)
	}
}

// settingFlags declares the flags that set a group's profile and policies.
// Values are checked as they are parsed, so a typo is a usage error.
func settingFlags(fs *flag.FlagSet) *groupChanges {
	changes := &groupChanges{}
	add := func(change func(*storage.Group)) { *changes = append(*changes, change) }
	text := func(name, usage string, set func(*storage.Group, string)) {
		fs.Func(name, usage, func(v string) error {
			add(func(g *storage.Group) { set(g, v) })
			return nil
		})
	}
	choice := func(name, usage string, allowed []string, set func(*storage.Group, string)) {
		usage = "one of `" + strings.Join(allowed, "|") + "`: " + usage
		fs.Func(name, usage, func(v string) error {
			if !slices.Contains(allowed, v) {
				return errors.New("must be " + strings.Join(allowed, " or "))
			}
			add(func(g *storage.Group) { set(g, v) })
			return nil
		})
	}
	text("display-name", "the `name` people see", func(g *storage.Group, v string) { g.DisplayName = v })
	text("summary", "a short `description`, shown on the profile and the web page", func(g *storage.Group, v string) { g.Summary = v })
	fs.Func("icon", "https `URL` of the group's picture (empty to remove)", func(v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				return errors.New("must be an https URL")
			}
		}
		add(func(g *storage.Group) { g.IconURL = v })
		return nil
	})
	choice("visibility", "who can read the posts: anyone, or members only", []string{"public", "private"}, func(g *storage.Group, v string) { g.Visibility = storage.Visibility(v) })
	choice("join", "whether a follow joins at once, waits for a moderator, or is refused", []string{"open", "approval", "closed"}, func(g *storage.Group, v string) { g.Join = storage.JoinPolicy(v) })
	choice("posting", "who may post through the group", []string{"members", "moderators"}, func(g *storage.Group, v string) { g.Posting = storage.PostingPolicy(v) })
	boolean := func(name, usage string, set func(*storage.Group, bool)) {
		fs.BoolFunc(name, usage, func(v string) error {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			add(func(g *storage.Group) { set(g, on) })
			return nil
		})
	}
	boolean("hide-member-count", "keep the member count off the profile and web page", func(g *storage.Group, v bool) { g.HideMemberCount = v })
	boolean("anonymous", "take anonymous posts: a member's direct message starting with !anon waits for a moderator, then the group publishes it without their name", func(g *storage.Group, v bool) { g.AnonymousPosts = v })
	text("content-warning", "a `warning` (like \"grief\") on every post the group publishes itself, in front of the author's own", func(g *storage.Group, v string) { g.ContentWarning = v })
	return changes
}

// groupArg parses args as flags of fs followed by exactly one group NAME.
func (c *cli) groupArg(fs *flag.FlagSet, args []string) (string, error) {
	positional, err := c.parse(fs, args)
	if err != nil {
		return "", err
	}
	return oneName(positional)
}

// onGroup makes a command that takes no flags and one group NAME, and runs
// with the instance open.
func onGroup(run func(ctx context.Context, c *cli, m *Main, group string) error) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) (err error) {
		group, err := c.groupArg(c.flags(), args)
		if err != nil {
			return err
		}
		m, err := c.open(ctx)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, m.Close()) }()
		return run(ctx, c, m, group)
	}
}

// oneName checks that exactly one valid group name was given.
func oneName(positional []string) (string, error) {
	switch len(positional) {
	case 0:
		return "", usagef("missing group NAME")
	case 1:
		return positional[0], federation.ValidateGroupName(positional[0])
	default:
		return "", usagef("unexpected argument %q", positional[1])
	}
}

func groupCreate(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	changes := settingFlags(fs)
	name, err := c.groupArg(fs, args)
	if err != nil {
		return err
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	g := storage.Group{Name: name}
	changes.apply(&g)
	if err := m.Service.CreateGroup(ctx, &g); err != nil {
		return err
	}
	iris := m.Service.IRIs()
	fmt.Fprintf(c.stdout, "Created group %s.\nOn Mastodon, search for @%s@%s and follow it to join.\n", name, name, iris.Host())
	if g.Join == storage.JoinApproval {
		fmt.Fprintln(c.stdout, "A moderator approves each request to join.")
	}
	fmt.Fprintf(c.stdout, "Actor: %s\n", iris.Group(name))
	return nil
}

func groupList(ctx context.Context, c *cli, args []string) (err error) {
	if err := c.noArgs(args); err != nil {
		return err
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	type row struct {
		g       storage.Group
		members int
	}
	var rows []row
	err = m.Store.View(ctx, func(tx *storage.Tx) error {
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		for _, g := range groups {
			n, err := tx.CountMembers(g.ID)
			if err != nil {
				return err
			}
			rows = append(rows, row{g, n})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.stdout, `No groups yet. Create one with "hearth group create NAME".`)
		return nil
	}
	host := m.Service.IRIs().Host()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVISIBILITY\tJOIN\tPOSTING\tMEMBERS\tHANDLE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t@%s@%s\n", r.g.Name, r.g.Visibility, r.g.Join, r.g.Posting, r.members, r.g.Name, host)
	}
	return tw.Flush()
}

func groupShow(ctx context.Context, c *cli, m *Main, name string) error {
	g, err := m.Service.Group(ctx, name)
	if err != nil {
		return err
	}
	return m.printGroup(ctx, c, g)
}

// printGroup writes what an admin needs to know about g, including the
// handle people search for.
func (m *Main) printGroup(ctx context.Context, c *cli, g storage.Group) error {
	var members int
	err := m.Store.View(ctx, func(tx *storage.Tx) error {
		var err error
		members, err = tx.CountMembers(g.ID)
		return err
	})
	if err != nil {
		return err
	}
	iris := m.Service.IRIs()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, line := range [][2]string{
		{"name", g.Name},
		{"handle", "@" + g.Name + "@" + iris.Host()},
		{"actor", iris.Group(g.Name)},
		{"display name", g.DisplayName},
		// A continuation line starts with a tab so that it stays in the
		// value column.
		{"summary", strings.ReplaceAll(g.Summary, "\n", "\n\t")},
		{"icon", g.IconURL},
		{"visibility", string(g.Visibility)},
		{"join", string(g.Join)},
		{"posting", string(g.Posting)},
		{"hide member count", strconv.FormatBool(g.HideMemberCount)},
		{"anonymous posts", strconv.FormatBool(g.AnonymousPosts)},
		{"content warning", g.ContentWarning},
		{"members", strconv.Itoa(members)},
		{"created", g.CreatedAt.Format("2006-01-02 15:04:05 MST")},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", line[0], line[1])
	}
	return tw.Flush()
}

func groupUpdate(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	changes := settingFlags(fs)
	name, err := c.groupArg(fs, args)
	if err != nil {
		return err
	}
	if len(*changes) == 0 {
		return usagef("nothing to change: give at least one setting flag")
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	g, err := m.Service.UpdateGroup(ctx, name, changes.apply)
	if err != nil {
		return err
	}
	return m.printGroup(ctx, c, g)
}

func groupDelete(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	yes := fs.Bool("yes", false, "confirm: the group, its members and its posts are removed for good")
	name, err := c.groupArg(fs, args)
	if err != nil {
		return err
	}
	if !*yes {
		return fmt.Errorf("deleting %q removes its members and posts for good; run again with --yes to confirm", name)
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	if err := m.Service.DeleteGroup(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Deleted group %s.\n", name)
	return nil
}
