package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestDefaultsNeedNoFile(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig("", envOf(nil))
	if err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if cfg.Server.Listen != "127.0.0.1:8080" || cfg.Server.BaseURL != "http://localhost:8080" || cfg.Storage.Path != "hearth.db" ||
		cfg.Log.Level != "info" || cfg.Log.Format != "text" || cfg.Federation.Mode != "open" || cfg.Federation.InsecureDev ||
		cfg.Delivery.PerHost != 4 || cfg.Delivery.Workers != 64 || len(cfg.Federation.Allow) != 0 || len(cfg.Federation.Block) != 0 {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hearth.yaml")
	yaml := "server:\n  base_url: https://file.example\nstorage:\n  path: /var/lib/hearth/file.db\ndelivery:\n  workers: 8\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(file, envOf(map[string]string{
		"HEARTH_SERVER_BASE_URL":  "https://env.example",
		"HEARTH_DELIVERY_WORKERS": "16",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.BaseURL != "https://env.example" || cfg.Delivery.Workers != 16 || cfg.Storage.Path != "/var/lib/hearth/file.db" {
		t.Errorf("got base_url %q, workers %d, path %q; want the environment over the file, the file over defaults",
			cfg.Server.BaseURL, cfg.Delivery.Workers, cfg.Storage.Path)
	}
}

func TestAuthorizedFetchIsOffUnlessTurnedOn(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]bool{"": false, "true": true, "false": false} {
		cfg, err := LoadConfig("", envOf(map[string]string{"HEARTH_FEDERATION_AUTHORIZED_FETCH": env}))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.FederationConfig(nil).AuthorizedFetch; got != want {
			t.Errorf("HEARTH_FEDERATION_AUTHORIZED_FETCH=%q: authorized fetch %v, want %v", env, got, want)
		}
	}
	if _, err := LoadConfig("", envOf(map[string]string{"HEARTH_FEDERATION_AUTHORIZED_FETCH": "sometimes"})); err == nil ||
		!strings.Contains(err.Error(), "federation.authorized_fetch") {
		t.Errorf("authorized_fetch: sometimes: err = %v, want one naming the key", err)
	}
}

func TestDomainListsFromFileAndEnvironment(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hearth.yaml")
	yaml := "federation:\n  mode: allowlist\n  allow:\n    - Friends.Example\n    - other.example.\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		env  map[string]string
		want []string
	}{
		{"yaml list", file, nil, []string{"friends.example", "other.example."}},
		{"commas", "", map[string]string{"HEARTH_FEDERATION_ALLOW": "a.example,b.example"}, []string{"a.example", "b.example"}},
		{"spaces", "", map[string]string{"HEARTH_FEDERATION_ALLOW": "a.example  b.example"}, []string{"a.example", "b.example"}},
		{"both", "", map[string]string{"HEARTH_FEDERATION_ALLOW": "a.example, b.example c.example"}, []string{"a.example", "b.example", "c.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig(tc.path, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Federation.Allow, tc.want) {
				t.Errorf("federation.allow = %q, want %q", cfg.Federation.Allow, tc.want)
			}
		})
	}
}

// A rule names a domain and covers its subdomains, whatever the port; one
// written with a port, or as a URL, would match nothing, silently.
func TestDomainRulesAreDomains(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key, value, err string
	}{
		{"HEARTH_FEDERATION_BLOCK", "spam.example, Worse.Example., bücher.example", ""},
		{"HEARTH_FEDERATION_BLOCK", "spam.example:8443",
			`config federation.block: "spam.example:8443": a rule names a domain, not a server: leave out the port`},
		{"HEARTH_FEDERATION_ALLOW", "friends.example:443",
			`config federation.allow: "friends.example:443": a rule names a domain, not a server: leave out the port`},
		{"HEARTH_FEDERATION_BLOCK", "https://spam.example",
			`config federation.block: "https://spam.example": must be a bare domain name, like example.social`},
		{"HEARTH_FEDERATION_BLOCK", "spam.example/users",
			`config federation.block: "spam.example/users": must be a bare domain name, like example.social`},
		{"HEARTH_FEDERATION_BLOCK", "spam..example",
			`config federation.block: "spam..example": must be a bare domain name, like example.social`},
	} {
		_, err := LoadConfig("", envOf(map[string]string{tc.key: tc.value}))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
			t.Errorf("%s=%s: error %v, want %q", tc.key, tc.value, err, tc.err)
		}
	}
}

func TestBaseURLRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://hearth.example", false, true},
		{"https://hearth.example/", false, true},
		{"https://hearth.example:8443", false, true},
		{"http://localhost:8080", false, true},
		{"http://127.0.0.1:9000", false, true},
		{"http://hearth.example", false, false},
		{"http://hearth.example", true, true},
		{"https://hearth.example/groups", false, false},
		{"https://hearth.example?x=1", false, false},
		{"hearth.example", false, false},
		{"ftp://hearth.example", false, false},
		{"https://user@hearth.example", false, false},
	} {
		vars := map[string]string{"HEARTH_SERVER_BASE_URL": tc.url}
		if tc.insecure {
			vars["HEARTH_FEDERATION_INSECURE_DEV"] = "true"
		}
		_, err := LoadConfig("", envOf(vars))
		if (err == nil) != tc.ok {
			t.Errorf("base_url %q (insecure_dev %v): err = %v, want ok = %v", tc.url, tc.insecure, err, tc.ok)
		}
	}
}

