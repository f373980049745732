// Command hearth runs a Hearth instance and administers its groups.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hearth-social/hearth/activitypub"
	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/metrics"
	"github.com/hearth-social/hearth/storage"
)

// generateKey makes the keys of new groups and of the instance actor. Tests
// replace it with pre-made keys, which saves most of their setup time.
var generateKey = activitypub.GenerateKey

// version is set at build time with -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Once the first signal has started a graceful stop, a second one ends
	// the process at once.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// command is one entry of the CLI. It either runs or holds subcommands.
type command struct {
	name    string
	args    string // positional arguments for the usage line, like "NAME"
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
	sub     []command
}

// commands is the top level of the CLI; each entry may live in its own file.
var commands = []command{
	{name: "serve", summary: "Run the server until interrupted.", run: serve},
	{name: "group", summary: "Create, list, show, update and delete groups.", sub: groupCommands},
	{name: "deliveries", summary: "Show the outgoing queue, failing hosts and given-up deliveries.", run: deliveries, sub: deliveriesCommands},
	{name: "member", summary: "List a group's members and join requests; approve, reject, ban, unban.", sub: memberCommands},
	{name: "mod", summary: "Add, remove and list a group's moderators.", sub: modCommands},
	{name: "post", summary: "Remove, pin and unpin shared posts; list, release and decline held anonymous posts.", sub: postCommands},
	{name: "report", summary: "List and resolve the reports about a group.", sub: reportCommands},
	{name: "modlog", args: "GROUP", summary: "Show a group's moderation log: who did what, when and why.", run: modlog},
	{name: "domain", summary: "Block or allow other servers by domain, while the server runs; list the rules.", sub: domainCommands},
	{name: "admin", summary: "Create accounts of the admin console.", sub: adminCommands},
	{name: "backup", args: "FILE", summary: "Copy the database to a new FILE, even while the server runs.", run: backup},
	{name: "restore", args: "FILE", summary: "Put a backup FILE in place of the database; the server must be stopped.", run: restore},
	{name: "migrate-storage", args: "--from sqlite:PATH --to postgres:DSN", summary: "Copy the instance, every row and key, into an empty database; the servers must be stopped.", run: migrateStorage},
	{name: "check", summary: "Check the configuration, the database and that the base URL serves this instance.", run: check},
	{name: "version", summary: "Print the version.", run: printVersion},
}

// cli is what every command gets: where to write, how to read the
// environment, and the configuration file named by --config.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	configPath     string
	path           string   // the words that chose the running command, like "group create"
	current        *command // the running command
}

// usageError is a mistake in how the command was typed: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelpShown means --help was asked for and answered.
var errHelpShown = errors.New("help shown")

// run is the whole CLI: it returns the exit status instead of exiting, so
// tests drive it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	err := c.dispatch(ctx, &command{sub: commands}, args)
	var usage *usageError
	var exit *exitError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "hearth: %s (see \"%s --help\")\n", printable(err.Error()), strings.TrimSpace("hearth "+c.path))
		return 2
	case errors.As(err, &exit):
		fmt.Fprintf(stderr, "hearth: %s\n", printable(err.Error()))
		return exit.code
	default:
		// An error may quote what another server sent.
		fmt.Fprintf(stderr, "hearth: %s\n", printable(err.Error()))
		return 1
	}
}

// printable is s as the CLI prints text that another server supplied or
// may have: handles, ids, post text, errors. Control and bidirectional
// formatting characters, which could rewrite the terminal, start a line
// that seems to be the CLI's own, or make a handle read as someone else's,
// are shown as Go escapes (\n, \x1b, \u202e), and so are bytes that are
// not UTF-8. A backslash already in s is left as it is.
func printable(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size == 1 || activitypub.IsControlOrBidi(r) {
			quoted := strconv.Quote(s[:size])
			b.WriteString(quoted[1 : len(quoted)-1])
		} else {
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
}

// dispatch parses the flags in front of a subcommand name and hands the rest
// of args to that subcommand. A leaf runs itself; a command with both
// subcommands and a run of its own runs it when no subcommand is named.
func (c *cli) dispatch(ctx context.Context, cmd *command, args []string) error {
	c.current = cmd
	if cmd.sub == nil {
		return cmd.run(ctx, c, args)
	}
	fs := c.flags()
	if err := fs.Parse(args); err != nil {
		return c.flagError(fs, err)
	}
	if fs.NArg() == 0 {
		if cmd.run != nil {
			return cmd.run(ctx, c, nil)
		}
		return usagef("missing command")
	}
	name := fs.Arg(0)
	for i := range cmd.sub {
		if cmd.sub[i].name == name {
			c.path = strings.TrimSpace(c.path + " " + name)
			return c.dispatch(ctx, &cmd.sub[i], fs.Args()[1:])
		}
	}
	return usagef("unknown command %q", name)
}

// flags starts the flag set of the running command with the flags every
// command shares.
func (c *cli) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("hearth "+c.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.configPath, "config", c.configPath, "read settings from this YAML `file`")
	return fs
}

