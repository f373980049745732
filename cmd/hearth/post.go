package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/hearth-social/hearth/federation"
)

var postCommands = []command{
	{name: "remove", args: "GROUP URL", summary: "Take a shared post back from every server it went to; its author is told, with --reason.", run: postRemove},
	{name: "pin", args: "GROUP URL", summary: "Pin a shared post to the group's profile.", run: postDecision((*federation.Service).PinPost, "Pinned")},
	{name: "unpin", args: "GROUP URL", summary: "Take a post off the group's profile.", run: postDecision((*federation.Service).UnpinPost, "Unpinned")},
	{name: "pending", args: "GROUP", summary: "List the posts waiting for a moderator, with who wrote them and why they wait.", run: onGroup(postPending)},
	{name: "release", args: "GROUP URL", summary: "Share a held post with the members (an anonymous one as the group's own, without its author's name); its author is told.", run: postDecision((*federation.Service).ReleasePost, "Released")},
	{name: "decline", args: "GROUP URL", summary: "Turn a held post down; its author is told.", run: postDecision((*federation.Service).DeclinePost, "Declined")},
}

func postPending(ctx context.Context, c *cli, m *Main, group string) error {
	held, err := m.Service.HeldPosts(ctx, group)
	if err != nil {
		return err
	}
	if len(held) == 0 {
		fmt.Fprintf(c.stdout, "No posts wait for a moderator in %s.\n", group)
		return nil
	}
	for _, p := range held {
		fmt.Fprintf(c.stdout, "%s\n  from:     %s (only moderators see this)\n  received: %s\n",
			p.URL, printable(p.Author.Handle()), p.Received.Format("2006-01-02 15:04"))
		if p.Reason != "" {
			fmt.Fprintf(c.stdout, "  held:     %s\n", printable(p.Reason))
		}
		if p.Summary != "" {
			fmt.Fprintf(c.stdout, "  warning:  %s\n", printable(p.Summary))
		}
		fmt.Fprintf(c.stdout, "  %s\n\n", printable(p.Text))
	}
	fmt.Fprintf(c.stdout, "Publish one with \"hearth post release %s URL\", or refuse it with \"hearth post decline %s URL\".\n", group, group)
	return nil
}

type postDecider func(s *federation.Service, ctx context.Context, group, url string) error

func postDecision(decide postDecider, done string) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) (err error) {
		group, url, err := groupAndURL(c, c.flags(), args)
		if err != nil {
			return err
		}
		m, err := c.open(ctx)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, m.Close()) }()
		if err := decide(m.Service, ctx, group, url); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s %s.\n", done, url)
		return nil
	}
}

// groupAndURL parses the flags of fs and GROUP URL.
func groupAndURL(c *cli, fs *flag.FlagSet, args []string) (group, url string, err error) {
	positional, err := c.parse(fs, args)
	if err != nil {
		return "", "", err
	}
	if len(positional) != 2 || !strings.Contains(positional[1], "://") {
		return "", "", usagef("want GROUP URL, the address of a post of the group")
	}
	return positional[0], positional[1], federation.ValidateGroupName(positional[0])
}

func postRemove(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	reason := fs.String("reason", "", "why, for its author and the moderation log")
	group, url, err := groupAndURL(c, fs, args)
	if err != nil {
		return err
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	if err := m.Service.RemovePost(ctx, group, url, *reason); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Removed %s from %s; its author was told.\n", url, group)
	return nil
}
