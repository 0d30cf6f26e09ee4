package main

import (
	"bytes"
	"context"
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
