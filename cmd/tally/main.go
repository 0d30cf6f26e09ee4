// Command tally is the Tally server and its administration commands.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // account time zones work on machines without a zone database

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/bench"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/config"
	"github.com/tally-analytics/tally/internal/demo"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/server"
	"github.com/tally-analytics/tally/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Tally: subscription analytics that speaks ChartMogul's v1 API.

Usage:
  tally serve   [--addr 127.0.0.1:8080] [--db PATH|sqlite:PATH|postgres://…] [--demo]
  tally migrate [--db …]
  tally apikey create [--db …] [--account NAME] [--read]
  tally apikey list   [--db …] [--account NAME]
  tally apikey revoke [--db …] KEY|PREFIX
  tally ui-link [--db …] [--account NAME] [--read] [--url BASE]
                                     a one-time dashboard sign-in link (10 minutes)
  tally fx import [--db …] FILE      load ECB reference rates (eurofxref-hist.csv)
  tally recompute [--db …] [--account NAME]
  tally demo [--db …] [--account NAME] [--seed 1] [--anchor YYYY-MM-DD]
                                     load a sample business through the API
  tally bench [--db EMPTY-DB] [--customers 10000] [--invoices 20] [--seed 1] [--reuse] [--clients 8] [--ingest-customers N] [--json-import [--per-request 1000] [--concurrency 1]] [--ingest]
  tally backup  [--db …] FILE        a consistent copy of a live SQLite database
  tally restore [--db …] FILE        replace the (stopped) SQLite database with a backup
  tally version

Environment: TALLY_API_KEY makes serve ensure that key exists with full
access on the default account; TALLY_DB and TALLY_ADDR set --db and --addr.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], getenv, stdout, stderr)
	case "apikey":
		err = apikey(ctx, args[1:], getenv, stdout, stderr)
	case "ui-link":
		err = uiLink(ctx, args[1:], getenv, stdout, stderr)
	case "fx":
		err = fxCommand(ctx, args[1:], getenv, stdout, stderr)
	case "recompute":
		err = recomputeCommand(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		err = benchCommand(ctx, args[1:], stdout, stderr)
	case "demo":
		err = demoCommand(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		err = backupCommand(ctx, args[1:], getenv, stdout, stderr)
	case "restore":
		err = restoreCommand(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "tally", version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "tally: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "tally:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	return server.Run(ctx, cfg, stdout, slog.New(h), nil)
}

// dbFlag adds --db to an admin command's flags.
func dbFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	def := getenv("TALLY_DB")
	if def == "" {
		def = config.DefaultDB
	}
	return fs.String("db", def, "database: a SQLite file path, sqlite:PATH, or a postgres:// URL")
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := server.OpenStore(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintln(stdout, "migrations applied to", s.Dialect(), "database")
	return nil
}

// backupCommand is `tally backup`: VACUUM INTO while serve keeps writing.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("backup: want the backup file to write: tally backup [--db …] FILE")
	}
	if store.SQLitePath(*db) == "" {
		return store.ErrBackupPostgres
	}
	if _, err := os.Stat(store.SQLitePath(*db)); err != nil { // rather than create an empty one
		return fmt.Errorf("backup: %w", err)
	}
	s, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "backed up to", fs.Arg(0))
	return nil
}

// restoreCommand is `tally restore`: the database replaced by a checked
// backup, with serve stopped.
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("restore: want the backup file to restore: tally restore [--db …] FILE")
	}
	if err := store.Restore(ctx, fs.Arg(0), *db); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "restored", *db, "from", fs.Arg(0), "(serve migrates it on start if this build is newer)")
	return nil
}