// parse parses a leaf command's flags, which may come before, between or
// after its positional arguments, and returns the positional arguments.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, c.flagError(fs, err)
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (c *cli) flagError(fs *flag.FlagSet, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		c.printUsage(c.stdout, fs)
		return errHelpShown
	}
	return &usageError{msg: err.Error()}
}

func (c *cli) printUsage(w io.Writer, fs *flag.FlagSet) {
	cmd := c.current
	line := strings.TrimSpace("hearth " + c.path)
	switch {
	case cmd.sub != nil && cmd.run != nil:
		line += " [COMMAND]"
	case cmd.sub != nil:
		line += " COMMAND"
	case cmd.args != "":
		line += " " + cmd.args
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n", line)
	if cmd.summary != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.summary)
	}
	if cmd.sub != nil {
		fmt.Fprintf(w, "\nCommands:\n")
		for _, sub := range cmd.sub {
			fmt.Fprintf(w, "  %-10s %s\n", sub.name, sub.summary)
		}
	}
	fmt.Fprintf(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// noArgs parses a leaf command that takes flags only.
func (c *cli) noArgs(args []string) error {
	fs := c.flags()
	positional, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("unexpected argument %q", positional[0])
	}
	return nil
}

func (c *cli) config() (Config, error) {
	return LoadConfig(c.configPath, c.getenv)
}

// open loads the configuration and opens the database and service for an
// admin command.
func (c *cli) open(ctx context.Context) (*Main, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	m := NewMain(cfg, cfg.NewLogger(c.stderr))
	if err := m.Open(ctx); err != nil {
		return nil, errors.Join(err, m.Close())
	}
	return m, nil
}

func printVersion(_ context.Context, c *cli, args []string) error {
	if err := c.noArgs(args); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "hearth %s\n", version)
	return nil
}

func serve(ctx context.Context, c *cli, args []string) error {
	if err := c.noArgs(args); err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	m := NewMain(cfg, cfg.NewLogger(c.stderr))
	if err := m.Run(ctx); err != nil {
		return errors.Join(err, m.Close())
	}
	select {
	case <-ctx.Done():
		m.Logger.Info("shutting down")
	case err = <-m.serveErr:
	}
	return errors.Join(err, m.Close())
}

// shutdownGrace bounds how long requests in flight may take to finish once
// the server is asked to stop.
const shutdownGrace = 15 * time.Second

// Main is one instance assembled from its configuration: the database, the
// federation service and the HTTP server.
type Main struct {
	Config Config
	Logger *slog.Logger
	// Listener, when set, is served instead of listening on
	// Config.Server.Listen; tests bind a port first so that the base URL can
	// name it.
	Listener net.Listener
	// Transport, when set, carries every outgoing request instead of the
	// network; tests route them to a fake fediverse with it.
	Transport http.RoundTripper

	Store      *storage.Store
	Service    *federation.Service
	HTTPServer *http.Server

	// Metrics records what the server does; MetricsListener, when set, is
	// where they are served instead of Config.Metrics.Listen.
	Metrics         *metrics.Metrics
	MetricsListener net.Listener
	metricsServer   *http.Server

	serveErr       chan error
	delivering     bool         // the federation service's workers are running
	releaseServing func() error // lets another server or a restore have the database
}

// NewMain returns an instance that has not opened anything yet.
func NewMain(cfg Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger}
}

// Open opens the database and the federation service: everything except the
// HTTP server, which is all the admin commands need.
func (m *Main) Open(ctx context.Context) error {
	store, err := storage.Open(ctx, m.Config.StorageLocation())
	if err != nil {
		return err
	}
	m.Store = store
	fc := m.Config.FederationConfig(m.Logger)
	fc.Transport = m.Transport
	fc.Metrics = m.Metrics
	fc.GenerateKey = generateKey
	m.Service, err = federation.New(ctx, fc, store)
	return err
}

