package main

import (
	"context"
	"fmt"

	"github.com/hearth-social/hearth/federation"
)

var modCommands = []command{
	{name: "add", args: "GROUP ACCOUNT", summary: "Make a remote account a moderator: it is told of held posts and answers them by direct message.", run: memberDecision((*federation.Service).AddModerator, "made a moderator")},
	{name: "remove", args: "GROUP ACCOUNT", summary: "Take the moderator role away from an account.", run: memberDecision((*federation.Service).RemoveModerator, "no longer a moderator")},
	{name: "list", args: "GROUP", summary: "List a group's moderators, as its moderators collection publishes them.", run: onGroup(modList)},
}

func modList(ctx context.Context, c *cli, m *Main, group string) error {
	moderators, err := m.Service.Moderators(ctx, group)
	if err != nil {
		return err
	}
	if len(moderators) == 0 {
		fmt.Fprintf(c.stdout, "%s has no moderators. Name one with \"hearth mod add %s ACCOUNT\".\n", group, group)
		return nil
	}
	for _, a := range moderators {
		fmt.Fprintln(c.stdout, printable(a.Handle()))
	}
	return nil
}
