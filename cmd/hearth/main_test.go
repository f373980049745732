package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/federation/fedtest"
	"github.com/hearth-social/hearth/storage"
	"github.com/hearth-social/hearth/storage/storagetest"
)

// testConfig is the default configuration with the database in a fresh
// temporary directory and loopback peers allowed.
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := LoadConfig("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Storage.Path = filepath.Join(t.TempDir(), "hearth.db")
	if storagetest.Postgres() != "" {
		cfg.Storage.Driver, cfg.Storage.DSN = "postgres", storagetest.Location(t)
	}
	cfg.Federation.InsecureDev = true
	cfg.Log.Level = "debug"
	// Any free port: tests run side by side.
	cfg.Metrics.Listen = "127.0.0.1:0"
	return cfg
}

// sqliteConfig is testConfig on a SQLite file whatever database the other
// tests use: for the commands that work on the file itself.
func sqliteConfig(t *testing.T) *Config {
	cfg := testConfig(t)
	cfg.Storage.Driver, cfg.Storage.DSN = "sqlite", ""
	return &cfg
}

// MustRunMain starts a real instance on a loopback port with the given
// configuration (testConfig(t) when nil) and closes it when the test ends.
// The base URL names the port the server really listens on. Options adjust
// the instance before it starts.
func MustRunMain(t *testing.T, cfg *Config, options ...func(*Main)) *Main {
	t.Helper()
	if cfg == nil {
		c := testConfig(t)
		cfg = &c
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Listen = ln.Addr().String()
	cfg.Server.BaseURL = "http://" + ln.Addr().String()
	m := NewMain(*cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
	m.Listener = ln
	for _, option := range options {
		option(m)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

// env is the environment a CLI run sees: the instance's database and base
// URL, plus extra variables given as NAME=value.
func env(m *Main, extra ...string) func(string) string {
	vars := map[string]string{
		"HEARTH_STORAGE_DRIVER": m.Config.Storage.Driver, "HEARTH_STORAGE_DSN": m.Config.Storage.DSN, "HEARTH_STORAGE_PATH": m.Config.Storage.Path,
		"HEARTH_SERVER_BASE_URL":         m.Config.Server.BaseURL,
		"HEARTH_FEDERATION_INSECURE_DEV": "true",
		"HEARTH_METRICS_LISTEN":          "127.0.0.1:0",
	}
	for _, kv := range extra {
		name, value, _ := strings.Cut(kv, "=")
		vars[name] = value
	}
	return func(name string) string { return vars[name] }
}

// hearth runs the CLI in-process and returns its exit status and output.
func hearth(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut, getenv)
	return code, out.String(), errOut.String()
}

// mustHearth runs the CLI and fails the test unless it succeeds.
func mustHearth(t *testing.T, getenv func(string) string, args ...string) string {
	t.Helper()
	code, stdout, stderr := hearth(t, getenv, args...)
	if code != 0 {
		t.Fatalf("hearth %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

func fetch(t *testing.T, m *Main, path, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, m.Config.Server.BaseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// actor is the part of a group actor document these tests look at.
type actor struct {
	ID                string `json:"id"`
	Type              string `json:"type"`
	PreferredUsername string `json:"preferredUsername"`
	PublicKey         struct {
		PublicKeyPem string `json:"publicKeyPem"`
	} `json:"publicKey"`
}

func fetchActor(t *testing.T, m *Main, name string) actor {
	t.Helper()
	resp, body := fetch(t, m, "/g/"+name, "application/activity+json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET actor %s: status %d: %s", name, resp.StatusCode, body)
	}
	var a actor
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("actor %s is not JSON: %v\n%s", name, err, body)
	}
	return a
}

func TestServeAnswersHealthz(t *testing.T) {
	t.Parallel()
	m := MustRunMain(t, nil)
	resp, body := fetch(t, m, "/healthz", "")
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("GET /healthz = %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
	head, err := http.Head(m.Config.Server.BaseURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK {
		t.Errorf("HEAD /healthz = %d, want 200", head.StatusCode)
	}
}

func TestHomePageOnEmptyDatabaseSaysWhatToDo(t *testing.T) {
	t.Parallel()
	m := MustRunMain(t, nil)
	resp, body := fetch(t, m, "/", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / status %d", resp.StatusCode)
	}
	host := strings.TrimPrefix(m.Config.Server.BaseURL, "http://")
	for _, want := range []string{"hearth group create NAME", "@NAME@" + host} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q:\n%s", want, body)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("home page Content-Security-Policy = %q", csp)
	}
}

func TestCreatedGroupIsServedAsPageAndActor(t *testing.T) {
	t.Parallel()
	m := MustRunMain(t, nil)
	getenv := env(m)
	out := mustHearth(t, getenv, "group", "create", "grief", "--display-name", "Grief support", "--summary", "Talk about loss.")
	host := strings.TrimPrefix(m.Config.Server.BaseURL, "http://")
	if !strings.Contains(out, "@grief@"+host) {
		t.Errorf("group create output lacks the handle:\n%s", out)
	}

	resp, page := fetch(t, m, "/g/grief", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("group page status %d", resp.StatusCode)
	}
	for _, want := range []string{"Grief support", "Talk about loss.", "@grief@" + host} {
		if !strings.Contains(page, want) {
			t.Errorf("group page lacks %q", want)
		}
	}

	a := fetchActor(t, m, "grief")
	if a.Type != "Group" || a.ID != m.Config.Server.BaseURL+"/g/grief" || a.PreferredUsername != "grief" {
		t.Errorf("actor = %+v, want Group %s/g/grief named grief", a, m.Config.Server.BaseURL)
	}
	if !strings.Contains(a.PublicKey.PublicKeyPem, "BEGIN PUBLIC KEY") {
		t.Errorf("actor has no public key: %+v", a)
	}

	_, home := fetch(t, m, "/", "")
	if !strings.Contains(home, "Grief support") || strings.Contains(home, "hearth group create NAME") {
		t.Errorf("home page does not list the new group:\n%s", home)
	}
}

func TestRestartKeepsGroupsAndKeys(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	first := MustRunMain(t, &cfg)
	mustHearth(t, env(first), "group", "create", "grief")
	before := fetchActor(t, first, "grief")
	instanceBefore := instanceKey(t, first)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := MustRunMain(t, &cfg)
	after := fetchActor(t, second, "grief")
	if after.PublicKey.PublicKeyPem != before.PublicKey.PublicKeyPem {
		t.Error("the group's public key changed across a restart")
	}
	if instanceKey(t, second) != instanceBefore {
		t.Error("the instance key changed across a restart")
	}
}

func instanceKey(t *testing.T, m *Main) string {
	t.Helper()
	var key storage.InstanceKey
	err := m.Store.View(context.Background(), func(tx *storage.Tx) error {
		var err error
		key, err = tx.InstanceKey()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return key.PublicKeyPEM
}

// watchWriter collects log output and closes seen once it contains want.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestServeCommandAdvisesOnEmptyDatabaseAndStopsOnSignal(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	getenv := func(name string) string {
		return map[string]string{
			"HEARTH_STORAGE_DRIVER": cfg.Storage.Driver, "HEARTH_STORAGE_DSN": cfg.Storage.DSN, "HEARTH_STORAGE_PATH": cfg.Storage.Path,
			"HEARTH_SERVER_LISTEN": "127.0.0.1:0",
		}[name]
	}
	seen := make(chan struct{})
	logs := &watchWriter{want: "no groups yet", seen: seen}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, logs, getenv) }()

	select {
	case <-seen:
	case code := <-done:
		t.Fatalf("serve exited early with %d:\n%s", code, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve never logged advice for an empty database:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `hearth group create NAME`) || !strings.Contains(logs.String(), "@NAME@localhost:8080") {
		t.Errorf("advice does not say what to run and what to search for:\n%s", logs)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited with %d after the signal:\n%s", code, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after the signal")
	}
}

func TestGroupCommandsRoundTrip(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	getenv := func(name string) string {
		return map[string]string{"HEARTH_STORAGE_DRIVER": cfg.Storage.Driver, "HEARTH_STORAGE_DSN": cfg.Storage.DSN, "HEARTH_STORAGE_PATH": cfg.Storage.Path}[name]
	}
	if out := mustHearth(t, getenv, "group", "list"); !strings.Contains(out, "No groups yet") {
		t.Errorf("list on an empty database = %q", out)
	}
	mustHearth(t, getenv, "group", "create", "circle", "--visibility", "private", "--summary", "For carers.")
	mustHearth(t, getenv, "group", "create", "--posting", "moderators", "news")

	show := mustHearth(t, getenv, "group", "show", "circle")
	for _, want := range []string{"@circle@localhost:8080", "http://localhost:8080/g/circle", "private", "approval", "For carers.", "members:"} {
		if !strings.Contains(show, want) {
			t.Errorf("group show lacks %q:\n%s", want, show)
		}
	}

	updated := mustHearth(t, getenv, "group", "update", "news", "--display-name", "Announcements")
	if !strings.Contains(updated, "Announcements") || !strings.Contains(updated, "moderators") {
		t.Errorf("update changed more or less than asked:\n%s", updated)
	}

	list := mustHearth(t, getenv, "group", "list")
	if !strings.Contains(list, "circle") || !strings.Contains(list, "news") {
		t.Errorf("group list = %q", list)
	}

	mustHearth(t, getenv, "group", "delete", "news", "--yes")
	if code, _, stderr := hearth(t, getenv, "group", "show", "news"); code != 1 || !strings.Contains(stderr, "no such group") {
		t.Errorf("show after delete: exit %d, stderr %q", code, stderr)
	}
}

func TestConfigFlagBeforeOrAfterCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "hearth.yaml")
	db := filepath.Join(dir, "from-file.db")
	if err := os.WriteFile(file, []byte("storage:\n  path: "+db+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	mustHearth(t, noEnv, "--config", file, "group", "create", "first")
	mustHearth(t, noEnv, "group", "create", "second", "--config", file)
	list := mustHearth(t, noEnv, "group", "list", "--config="+file)
	if !strings.Contains(list, "first") || !strings.Contains(list, "second") {
		t.Errorf("groups created with --config in either place are not in %s:\n%s", db, list)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	if out := mustHearth(t, func(string) string { return "" }, "version"); out != "hearth dev\n" {
		t.Errorf("version printed %q", out)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	var walk func(path []string, cmds []command)
	walk = func(path []string, cmds []command) {
		for _, cmd := range cmds {
			words := append(append([]string{}, path...), cmd.name)
			code, stdout, stderr := hearth(t, func(string) string { return "" }, append(words, "--help")...)
			want := "Usage: hearth " + strings.Join(words, " ")
			if code != 0 || !strings.HasPrefix(stdout, want) || stderr != "" {
				t.Errorf("hearth %s --help: exit %d, stdout %q, stderr %q", strings.Join(words, " "), code, stdout, stderr)
			}
			walk(words, cmd.sub)
		}
	}
	walk(nil, commands)
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	badFile := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badFile, []byte("log:\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	typoFile := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(typoFile, []byte("server:\n  baseurl: https://hearth.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	baseEnv := map[string]string{"HEARTH_STORAGE_DRIVER": cfg.Storage.Driver, "HEARTH_STORAGE_DSN": cfg.Storage.DSN, "HEARTH_STORAGE_PATH": cfg.Storage.Path}
	getenv := func(extra ...string) func(string) string {
		vars := map[string]string{}
		for k, v := range baseEnv {
			vars[k] = v
		}
		for _, kv := range extra {
			name, value, _ := strings.Cut(kv, "=")
			vars[name] = value
		}
		return func(name string) string { return vars[name] }
	}
	mustHearth(t, getenv(), "group", "create", "grief")

	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"duplicate name", nil, []string{"group", "create", "grief"}, 1,
			`hearth: "grief": a group with that name exists already`},
		{"invalid name", nil, []string{"group", "create", "Grief Support"}, 1,
			`hearth: "Grief Support": a group name is 1 to 64 characters from a-z, 0-9 and _`},
		{"unknown group shown", nil, []string{"group", "show", "nobody"}, 1,
			`hearth: "nobody": no such group`},
		{"unknown group updated", nil, []string{"group", "update", "nobody", "--summary", "x"}, 1,
			`hearth: "nobody": no such group`},
		{"unknown group deleted", nil, []string{"group", "delete", "nobody", "--yes"}, 1,
			`hearth: "nobody": no such group`},
		{"delete unconfirmed", nil, []string{"group", "delete", "grief"}, 1,
			`hearth: deleting "grief" removes its members and posts for good; run again with --yes to confirm`},
		{"private group with open joining", nil, []string{"group", "update", "grief", "--visibility", "private", "--join", "open"}, 1,
			`hearth: a private group cannot have open joining: members are approved`},
		{"bad flag value", nil, []string{"group", "create", "news", "--visibility", "secret"}, 2,
			`hearth: invalid value "secret" for flag -visibility: must be public or private (see "hearth group create --help")`},
		{"bad icon", nil, []string{"group", "update", "grief", "--icon", "http://example.com/a.png"}, 2,
			`hearth: invalid value "http://example.com/a.png" for flag -icon: must be an https URL (see "hearth group update --help")`},
		{"unknown flag", nil, []string{"group", "list", "--all"}, 2,
			`hearth: flag provided but not defined: -all (see "hearth group list --help")`},
		{"missing name", nil, []string{"group", "show"}, 2,
			`hearth: missing group NAME (see "hearth group show --help")`},
		{"extra argument", nil, []string{"group", "show", "grief", "loss"}, 2,
			`hearth: unexpected argument "loss" (see "hearth group show --help")`},
		{"nothing to update", nil, []string{"group", "update", "grief"}, 2,
			`hearth: nothing to change: give at least one setting flag (see "hearth group update --help")`},
		{"unknown command", nil, []string{"frobnicate"}, 2,
			`hearth: unknown command "frobnicate" (see "hearth --help")`},
		{"unknown group command", nil, []string{"group", "rename"}, 2,
			`hearth: unknown command "rename" (see "hearth group --help")`},
		{"no command", nil, nil, 2,
			`hearth: missing command (see "hearth --help")`},
		{"bad base URL from env", []string{"HEARTH_SERVER_BASE_URL=https://hearth.example/groups"}, []string{"group", "list"}, 1,
			`hearth: config server.base_url: must be an absolute http(s) URL with no path`},
		{"plain http base URL from env", []string{"HEARTH_SERVER_BASE_URL=http://hearth.example"}, []string{"serve"}, 1,
			`hearth: config server.base_url: must be https (plain http is allowed only for localhost or with federation.insecure_dev)`},
		{"bad number from env", []string{"HEARTH_DELIVERY_WORKERS=many"}, []string{"group", "list"}, 1,
			`hearth: config delivery.workers: must be a whole number`},
		{"bad bool from env", []string{"HEARTH_FEDERATION_INSECURE_DEV=sometimes"}, []string{"serve"}, 1,
			`hearth: config federation.insecure_dev: must be true or false`},
		{"bad domain from env", []string{"HEARTH_FEDERATION_BLOCK=bad.example,https://worse.example"}, []string{"serve"}, 1,
			`hearth: config federation.block: "https://worse.example": must be a bare domain name, like example.social`},
		{"domain with a port from env", []string{"HEARTH_FEDERATION_BLOCK=bad.example:8443"}, []string{"serve"}, 1,
			`hearth: config federation.block: "bad.example:8443": a rule names a domain, not a server: leave out the port`},
		{"bad value in file", nil, []string{"group", "list", "--config", badFile}, 1,
			`hearth: config log.level: "loud": must be debug, info, warn or error`},
		{"unknown key in file", nil, []string{"--config", typoFile, "serve"}, 1,
			`hearth: config server.baseurl: unknown key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := hearth(t, getenv(tc.env...), tc.args...)
			if code != tc.code || stderr != tc.stderr+"\n" {
				t.Errorf("hearth %s\n got exit %d, stderr %q\nwant exit %d, stderr %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.stderr+"\n")
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

// testRoutes is the instance's route table around svc, as serve mounts it,
// for tests that assemble the service themselves.
func testRoutes(tb testing.TB, svc *federation.Service, store *storage.Store) http.Handler {
	tb.Helper()
	pages, err := newPages(store, svc, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return routes(svc, pages, store, slog.New(slog.DiscardHandler), nil)
}

func TestMain(m *testing.M) {
	generateKey = fedtest.Key
	passwordCost = bcrypt.MinCost
	os.Exit(m.Run())
}

func TestPrintableEscapesWhatCouldRewriteTheTerminal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"@alice@mastodon.example":  "@alice@mastodon.example",
		"\x1b[2J\x1b[Hcleared":     `\x1b[2J\x1b[Hcleared`,
		"one\ntwo\r\tthree\x00":    `one\ntwo\r\tthree\x00`,
		"\x7f\u0085\u009b":         `\x7f\u0085\u009b`,
		"@alice@evil\u202etset.":   `@alice@evil\u202etset.`,
		"\u2066\u2069\u200e\u200f": `\u2066\u2069\u200e\u200f`,
		"line\u2028separator":      `line\u2028separator`,
		"not utf-8: \xff\x9b":      `not utf-8: \xff\x9b`,
		`a backslash \x1b stays`:   `a backslash \x1b stays`,
		"zoë, שלום, 🙂, \ufffd, é":  "zoë, שלום, 🙂, \ufffd, é",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
