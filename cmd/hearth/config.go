package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/viper"

	"github.com/hearth-social/hearth/federation"
	"github.com/hearth-social/hearth/storage"
)

// Config is every setting an instance reads at start. Each key has a
// default, so Hearth runs with no file at all.
type Config struct {
	Server struct {
		Listen         string   `mapstructure:"listen"`
		BaseURL        string   `mapstructure:"base_url"`
		TrustedProxies []string `mapstructure:"trusted_proxies"`
	} `mapstructure:"server"`
	Storage struct {
		Driver string `mapstructure:"driver"`
		Path   string `mapstructure:"path"`
		DSN    string `mapstructure:"dsn"`
	} `mapstructure:"storage"`
	Log struct {
		Level  string `mapstructure:"level"`
		Format string `mapstructure:"format"`
	} `mapstructure:"log"`
	Federation struct {
		Mode            string   `mapstructure:"mode"`
		Allow           []string `mapstructure:"allow"`
		Block           []string `mapstructure:"block"`
		AuthorizedFetch bool     `mapstructure:"authorized_fetch"`
		InsecureDev     bool     `mapstructure:"insecure_dev"`
		RateLimit       struct {
			PerHost      int `mapstructure:"per_host"`
			PerHostBurst int `mapstructure:"per_host_burst"`
			PerIP        int `mapstructure:"per_ip"`
			PerIPBurst   int `mapstructure:"per_ip_burst"`
		} `mapstructure:"rate_limit"`
	} `mapstructure:"federation"`
	Delivery struct {
		PerHost int           `mapstructure:"per_host"`
		Workers int           `mapstructure:"workers"`
		Lease   time.Duration `mapstructure:"lease"`
	} `mapstructure:"delivery"`
	Metrics struct {
		Listen string `mapstructure:"listen"`
	} `mapstructure:"metrics"`
}

// defaults lists every key with its default value; a key not listed here is
// a mistake in the file and is reported as one.
var defaults = map[string]any{
	"server.listen":               "127.0.0.1:8080",
	"server.base_url":             "http://localhost:8080",
	"server.trusted_proxies":      []string{},
	"storage.driver":              "sqlite",
	"storage.path":                "hearth.db",
	"storage.dsn":                 "",
	"log.level":                   "info",
	"log.format":                  "text",
	"federation.mode":             string(federation.ModeOpen),
	"federation.allow":            []string{},
	"federation.block":            []string{},
	"federation.authorized_fetch": false,
	"federation.insecure_dev":     false,
	"delivery.per_host":           4,
	"delivery.workers":            64,
	"delivery.lease":              "5m",
	"metrics.listen":              "127.0.0.1:9464",

	// Far above what even a large server sends one group server (hundreds
	// of activities a minute), but well below a flood. A client address may
	// be shared by many servers on one hosting provider, so it gets more.
	"federation.rate_limit.per_host":       200,
	"federation.rate_limit.per_host_burst": 400,
	"federation.rate_limit.per_ip":         500,
	"federation.rate_limit.per_ip_burst":   1000,
}

// envName is the environment variable that overrides key.
func envName(key string) string {
	return "HEARTH_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// ConfigError names the key at fault so the admin knows which line to fix.
type ConfigError struct {
	Key    string
	Reason string
}

func (e *ConfigError) Error() string { return "config " + e.Key + ": " + e.Reason }

// LoadConfig reads the defaults, then the YAML file at path (if path is not
// empty), then HEARTH_* variables from getenv, and validates the result.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	v := viper.New()
	for key, value := range defaults {
		v.SetDefault(key, value)
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
		for _, key := range v.AllKeys() {
			if _, known := defaults[key]; !known {
				return Config{}, &ConfigError{Key: key, Reason: "unknown key"}
			}
		}
	}
	// Environment is read through getenv rather than viper's AutomaticEnv so
	// that the whole lookup can be driven from tests without touching the
	// process environment.
	for key := range defaults {
		if value := getenv(envName(key)); value != "" {
			v.Set(key, value)
		}
	}
	for key, def := range defaults {
		if _, isList := def.([]string); isList {
			v.Set(key, domainList(v.Get(key)))
		}
	}
	var cfg Config
	if err := v.Unmarshal(&cfg); err != nil {
		return Config{}, decodeError(err)
	}
	return cfg, cfg.Validate()
}