func TestBaseURLDropsTrailingSlash(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig("", envOf(map[string]string{"HEARTH_SERVER_BASE_URL": "https://hearth.example/"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.BaseURL().String(); got != "https://hearth.example" {
		t.Errorf("BaseURL() = %q, want https://hearth.example", got)
	}
}

// The example file is the reference admins copy; it must name every key,
// with its default, and nothing else.
func TestExampleConfigShowsEveryKeyWithItsDefault(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "config.example.yaml")
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	keys := v.AllKeys()
	for key, def := range defaults {
		if !slices.Contains(keys, key) {
			t.Errorf("config.example.yaml lacks %s", key)
			continue
		}
		if got, want := fmt.Sprint(v.Get(key)), fmt.Sprint(def); got != want {
			t.Errorf("config.example.yaml sets %s to %s, but the default is %s", key, got, want)
		}
	}
	fromFile, err := LoadConfig(path, envOf(nil))
	if err != nil {
		t.Fatalf("config.example.yaml does not load: %v", err)
	}
	fromDefaults, err := LoadConfig("", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromFile, fromDefaults) {
		t.Errorf("config.example.yaml gives %+v, defaults give %+v", fromFile, fromDefaults)
	}
}

func TestReadmeTableNamesEveryKeyAndVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for key := range defaults {
		for _, want := range []string{"`" + key + "`", "`" + envName(key) + "`"} {
			if !strings.Contains(string(readme), want) {
				t.Errorf("README.md does not mention %s", want)
			}
		}
	}
}

func TestRateLimitsAndTrustedProxies(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig("", envOf(map[string]string{
		"HEARTH_SERVER_TRUSTED_PROXIES":       "127.0.0.1, 10.0.0.0/8 ::1",
		"HEARTH_FEDERATION_RATE_LIMIT_PER_IP": "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	limits := cfg.FederationConfig(nil).RateLimits
	if fmt.Sprint(limits.TrustedProxies) != "[127.0.0.1/32 10.0.0.0/8 ::1/128]" {
		t.Errorf("trusted proxies %v", limits.TrustedProxies)
	}
	if limits.PerIP != 0 || limits.PerHost != 200 || limits.PerHostBurst != 400 || limits.PerIPBurst != 1000 {
		t.Errorf("rate limits %+v, want per_ip off and the defaults for the rest", limits)
	}
	for _, tc := range []struct{ name, value, want string }{
		{"HEARTH_SERVER_TRUSTED_PROXIES", "proxy.example", "config server.trusted_proxies: \"proxy.example\": must be an address or a network, like 127.0.0.1 or 10.0.0.0/8"},
		{"HEARTH_SERVER_TRUSTED_PROXIES", "10.0.0.0/33", "config server.trusted_proxies: \"10.0.0.0/33\": must be an address or a network, like 127.0.0.1 or 10.0.0.0/8"},
		{"HEARTH_FEDERATION_RATE_LIMIT_PER_HOST", "-1", "config federation.rate_limit.per_host: must be at least 0"},
		{"HEARTH_FEDERATION_RATE_LIMIT_PER_IP_BURST", "0", "config federation.rate_limit.per_ip_burst: must be at least 1"},
		{"HEARTH_FEDERATION_RATE_LIMIT_PER_HOST_BURST", "lots", "config federation.rate_limit.per_host_burst: must be a whole number"},
	} {
		if _, err := LoadConfig("", envOf(map[string]string{tc.name: tc.value})); err == nil || err.Error() != tc.want {
			t.Errorf("%s=%s: %v, want %s", tc.name, tc.value, err, tc.want)
		}
	}
}

func TestALoopbackListenerBehindAPublicURLWantsItsProxyTrusted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		listen, baseURL, proxies string
		warn                     bool
	}{
		{"127.0.0.1:8080", "https://groups.example", "", true},
		{"[::1]:8080", "https://groups.example", "", true},
		{"127.0.0.1:8080", "https://groups.example", "127.0.0.1", false},
		{"0.0.0.0:8080", "https://groups.example", "", false},
		{"127.0.0.1:8080", "http://localhost:8080", "", false},
	} {
		cfg, err := LoadConfig("", envOf(map[string]string{
			"HEARTH_SERVER_LISTEN": tc.listen, "HEARTH_SERVER_BASE_URL": tc.baseURL, "HEARTH_SERVER_TRUSTED_PROXIES": tc.proxies,
		}))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.seemsBehindUntrustedProxy(); got != tc.warn {
			t.Errorf("listen %s, base URL %s, trusted proxies %q: warns %v, want %v", tc.listen, tc.baseURL, tc.proxies, got, tc.warn)
		}
	}
}
