// Package server wires Tally together and runs it: it opens and migrates
// the store, sets up the default account, serves the API (and prints the
// dashboard's address, and its sign-in link on first start) and shuts down
// gracefully. It holds no business logic.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/config"
	"github.com/tally-analytics/tally/internal/demo"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/telemetry"
	"github.com/tally-analytics/tally/internal/web"
)

// DefaultAccount is the account `serve` creates on first start.
const DefaultAccount = "default"

// OpenStore opens and migrates the configured database.
func OpenStore(ctx context.Context, dsn string) (*store.Store, error) {
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Bootstrap makes sure the default account exists. On first start it
// creates a full-access key and returns it (shown once); with bootstrapKey
// set it makes sure that key exists with full access. It refuses a
// bootstrapKey weaker than auth.CheckBootstrapKey allows (revoking it if
// an earlier version stored it) and one that was revoked: a revoked key
// never comes back, and the start fails so that the environment is fixed.
func Bootstrap(ctx context.Context, s *store.Store, bootstrapKey string) (newKey string, err error) {
	if bootstrapKey != "" {
		if err := auth.CheckBootstrapKey(bootstrapKey); err != nil {
			switch rerr := s.RevokeAPIKeyByHash(ctx, auth.Hash(bootstrapKey)); {
			case rerr == nil:
				return "", fmt.Errorf("%w; the key it names, stored by an earlier start, is now revoked", err)
			case !errors.Is(rerr, store.ErrNotFound):
				return "", fmt.Errorf("%w (and revoking it failed: %v)", err, rerr)
			}
			return "", err
		}
	}
	n, err := s.CountAccounts(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	acct, _, err := s.EnsureAccount(ctx, DefaultAccount)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if bootstrapKey != "" {
		err := s.EnsureAPIKey(ctx, acct.ID, auth.Prefix(bootstrapKey), auth.Hash(bootstrapKey), billing.AccessFull)
		if errors.Is(err, store.ErrRevoked) {
			return "", fmt.Errorf("TALLY_API_KEY names a revoked key (%v): a revoked key is never made live again; set TALLY_API_KEY to a new key, or unset it", err)
		}
		if err != nil {
			return "", fmt.Errorf("bootstrap TALLY_API_KEY: %w", err)
		}
	}
	if n > 0 || bootstrapKey != "" {
		return "", nil
	}
	key := auth.NewKey()
	if err := s.CreateAPIKey(ctx, acct.ID, auth.Prefix(key), auth.Hash(key), billing.AccessFull); err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	return key, nil
}

// firstSignInLink is a sign-in link for the key Bootstrap just made.
func firstSignInLink(ctx context.Context, s *store.Store, key, base string) (string, error) {
	k, _, err := s.KeyByHash(ctx, auth.Hash(key))
	if err != nil {
		return "", fmt.Errorf("sign-in link: %w", err)
	}
	return SignInLink(ctx, s, k.ID, base)
}

// Run serves until ctx is cancelled, then stops accepting, lets requests
// in flight finish and closes the store. ready, if not nil, receives the
// listening address once the server accepts connections.
func Run(ctx context.Context, cfg config.Config, out io.Writer, log *slog.Logger, ready func(addr string)) error {
	s, err := OpenStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer s.Close()
	key, err := Bootstrap(ctx, s, cfg.BootstrapKey)
	if err != nil {
		return err
	}
	var tel *telemetry.Metrics
	if cfg.MetricsAddr != "" {
		tel = telemetry.New(s)
		stop, err := serveMetrics(cfg.MetricsAddr, tel, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	bg, stopBackground := context.WithCancel(context.Background())
	bgDone := make(chan struct{})
	go func() { defer close(bgDone); retryPending(bg, s, log, tel) }()
	defer func() { stopBackground(); <-bgDone }() // before the store closes
	if cfg.Demo {
		res, err := demo.Install(ctx, s, DefaultAccount, demo.Options{Seed: 1})
		switch {
		case demo.Skipped(err):
			log.Info("demo not loaded", "reason", err)
		case err != nil:
			return fmt.Errorf("demo: %w", err)
		default:
			demo.Describe(out, res)
			fmt.Fprintln(out)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()
	base := BaseURL(cfg.PublicURL, addr)
	if key != "" {
		// issue 11: on first start, a sign-in link beside the key, bound to it.
		link, err := firstSignInLink(ctx, s, key, base)
		if err != nil {
			ln.Close()
			return err
		}
		fmt.Fprintf(out, "Created the default account. Its API key (shown only this once):\n\n    %s\n\n", key)
		fmt.Fprintf(out, "Try it:\n\n    curl -u %s: http://%s/v1/ping\n\n", key, addr)
		fmt.Fprintf(out, "Sign in to the dashboard with it (this link works once, for %d minutes; `tally ui-link` makes another):\n\n    %s\n\n",
			int(LoginTokenTTL.Minutes()), link)
	}
	fmt.Fprintf(out, "Dashboard: %s/\n", base)
	if cfg.MaxConns > 0 {
		ln = limitConns(ln, cfg.MaxConns)
	}
	started := make(startup)
	h, a := handler(s, cfg, log, tel, started)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// The API sets each request's body deadline (--body-timeout) and
		// each answer's write deadline (--write-timeout, from when it
		// starts, so a long write still answers); this is the outer bound.
		ReadTimeout:    10*time.Second + cmp.Or(cfg.BodyTimeout, 5*time.Minute),
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("tally listening", "addr", addr, "db", s.Dialect())
	if ready != nil {
		ready(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Listening already, so that /healthz answers and /readyz says why
	// not yet; every other request waits for this.
	start := time.Now()
	reps, err := Recover(ctx, s, log)
	tel.Recomputed(telemetry.TriggerStartup, reps.Recomputed, reps.Failed, time.Since(start))
	if err != nil {
		// The database answered the migrations, so this is one batch's
		// failure: its customers stay marked (their reconciliation says
		// pending) and the background pass retries them. Refusing to
		// start would take every other account down with it.
		log.Error("recomputing what the last run left failed; the background pass retries it", "error", err)
	}
	close(started)
	// The caches of large accounts are loaded from their snapshots now,
	// rather than by their first requests.
	go func() {
		start := time.Now()
		if err := a.Warm(ctx); err != nil && ctx.Err() == nil {
			log.Warn("loading the metrics caches from their snapshots failed; requests load them instead", "error", err)
			return
		}
		log.Info("metrics caches loaded from snapshots", "took", time.Since(start).Round(time.Millisecond))
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler is everything the server answers: the API under /v1/ and the
// dashboard, which reads its numbers through the API, everywhere else.
func Handler(s *store.Store, cfg config.Config, log *slog.Logger) http.Handler {
	h, _ := handler(s, cfg, log, nil, nil)
	return h
}

// handler is Handler with the server's metrics (nil: none) and its
// start-up gate (nil: started), and the health checks in front.
func handler(s *store.Store, cfg config.Config, log *slog.Logger, tel *telemetry.Metrics, started startup) (http.Handler, *api.API) {
	a := api.NewServer(s, api.Options{Logger: log, MaxBodyBytes: cfg.MaxBodyBytes, MaxInvoices: cfg.MaxInvoices, RateLimit: cfg.RateLimit,
		RateBurst: cfg.RateBurst, MaxEntries: cfg.MaxEntries, MaxInFlight: cfg.MaxInFlight, BodyTimeout: cfg.BodyTimeout,
		WriteTimeout: cfg.WriteTimeout, PublicURL: cfg.PublicURL, Telemetry: tel})
	apiHandler := a.Handler()
	dashboard := web.New(s, a, web.Options{Logger: log, TrustProxy: cfg.TrustProxy, PublicURL: cfg.PublicURL})
	// By prefix, not through a ServeMux: a mux would redirect an unclean
	// /v1 path (/v1//ping) with its own text, where the API answers it
	// in JSON.
	checks := health{store: s, started: started}
	return tel.Instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if checks.serve(w, r) {
			telemetry.NoteRoute(r, r.Method+" "+r.URL.Path)
			return
		}
		if !started.done() {
			// Numbers a crash left stale are recomputed first (api.md
			// rule 3): a request waits rather than read them.
			select {
			case <-started:
			case <-r.Context().Done():
				return
			}
		}
		if p := r.URL.Path; p == "/v1" || strings.HasPrefix(p, "/v1/") {
			apiHandler.ServeHTTP(w, r)
			return
		}
		dashboard.ServeHTTP(w, r)
	})), a
}

// serveMetrics serves tel on addr, apart from the API so that it can stay
// on a private interface; stop closes it.
func serveMetrics(addr string, tel *telemetry.Metrics, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics: %w", err)
	}
	m := http.NewServeMux()
	m.Handle("GET /metrics", tel.Handler())
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving Prometheus metrics", "addr", ln.Addr().String(), "path", "/metrics")
	return func() { _ = srv.Close() }, nil
}
