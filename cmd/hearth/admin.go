package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/templates"
)

// passwordCost is the bcrypt cost of console passwords. Tests lower it,
// as hashing at full cost would be most of what they spend.
var passwordCost = templates.DefaultPasswordCost

// newPages assembles the web pages and the admin console, which reach the
// federation service through the interface the templates package declares.
func newPages(store *storage.Store, svc *federation.Service, logger *slog.Logger) (*templates.Pages, error) {
	return templates.New(templates.Config{
		Store:        store,
		IRIs:         svc.IRIs(),
		Federation:   consoleFederation{svc},
		Logger:       logger,
		PasswordCost: passwordCost,
	})
}

// consoleFederation is the federation service as the web side asks for it:
// in the templates' own terms, which name no federation type.
type consoleFederation struct{ *federation.Service }

func (f consoleFederation) BanMember(ctx context.Context, group, account string, days int, reason string) (storage.Actor, error) {
	return f.Service.BanMember(ctx, group, account, federation.BanTerms{Days: days, Reason: reason})
}

func (f consoleFederation) Reports(ctx context.Context, group string) ([]templates.Report, error) {
	entries, err := f.Service.Reports(ctx, group)
	if err != nil {
		return nil, err
	}
	reports := make([]templates.Report, len(entries))
	for i, e := range entries {
		reports[i] = templates.Report{ID: e.ID, From: e.From, Reports: e.Reports, Comment: e.Comment, Account: e.Account,
			AccountID: e.AccountID, Standing: e.Standing, Received: e.Received}
		for _, p := range e.Posts {
			reports[i].Posts = append(reports[i].Posts, templates.ReportedPost{Address: p.Address, Page: p.Page, State: p.State})
		}
	}
	return reports, nil
}

func (f consoleFederation) ModerationLog(ctx context.Context, group string, limit int) ([]templates.LogLine, error) {
	lines, err := f.Service.ModerationLog(ctx, group, limit)
	if err != nil {
		return nil, err
	}
	out := make([]templates.LogLine, len(lines))
	for i, l := range lines {
		out[i] = templates.LogLine(l)
	}
	return out, nil
}

func (f consoleFederation) BlockDomain(ctx context.Context, domain, reason string) (templates.Cutoff, error) {
	c, err := f.Service.BlockDomain(ctx, domain, reason)
	return templates.Cutoff(c), err
}

func (f consoleFederation) DomainRules(ctx context.Context) ([]templates.DomainRule, error) {
	rules, err := f.Service.DomainRules(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]templates.DomainRule, len(rules))
	for i, r := range rules {
		out[i] = templates.DomainRule(r)
	}
	return out, nil
}

func (f consoleFederation) Allowlist() bool { return f.Service.Mode() == federation.ModeAllowlist }

var adminCommands = []command{
	{name: "create", args: "NAME", summary: "Create an account of the admin console; the password is read from --password-file, or from standard input.", run: adminCreate},
}

// adminCreate creates a console account. The password never appears on the
// command line, where other users of the machine could read it.
func adminCreate(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flags()
	passwordFile := fs.String("password-file", "-", "read the password from this `file` (- for standard input)")
	positional, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch len(positional) {
	case 0:
		return usagef("missing NAME")
	case 1:
	default:
		return usagef("unexpected argument %q", positional[1])
	}
	password, err := readPassword(*passwordFile)
	if err != nil {
		return err
	}
	m, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	if err := templates.CreateAdmin(ctx, m.Store, positional[0], password, passwordCost); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "created administrator %s; sign in at %s/admin/\n", positional[0], m.Service.IRIs().Base())
	return nil
}

// readPassword reads the first line of path, or of standard input for "-".
func readPassword(path string) (string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", errors.New("no password given")
	}
	return password, nil
}