func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("apikey: want create, list or revoke")
	}
	fs := flag.NewFlagSet("apikey "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := dbFlag(fs, getenv)
	accountName := fs.String("account", "", "account name (create: default "+server.DefaultAccount+"; list: all accounts)")
	read := fs.Bool("read", false, "create a read-only key")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	open := func() (*store.Store, error) { return server.OpenStore(ctx, *db) }
	switch args[0] {
	case "create":
		s, err := open()
		if err != nil {
			return err
		}
		defer s.Close()
		name := *accountName
		if name == "" {
			name = server.DefaultAccount
		}
		acct, _, err := s.EnsureAccount(ctx, name)
		if err != nil {
			return err
		}
		key, err := createKey(ctx, s, acct.ID, *read)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
		return nil
	case "list":
		s, err := open()
		if err != nil {
			return err
		}
		defer s.Close()
		keys, err := s.ListAPIKeys(ctx, *accountName)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PREFIX\tACCOUNT\tACCESS\tCREATED\tSTATE")
		for _, k := range keys {
			state := "active"
			if k.RevokedAt != nil {
				state = "revoked " + k.RevokedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s…\t%s\t%s\t%s\t%s\n", auth.Shown(k.Prefix), k.AccountName, k.Access, k.CreatedAt.Format("2006-01-02 15:04"), state)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("apikey revoke: give the key, or its prefix as `tally apikey list` shows it")
		}
		s, err := open()
		if err != nil {
			return err
		}
		defer s.Close()
		return revokeKey(ctx, s, fs.Arg(0), stdout)
	}
	return fmt.Errorf("apikey: unknown subcommand %q (want create, list or revoke)", args[0])
}

// revokeKey revokes the key arg names: the whole key first (by its hash,
// so two keys sharing a prefix are told apart), else the prefix `apikey
// list` shows, when exactly one live key has it. Nothing of arg is
// printed back but its shown prefix.
func revokeKey(ctx context.Context, s *store.Store, arg string, stdout io.Writer) error {
	err := s.RevokeAPIKeyByHash(ctx, auth.Hash(arg))
	if err == nil {
		fmt.Fprintln(stdout, "revoked", auth.Prefix(arg)+"…")
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	prefix := strings.TrimSuffix(arg, "…")
	switch err := s.RevokeAPIKeyByPrefix(ctx, prefix); {
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("apikey revoke: %w; give the whole key to say which", err)
	case errors.Is(err, store.ErrNotFound):
		return errors.New("apikey revoke: no live key is this key or has this prefix: not found")
	case err != nil:
		return err
	}
	fmt.Fprintln(stdout, "revoked", prefix+"…")
	return nil
}

// uiLink is `tally ui-link`: a new API key for the account, whose secret
// is never shown, and a one-time sign-in link bound to it (issue 11). The
// link goes alone to stdout, for scripts; how to end what it opens goes
// to stderr. Revoking the key ends the browser session too.
func uiLink(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ui-link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := dbFlag(fs, getenv)
	accountName := fs.String("account", server.DefaultAccount, "account to sign in to")
	read := fs.Bool("read", false, "sign in with a read-only key: a read-only dashboard")
	addr := cmp.Or(getenv("TALLY_ADDR"), "127.0.0.1:8080")
	base := fs.String("url", server.BaseURL(getenv("TALLY_PUBLIC_URL"), addr),
		"the dashboard's address as the browser reaches it (default: TALLY_PUBLIC_URL, else http:// and TALLY_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("ui-link: unexpected argument %q", fs.Arg(0))
	}
	if u, err := url.Parse(*base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ui-link: --url %q is not an http(s) URL such as https://tally.example.com", *base)
	}
	s, err := server.OpenStore(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	acct, err := s.AccountByName(ctx, *accountName)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("ui-link: no account is called %q (`tally serve` makes %q on its first start)", *accountName, server.DefaultAccount)
	}
	if err != nil {
		return err
	}
	key, err := createKey(ctx, s, acct.ID, *read)
	if err != nil {
		return err
	}
	k, _, err := s.KeyByHash(ctx, auth.Hash(key))
	if err != nil {
		return err
	}
	link, err := server.SignInLink(ctx, s, k.ID, *base)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, link)
	kind := "full-access"
	if *read {
		kind = "read-only"
	}
	fmt.Fprintf(stderr, "The link works once, for %d minutes. It signs in to account %q with a new %s API key, %s…;\n"+
		"`tally apikey revoke %s` revokes that key and ends the browser session.\n",
		int(server.LoginTokenTTL.Minutes()), acct.Name, kind, k.Prefix, k.Prefix)
	return nil
}

// fxCommand is `tally fx import FILE`: ECB reference rates for metrics.md
// rule 20's conversions.
func fxCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return errors.New("fx: want `fx import FILE`")
	}
	fs := flag.NewFlagSet("fx import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := dbFlag(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("fx import: give the CSV file (the ECB's eurofxref-hist.csv format)")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	rates, err := money.ParseECB(f)
	if err != nil {
		return fmt.Errorf("fx import %s: %w", fs.Arg(0), err)
	}
	s, err := server.OpenStore(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	rows := make([]store.FXRate, 0, len(rates))
	currencies := map[string]bool{}
	for _, r := range rates {
		rows = append(rows, store.FXRate{Currency: r.Currency, Day: r.Day, PerEUR: r.PerEUR.FloatString(10)})
		currencies[r.Currency] = true
	}
	if err := s.SaveFXRates(ctx, rows); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loaded %d rates of %d currencies\n", len(rows), len(currencies))
	return nil
}

// recomputeCommand recomputes every customer's metrics from its history:
// the same results the incremental path stores.
func recomputeCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("recompute", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := dbFlag(fs, getenv)
	only := fs.String("account", "", "recompute one account (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := server.OpenStore(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	var accounts []billing.Account
	if *only != "" {
		a, err := s.AccountByName(ctx, *only)
		if err != nil {
			return fmt.Errorf("account %q: %w", *only, err)
		}
		accounts = append(accounts, a)
	} else if accounts, err = s.Accounts(ctx); err != nil {
		return err
	}
	// Every account is recomputed whatever happens to one: a customer the
	// engine refuses is listed and keeps its previous results, an account
	// that fails is reported, and the command exits non-zero at the end.
	var failed int
	for _, a := range accounts {
		start := time.Now()
		// Rates of its own: one account's failure to load them (which the
		// engine reports as the batch's error) is not the next one's.
		rep, err := recompute.All(ctx, s, a.ID, recompute.NewStoreRates(ctx, s))
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "%s: recomputation failed: %v\n", a.Name, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: %d customers in %s\n", a.Name, rep.Recomputed, time.Since(start).Round(time.Millisecond))
		for _, f := range rep.Failed {
			failed++
			fmt.Fprintf(stderr, "%s: customer %s: %v\n", a.Name, f.CustomerUUID, f.Err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d accounts or customers could not be recomputed (listed above); their previous results stand", failed)
	}
	return nil
}

// benchCommand generates a seeded synthetic book in an empty database (a
// temporary SQLite file unless --db names one) and prints figures.
func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "an empty database: a SQLite path or a postgres:// URL (default: a temporary SQLite file)")
	o := bench.Options{Out: stdout}
	fs.IntVar(&o.Customers, "customers", 10000, "customers in the book")
	fs.IntVar(&o.InvoicesPerCustomer, "invoices", 20, "invoices per customer")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same book")
	fs.IntVar(&o.Samples, "samples", 200, "samples of the incremental recompute and of unfiltered metrics")
	fs.IntVar(&o.FilteredSamples, "filtered-samples", 20, "samples of filtered metrics")
	fs.IntVar(&o.PageSamples, "page-samples", 50, "samples of each dashboard page")
	fs.BoolVar(&o.Reuse, "reuse", false, "measure the book an earlier run left in --db instead of generating one")
	jsonImport := fs.Bool("json-import", false, "measure only the bulk import: the book through POST …/json_imports over HTTP, then invoices/s")
	perRequest := fs.Int("per-request", 1000, "with --json-import: customers per request")
	concurrency := fs.Int("concurrency", 1, "with --json-import: requests in flight at once")
	ingest := fs.Bool("ingest", false, "measure only ingestion: one customer and its invoices per request over HTTP, by --clients clients, then invoices/s")
	clients := fs.Int("clients", 8, "clients sending at once in the ingestion measurement")
	fs.IntVar(&o.IngestCustomers, "ingest-customers", -1, "customers of the ingestion measurement a full run ends with (default: --customers, at most 10000; 0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dsn := *db
	if o.Reuse && dsn == "" {
		return fmt.Errorf("--reuse needs --db: the database an earlier run generated its book in")
	}
	if dsn == "" {
		dir, err := os.MkdirTemp("", "tally-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dsn = dir + "/bench.db"
	}
	s, err := server.OpenStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stdout, "tally bench on %s, seed %d\n", s.Dialect(), o.Seed)
	if *jsonImport {
		if *perRequest < 1 {
			return fmt.Errorf("--per-request must be at least 1")
		}
		return bench.JSONImport(ctx, s, bench.JSONImportOptions{Options: o, PerRequest: *perRequest, Concurrency: *concurrency})
	}
	if *ingest {
		_, err := bench.Ingest(ctx, s, bench.IngestOptions{Options: o, Clients: *clients})
		return err
	}
	o.Reopen = func(ctx context.Context) (*store.Store, error) { return server.OpenStore(ctx, dsn) }
	o.IngestClients = *clients
	if o.IngestCustomers < 0 {
		o.IngestCustomers = min(o.Customers, 10000)
	}
	return bench.Run(ctx, s, o)
}

// demoCommand is `tally demo`: internal/demo's sample business, sent
// through the API into an account (the default one unless --account).
func demoCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := dbFlag(fs, getenv)
	account := fs.String("account", server.DefaultAccount, "account to load the demo into (created if need be)")
	var o demo.Options
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed and anchor give the same book")
	anchor := fs.String("anchor", "", "the book's today, YYYY-MM-DD: invoices before it, scheduled events after (default: the first day of the current month, UTC)")
	fs.IntVar(&o.Customers, "customers", demo.DefaultCustomers, "customers in the book")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	if *anchor != "" {
		t, err := time.Parse(time.DateOnly, *anchor)
		if err != nil {
			return fmt.Errorf("demo: --anchor %q is not YYYY-MM-DD", *anchor)
		}
		o.Anchor = t
	}
	s, err := server.OpenStore(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	var key string
	if *account == server.DefaultAccount {
		// As serve's first start: a new database gets its key here.
		if key, err = server.Bootstrap(ctx, s, getenv("TALLY_API_KEY")); err != nil {
			return err
		}
	}
	res, err := demo.Install(ctx, s, *account, o)
	switch {
	case errors.Is(err, demo.ErrLoaded):
		fmt.Fprintf(stdout, "The demo is already loaded in account %q: nothing to do. (--account NAME loads another copy.)\n", *account)
		return nil
	case errors.Is(err, demo.ErrNotEmpty):
		return fmt.Errorf("demo: account %q already holds other data; load the demo into an account of its own with --account demo", *account)
	case err != nil:
		return fmt.Errorf("demo: %w", err)
	}
	demo.Describe(stdout, res)
	if key == "" && res.AccountCreated {
		key = auth.NewKey()
		if err := s.CreateAPIKey(ctx, res.Account.ID, auth.Prefix(key), auth.Hash(key), billing.AccessFull); err != nil {
			return err
		}
	}
	addr := getenv("TALLY_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	user := "$KEY"
	if key != "" {
		fmt.Fprintf(stdout, "\nCreated account %q. Its API key (shown only this once):\n\n    %s\n", res.Account.Name, key)
		user = key
	}
	b := res.Book
	fmt.Fprintf(stdout, "\nRead it with `tally serve` running:\n\n")
	fmt.Fprintf(stdout, "    curl -u %s: \"http://%s/v1/metrics/all?start-date=%s&end-date=%s&interval=month\"\n", user, addr,
		b.Start.Format(time.DateOnly), b.Anchor.AddDate(0, 0, -1).Format(time.DateOnly))
	fmt.Fprintf(stdout, "    curl -u %s: \"http://%s/v1/activities?start-date=%s&per_page=20\"\n", user, addr,
		b.Anchor.AddDate(0, -1, 0).Format(time.DateOnly))
	return nil
}

// createKey makes a new key for the account, read-only when read, and
// returns its secret.
func createKey(ctx context.Context, s *store.Store, acct int64, read bool) (string, error) {
	access := billing.AccessFull
	if read {
		access = billing.AccessRead
	}
	key := auth.NewKey()
	return key, s.CreateAPIKey(ctx, acct, auth.Prefix(key), auth.Hash(key), access)
}