// domainList accepts a list of domains either as YAML gives it or as one
// string, which is how it arrives from the environment, separated by commas
// or spaces. Domains compare in lower case.
func domainList(value any) []string {
	var words []string
	switch value := value.(type) {
	case string:
		words = []string{value}
	case []string:
		words = value
	case []any:
		for _, item := range value {
			words = append(words, fmt.Sprint(item))
		}
	}
	var out []string
	for _, word := range words {
		out = append(out, strings.FieldsFunc(strings.ToLower(word), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })...)
	}
	return out
}

// decodeError turns the decoder's report into one line naming the key.
func decodeError(err error) error {
	var named interface{ Name() string }
	if !errors.As(err, &named) {
		return fmt.Errorf("config: %w", err)
	}
	key := named.Name()
	reason := "has the wrong type"
	switch defaults[key].(type) {
	case int:
		reason = "must be a whole number"
	case bool:
		reason = "must be true or false"
	case string:
		reason = "must be text"
	case []string:
		reason = "must be a list"
	}
	return &ConfigError{Key: key, Reason: reason}
}

// Validate checks every value and returns the first problem found.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		return &ConfigError{Key: "server.listen", Reason: "must be host:port, like 127.0.0.1:8080"}
	}
	if err := c.validateBaseURL(); err != nil {
		return err
	}
	switch c.Storage.Driver {
	case "sqlite":
		if c.Storage.Path == "" {
			return &ConfigError{Key: "storage.path", Reason: "must name the database file"}
		}
	case "postgres":
		if c.Storage.DSN == "" {
			return &ConfigError{Key: "storage.dsn", Reason: "must be a PostgreSQL connection string, like postgres://hearth@localhost/hearth"}
		}
	default:
		return &ConfigError{Key: "storage.driver", Reason: fmt.Sprintf("%q: must be sqlite or postgres", c.Storage.Driver)}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		return &ConfigError{Key: "log.level", Reason: fmt.Sprintf("%q: must be debug, info, warn or error", c.Log.Level)}
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		return &ConfigError{Key: "log.format", Reason: fmt.Sprintf("%q: must be text or json", c.Log.Format)}
	}
	switch federation.Mode(c.Federation.Mode) {
	case federation.ModeOpen, federation.ModeAllowlist:
	default:
		return &ConfigError{Key: "federation.mode", Reason: fmt.Sprintf("%q: must be open or allowlist", c.Federation.Mode)}
	}
	for key, domains := range map[string][]string{"federation.allow": c.Federation.Allow, "federation.block": c.Federation.Block} {
		for _, domain := range domains {
			if _, err := federation.ParseDomain(domain); err != nil {
				return &ConfigError{Key: key, Reason: err.Error()}
			}
		}
	}
	if _, err := trustedProxies(c.Server.TrustedProxies); err != nil {
		return err
	}
	limits := c.Federation.RateLimit
	for _, setting := range []struct {
		key          string
		value, least int
	}{
		{"federation.rate_limit.per_host", limits.PerHost, 0},
		{"federation.rate_limit.per_host_burst", limits.PerHostBurst, 1},
		{"federation.rate_limit.per_ip", limits.PerIP, 0},
		{"federation.rate_limit.per_ip_burst", limits.PerIPBurst, 1},
	} {
		if setting.value < setting.least {
			return &ConfigError{Key: setting.key, Reason: fmt.Sprintf("must be at least %d", setting.least)}
		}
	}
	if c.Delivery.PerHost < 1 {
		return &ConfigError{Key: "delivery.per_host", Reason: "must be at least 1"}
	}
	if c.Delivery.Workers < 1 {
		return &ConfigError{Key: "delivery.workers", Reason: "must be at least 1"}
	}
	if c.Delivery.Lease < time.Second {
		return &ConfigError{Key: "delivery.lease", Reason: "must be at least 1s, like 5m"}
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			return &ConfigError{Key: "metrics.listen", Reason: "must be host:port, or empty to serve no metrics"}
		}
	}
	return nil
}

