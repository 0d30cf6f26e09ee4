package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/server"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

func tally(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, func(string) string { return "" }, &o, &e)
	return o.String(), e.String(), code
}

func TestAPIKeyCommands(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			db := storetest.DSN(t, b)
			out, errOut, code := tally(t, "apikey", "create", "--db", db)
			key := strings.TrimSpace(out)
			if code != 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(key, "tly_") {
				t.Fatalf("create: code %d, stdout %q, stderr %q", code, out, errOut)
			}
			readOut, _, _ := tally(t, "apikey", "create", "--db", db, "--read", "--account", "globex")
			readKey := strings.TrimSpace(readOut)

			s, err := server.OpenStore(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			k, acct, err := s.KeyByHash(context.Background(), auth.Hash(readKey))
			if err != nil || acct.Name != "globex" || k.Access != "read" {
				t.Fatalf("read key: %+v %+v %v", k, acct, err)
			}

			list, _, code := tally(t, "apikey", "list", "--db", db)
			if code != 0 || strings.Contains(list, key) || strings.Contains(list, readKey) ||
				!strings.Contains(list, auth.Prefix(key)) || !strings.Contains(list, "globex") || !strings.Contains(list, "read") {
				t.Fatalf("list (code %d):\n%s", code, list)
			}
			if only, _, _ := tally(t, "apikey", "list", "--db", db, "--account", "globex"); strings.Contains(only, auth.Prefix(key)) {
				t.Fatalf("--account globex lists the default account's key:\n%s", only)
			}
			if _, _, code := tally(t, "apikey", "revoke", "--db", db, auth.Prefix(key)); code != 0 {
				t.Fatal("revoke failed")
			}
			if _, _, err := s.KeyByHash(context.Background(), auth.Hash(key)); err == nil {
				t.Fatal("revoked key still works")
			}
			if _, errOut, code := tally(t, "apikey", "revoke", "--db", db, auth.Prefix(key)); code == 0 || !strings.Contains(errOut, "not found") {
				t.Fatalf("revoking again: code %d, %q", code, errOut)
			}
		})
	}
}

func TestUsageAndVersion(t *testing.T) {
	if out, _, code := tally(t, "version"); code != 0 || !strings.HasPrefix(out, "tally ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if _, errOut, code := tally(t, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
	if _, errOut, code := tally(t, "serve", "--log", "xml"); code == 0 || !strings.Contains(errOut, "text or json") {
		t.Fatalf("bad flag: %d %q", code, errOut)
	}
	if _, _, code := tally(t); code != 2 {
		t.Fatal("no arguments should print usage and exit 2")
	}
}

func TestMigrateCommand(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			db := storetest.DSN(t, b)
			for range 2 {
				if out, errOut, code := tally(t, "migrate", "--db", db); code != 0 || !strings.Contains(out, "migrations applied") {
					t.Fatalf("migrate: %d %q %q", code, out, errOut)
				}
			}
		})
	}
}

func TestFXImportAndRecompute(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			db := storetest.DSN(t, b)
			file := t.TempDir() + "/rates.csv"
			if err := os.WriteFile(file, []byte("Date,USD,JPY,\n2017-05-02,1.0908,122.00,\n2017-04-28,1.0930,N/A,\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := tally(t, "fx", "import", "--db", db, file)
			if code != 0 || !strings.Contains(out, "loaded 3 rates of 2 currencies") {
				t.Fatalf("fx import: %d %q %q", code, out, errOut)
			}
			// Loading the same file again replaces, never duplicates.
			if _, _, code := tally(t, "fx", "import", "--db", db, file); code != 0 {
				t.Fatal("second import failed")
			}
			s, err := server.OpenStore(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rates, err := s.FXRates(context.Background(), []string{"USD", "JPY"})
			if err != nil || len(rates) != 3 {
				t.Fatalf("stored rates: %v %v", rates, err)
			}
			if _, errOut, code := tally(t, "fx", "import", "--db", db, "/nonexistent.csv"); code == 0 || errOut == "" {
				t.Fatal("a missing file was accepted")
			}
			if _, _, code := tally(t, "apikey", "create", "--db", db); code != 0 {
				t.Fatal("apikey create")
			}
			if out, errOut, code := tally(t, "recompute", "--db", db); code != 0 || !strings.Contains(out, "default: 0 customers") {
				t.Fatalf("recompute: %d %q %q", code, out, errOut)
			}
			if out, errOut, code := tally(t, "recompute", "--db", db, "--account", "default"); code != 0 || !strings.Contains(out, "default: 0 customers") {
				t.Fatalf("recompute --account default: %d %q %q", code, out, errOut)
			}
			if _, errOut, code := tally(t, "recompute", "--db", db, "--account", "nobody"); code == 0 || !strings.Contains(errOut, `"nobody"`) {
				t.Fatalf("recompute of an unknown account: %d %q", code, errOut)
			}
		})
	}
}