// Run opens the instance and starts serving HTTP in the background. It
// returns once the server accepts connections.
func (m *Main) Run(ctx context.Context) error {
	// Several processes may serve one PostgreSQL database; a SQLite file
	// has one server.
	if m.Config.Storage.Driver == "sqlite" {
		release, err := storage.LockServing(m.Config.Storage.Path)
		if err != nil {
			return err
		}
		m.releaseServing = release
	}
	m.Metrics = metrics.New()
	if err := m.Open(ctx); err != nil {
		return err
	}
	if m.Config.Metrics.Listen != "" {
		if err := m.serveMetrics(); err != nil {
			return err
		}
	}
	pages, err := newPages(m.Store, m.Service, m.Logger)
	if err != nil {
		return err
	}
	if m.Listener == nil {
		if m.Listener, err = net.Listen("tcp", m.Config.Server.Listen); err != nil {
			return err
		}
	}
	m.HTTPServer = &http.Server{
		Handler:           routes(m.Service, pages, m.Store, m.Logger, m.Metrics),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	if err := m.Service.Start(ctx); err != nil {
		return err
	}
	m.delivering = true
	m.serveErr = make(chan error, 1)
	// Close clears these fields, perhaps before the goroutine has run.
	server, listener, serveErr := m.HTTPServer, m.Listener, m.serveErr
	go func() {
		if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	m.Logger.Info("serving", "listen", m.Listener.Addr().String(), "base_url", m.Service.IRIs().Base(), "version", version, "database", m.Config.StorageName())
	return m.adviseAdmin(ctx)
}

// adviseAdmin logs what a person starting the server should know: risky
// settings, and what to do next on an empty instance.
func (m *Main) adviseAdmin(ctx context.Context) error {
	fed := m.Config.Federation
	if fed.InsecureDev {
		m.Logger.Warn("federation.insecure_dev is on: plain-http and loopback peers are allowed; never use this in production")
	}
	if m.Config.seemsBehindUntrustedProxy() {
		m.Logger.Warn("server.listen is a loopback address, so a reverse proxy forwards every request, but server.trusted_proxies is empty: all clients will share the proxy's per-address rate limit")
	}
	if m.Service.Mode() == federation.ModeAllowlist {
		rules, err := m.Service.DomainRules(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(rules, func(r federation.DomainRule) bool { return r.Policy == storage.DomainAllow }) {
			m.Logger.Warn("federation.mode is allowlist but no domain is allowed: no server can reach the groups; " +
				"allow one in federation.allow or with \"hearth domain allow DOMAIN\"")
		}
	}
	var groups []storage.Group
	var admins int
	err := m.Store.View(ctx, func(tx *storage.Tx) error {
		var err error
		if admins, err = tx.CountAdmins(); err != nil {
			return err
		}
		groups, err = tx.Groups()
		return err
	})
	if err != nil {
		return err
	}
	if admins == 0 {
		m.Logger.Info(fmt.Sprintf("no administrator yet: open %s/admin/ to set up the admin console, or run \"hearth admin create NAME\"", m.Service.IRIs().Base()))
	}
	if len(groups) == 0 {
		m.Logger.Info(fmt.Sprintf("no groups yet: create one with \"hearth group create NAME\", then search @NAME@%s on Mastodon", m.Service.IRIs().Host()))
	}
	return nil
}

// Close stops the HTTP server and then the delivery workers, giving work in
// flight a bounded time to finish, then closes the database. Deliveries not
// made stay queued for the next start. Closing twice does nothing more.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	if m.HTTPServer != nil {
		if err := m.HTTPServer.Shutdown(ctx); err != nil {
			errs = append(errs, err, m.HTTPServer.Close())
		}
	} else if m.Listener != nil {
		errs = append(errs, m.Listener.Close())
	}
	if m.metricsServer != nil {
		errs = append(errs, m.metricsServer.Shutdown(ctx))
	} else if m.MetricsListener != nil {
		errs = append(errs, m.MetricsListener.Close())
	}
	if m.delivering {
		errs = append(errs, m.Service.Stop(ctx))
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.releaseServing != nil {
		errs = append(errs, m.releaseServing())
	}
	m.HTTPServer, m.Listener, m.Store, m.delivering, m.releaseServing = nil, nil, nil, false, nil
	m.metricsServer, m.MetricsListener = nil, nil
	return errors.Join(errs...)
}
