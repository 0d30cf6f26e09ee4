// Package config reads Tally's settings from command-line flags and the
// environment. It holds no globals: Load returns a Config.
package config

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"
)

// DefaultDB is where `tally serve` keeps its data with no set-up.
const DefaultDB = "./tally-data/tally.db"

// Config is the server's configuration.
type Config struct {
	Addr string
	// DB is a SQLite file path, "sqlite:PATH" or a postgres:// URL.
	DB string
	// BootstrapKey (TALLY_API_KEY) is made sure to exist with full access
	// on the default account.
	BootstrapKey    string
	MaxBodyBytes    int64
	MaxInvoices     int
	RateLimit       float64
	RateBurst       int
	ShutdownTimeout time.Duration
	LogFormat       string
	// Demo loads the sample business (internal/demo) into the default
	// account before serving, unless that account already has data.
	Demo bool

	// MaxEntries bounds the entries of one Metrics API answer.
	MaxEntries int
	// MaxInFlight bounds one key's requests in flight to the expensive
	// endpoints (metrics, activities, exports).
	MaxInFlight int
	// BodyTimeout bounds the time a request body may take to arrive;
	// WriteTimeout the time an answer may wait for its client to read it.
	BodyTimeout  time.Duration
	WriteTimeout time.Duration
	// MaxConns bounds the connections open at once (0: no bound).
	MaxConns int
	// PublicURL (TALLY_PUBLIC_URL) is the server's address as clients
	// reach it, for the URLs it hands out (export files).
	PublicURL string
	// TrustProxy (TALLY_TRUST_PROXY) believes the X-Forwarded-Proto of
	// the proxy in front: the dashboard's cookie is then Secure when the
	// browser came over https.
	TrustProxy bool
	// MetricsAddr (TALLY_METRICS_ADDR) is where Prometheus metrics are
	// served, on a listener of their own; empty: not served.
	MetricsAddr string
}

// Load parses serve's flags; getenv supplies the environment.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "TALLY_ADDR", "127.0.0.1:8080"), "address to listen on (TALLY_ADDR)")
	fs.StringVar(&c.DB, "db", envOr(getenv, "TALLY_DB", DefaultDB), "database: a SQLite file path, sqlite:PATH, or a postgres:// URL (TALLY_DB)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body", 16<<20, "largest request body in bytes; larger ones get 413")
	fs.IntVar(&c.MaxInvoices, "max-invoices", 1000, "most invoices in one import request; more get 413")
	fs.Float64Var(&c.RateLimit, "rate-limit", 200, "requests per second per API key (0 turns limiting off)")
	fs.IntVar(&c.RateBurst, "rate-burst", 400, "burst size of the per-key rate limit")
	fs.IntVar(&c.MaxEntries, "max-entries", 5000, "most entries in one metrics answer; a longer series gets 400")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 4, "most requests one API key may have running at once on metrics, activities and exports; more get 429")
	fs.DurationVar(&c.BodyTimeout, "body-timeout", time.Minute, "how long a request body may take to arrive")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", time.Minute, "how long an answer may wait for its client to read it (renewed at each write of a download)")
	fs.IntVar(&c.MaxConns, "max-conns", 1000, "most client connections open at once; more wait to be accepted")
	fs.StringVar(&c.PublicURL, "public-url", getenv("TALLY_PUBLIC_URL"), "the server's address as clients reach it, e.g. https://tally.example.com, for export file URLs (TALLY_PUBLIC_URL; default: from each request)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", getenv("TALLY_TRUST_PROXY") == "true", "believe X-Forwarded-Proto from the reverse proxy in front (TALLY_TRUST_PROXY=true), for the dashboard's Secure cookie")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to let requests in flight finish on SIGINT/SIGTERM")
	fs.StringVar(&c.LogFormat, "log", "text", "log format: text or json")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", getenv("TALLY_METRICS_ADDR"), "address to serve Prometheus metrics on, e.g. 127.0.0.1:9090, apart from the API (TALLY_METRICS_ADDR; default: not served)")
	fs.BoolVar(&c.Demo, "demo", false, "load the demo business into the default account first, unless it already has data")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("%s: -log must be text or json", name)
	}
	if c.MaxInvoices <= 0 {
		return c, fmt.Errorf("%s: -max-invoices must be positive", name)
	}
	if c.MaxBodyBytes <= 0 {
		return c, fmt.Errorf("%s: -max-body must be positive", name)
	}
	for _, p := range []struct {
		flag string
		n    int64
	}{{"max-entries", int64(c.MaxEntries)}, {"max-in-flight", int64(c.MaxInFlight)}, {"max-conns", int64(c.MaxConns)},
		{"body-timeout", int64(c.BodyTimeout)}, {"write-timeout", int64(c.WriteTimeout)}} {
		if p.n <= 0 {
			return c, fmt.Errorf("%s: -%s must be positive", name, p.flag)
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return c, fmt.Errorf("%s: -public-url must be an http:// or https:// URL with a host, such as https://tally.example.com", name)
		}
	}
	c.BootstrapKey = getenv("TALLY_API_KEY")
	return c, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