func TestDemoCommand(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			db := storetest.DSN(t, b)
			args := []string{"demo", "--db", db, "--customers", "40", "--anchor", "2025-07-01"}
			out, errOut, code := tally(t, args...)
			if code != 0 || !strings.Contains(out, "Loaded the demo business into account \"default\"") ||
				!strings.Contains(out, "2022-07-01 to 2025-07-01") || !strings.Contains(out, "Its API key") ||
				!strings.Contains(out, "start-date=2022-07-01&end-date=2025-06-30&interval=month") {
				t.Fatalf("demo: code %d\n%s%s", code, out, errOut)
			}
			// Again: nothing to do, and said so.
			if out, errOut, code := tally(t, args...); code != 0 || !strings.Contains(out, "already loaded") {
				t.Fatalf("second demo: code %d\n%s%s", code, out, errOut)
			}
			// Another account gets its own copy and its own key.
			out, errOut, code = tally(t, append(args, "--account", "sandbox")...)
			if code != 0 || !strings.Contains(out, `account "sandbox"`) || !keyLine.MatchString(out) {
				t.Fatalf("demo --account sandbox: code %d\n%s%s", code, out, errOut)
			}
			if _, errOut, code := tally(t, "demo", "--db", db, "--anchor", "July"); code == 0 || !strings.Contains(errOut, "YYYY-MM-DD") {
				t.Fatalf("bad anchor: code %d %q", code, errOut)
			}

			// An account with data of its own is refused.
			s, err := server.OpenStore(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			acct, _, err := s.EnsureAccount(context.Background(), "real")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateDataSource(context.Background(), acct.ID, "Stripe", "Stripe"); err != nil {
				t.Fatal(err)
			}
			if _, errOut, code := tally(t, "demo", "--db", db, "--account", "real"); code != 1 || !strings.Contains(errOut, "other data") {
				t.Fatalf("demo into an account with data: code %d %q", code, errOut)
			}
		})
	}
}

var keyLine = regexp.MustCompile(`\n    tly_[0-9a-f]{48}\n`)

// tally backup copies a SQLite database, tally restore puts the copy in
// place of another, and both send PostgreSQL to pg_dump.
func TestBackupAndRestoreCommands(t *testing.T) {
	dir := t.TempDir()
	db, copyDB, file := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db"), filepath.Join(dir, "a.backup")
	if _, e, code := tally(t, "apikey", "create", "--db", db); code != 0 {
		t.Fatalf("apikey: %d %s", code, e)
	}
	if out, e, code := tally(t, "backup", "--db", db, file); code != 0 || !strings.Contains(out, "backed up to") {
		t.Fatalf("backup: %d %s %s", code, out, e)
	}
	if _, e, code := tally(t, "backup", "--db", db); code != 1 || !strings.Contains(e, "want the backup file") {
		t.Fatalf("backup without a file: %d %s", code, e)
	}
	if out, e, code := tally(t, "restore", "--db", copyDB, file); code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %d %s %s", code, out, e)
	}
	out, e, code := tally(t, "apikey", "list", "--db", copyDB)
	if code != 0 || strings.Count(out, "tly_") != 1 {
		t.Fatalf("the restored database's keys: %d %q %s", code, out, e)
	}
	for _, cmd := range []string{"backup", "restore"} {
		if _, e, code := tally(t, cmd, "--db", "postgres://127.0.0.1:1/none", file); code != 1 || !strings.Contains(e, "pg_dump") {
			t.Fatalf("%s on PostgreSQL: %d %s", cmd, code, e)
		}
	}
}