// validateBaseURL insists on the bare origin every IRI is built from: a path
// would be silently dropped from actor ids, and plain http is only for a
// machine talking to itself.
// StorageLocation is where the instance's data lives, as storage.Open
// takes it.
func (c *Config) StorageLocation() string {
	if c.Storage.Driver == "postgres" {
		return "postgres:" + c.Storage.DSN
	}
	return "sqlite:" + c.Storage.Path
}

// StorageName names the database in messages: the SQLite file, or the
// PostgreSQL connection string without its password.
func (c *Config) StorageName() string {
	if c.Storage.Driver == "postgres" {
		return storage.ParseLocation(c.StorageLocation()).String()
	}
	return c.Storage.Path
}

func (c *Config) validateBaseURL() error {
	const key = "server.base_url"
	shape := &ConfigError{Key: key, Reason: "must be an absolute http(s) URL with no path"}
	u, err := url.Parse(c.Server.BaseURL)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return shape
	}
	if u.Path != "" && u.Path != "/" {
		return shape
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !c.Federation.InsecureDev && !isLoopbackHost(u.Hostname()) {
			return &ConfigError{Key: key, Reason: "must be https (plain http is allowed only for localhost or with federation.insecure_dev)"}
		}
	default:
		return shape
	}
	return nil
}

// trustedProxies reads server.trusted_proxies: networks like 10.0.0.0/8,
// or single addresses.
func trustedProxies(entries []string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for _, entry := range entries {
		prefix, err := netip.ParsePrefix(entry)
		if err != nil {
			addr, addrErr := netip.ParseAddr(entry)
			if addrErr != nil || addr.Zone() != "" {
				return nil, &ConfigError{Key: "server.trusted_proxies", Reason: fmt.Sprintf("%q: must be an address or a network, like 127.0.0.1 or 10.0.0.0/8", entry)}
			}
			prefix = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		prefixes = append(prefixes, prefix.Masked())
	}
	return prefixes, nil
}

// seemsBehindUntrustedProxy says whether the instance listens on a
// loopback address for a public base URL, so that a reverse proxy must
// forward every request, while no proxy is trusted: all clients would then
// share the per-address rate limit of the proxy.
func (c *Config) seemsBehindUntrustedProxy() bool {
	host, _, _ := net.SplitHostPort(c.Server.Listen)
	addr, err := netip.ParseAddr(host)
	listensLocally := host == "localhost" || err == nil && addr.IsLoopback()
	return listensLocally && !isLoopbackHost(c.BaseURL().Hostname()) &&
		len(c.Server.TrustedProxies) == 0 && c.Federation.RateLimit.PerIP > 0
}

// BaseURL is the validated public origin of the instance.
func (c *Config) BaseURL() *url.URL {
	u, _ := url.Parse(c.Server.BaseURL)
	return &url.URL{Scheme: u.Scheme, Host: u.Host}
}

func isLoopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// FederationConfig is the part of the configuration the federation service takes.
func (c *Config) FederationConfig(logger *slog.Logger) federation.Config {
	// Validate has already read the proxies.
	proxies, _ := trustedProxies(c.Server.TrustedProxies)
	limits := c.Federation.RateLimit
	return federation.Config{
		BaseURL:         c.BaseURL(),
		Version:         version,
		Mode:            federation.Mode(c.Federation.Mode),
		Allow:           c.Federation.Allow,
		Block:           c.Federation.Block,
		InsecureDev:     c.Federation.InsecureDev,
		AuthorizedFetch: c.Federation.AuthorizedFetch,
		Workers:         c.Delivery.Workers,
		Lease:           c.Delivery.Lease,
		PerHost:         c.Delivery.PerHost,
		Logger:          logger,
		RateLimits: federation.RateLimits{
			PerHost:        limits.PerHost,
			PerHostBurst:   limits.PerHostBurst,
			PerIP:          limits.PerIP,
			PerIPBurst:     limits.PerIPBurst,
			TrustedProxies: proxies,
		},
	}
}

// NewLogger builds the process logger the configuration asks for.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	// Validate has already restricted the level to names slog knows.
	_ = level.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
