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
	choice("hold", "which posts wait for a moderator's release: none, those of new members (see --hold-days, --hold-posts), or all", []string{"none", "new", "all"}, func(g *storage.Group, v string) { g.Hold = storage.HoldPolicy(v) })
	number := func(name, usage string, set func(*storage.Group, int)) {
		fs.Func(name, usage, func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 3650 {
				return errors.New("must be a number from 1 to 3650")
			}
			add(func(g *storage.Group) { set(g, n) })
			return nil
		})
	}
	number("hold-days", "with --hold new, a member's posts are held for `N` days after joining (default 7)", func(g *storage.Group, n int) { g.HoldDays = n })
	number("hold-posts", "with --hold new, a member's posts are held until `N` of them were released (default 1)", func(g *storage.Group, n int) { g.HoldPosts = n })
	number("hold-mentions", "a post addressed to more than `N` groups is held, whatever --hold says (default 3)", func(g *storage.Group, n int) { g.HoldMentions = n })
	choice("replies", "which replies Mastodon-like members get as boosts (all: every one; starters: none, only thread starters; none: only those that mention the group); Lemmy-like servers and the thread pages get every reply", []string{"all", "starters", "none"}, func(g *storage.Group, v string) { g.Replies = storage.ReplyScope(v) })
	choice("non-members", "whether a post from someone who is not a member is dropped or waits for a moderator", []string{"refuse", "hold"}, func(g *storage.Group, v string) { g.NonMembers = storage.NonMemberPolicy(v) })
	// The --question and --trust flags of one command make the whole list.
	var questions, trusted int
	fs.Func("question", fmt.Sprintf("a `question` put by direct message to whoever asks to join an approval group; repeat it for up to %d, which replace the group's", federation.MaxQuestions), func(v string) error {
		v = strings.TrimSpace(v)
		switch {
		case v == "" || strings.ContainsAny(v, "\r\n"):
			return errors.New("must be one line of text")
		case len(v) > federation.MaxQuestionLength:
			return fmt.Errorf("must be at most %d bytes", federation.MaxQuestionLength)
		case questions == federation.MaxQuestions:
			return fmt.Errorf("a group asks at most %d questions", federation.MaxQuestions)
		}
		questions++
		first := questions == 1
		add(func(g *storage.Group) {
			if first {
				g.Questions = nil
			}
			g.Questions = append(g.Questions, v)
		})
		return nil
	})
	boolean("no-questions", "ask no questions of whoever asks to join", func(g *storage.Group, v bool) {
		if v {
			g.Questions = nil
		}
	})
	fs.Func("trust", "a `DOMAIN` whose people join an approval group at once, unasked; repeat it for more, which replace the group's", func(v string) error {
		domain, err := federation.ParseDomain(v)
		if err != nil {
			return err
		}
		trusted++
		first := trusted == 1
		add(func(g *storage.Group) {
			if first {
				g.TrustedDomains = nil
			}
			g.TrustedDomains = append(g.TrustedDomains, domain)
		})
		return nil
	})
	boolean("no-trust", "trust no server's people to join unasked", func(g *storage.Group, v bool) {
		if v {
			g.TrustedDomains = nil
		}
	})
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
		{"hold", fmt.Sprintf("%s (new: %d days, %d posts; more than %d groups mentioned)", g.Hold, g.HoldDays, g.HoldPosts, g.HoldMentions)},
		{"non-members", string(g.NonMembers)},
		{"replies", string(g.Replies)},
		{"questions", strings.Join(g.Questions, "\n\t")},
		{"trusted servers", strings.Join(g.TrustedDomains, " ")},
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
