package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/server"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestAPIKeyListAndRevokeBySecret: `apikey list` prints nothing of a key
// but a short prefix (a fingerprint for keys Tally did not make, and
// nothing of rows stored whole by earlier versions); `apikey revoke`
// takes the whole key, which tells apart two keys sharing a prefix, and
// refuses an ambiguous prefix.
func TestAPIKeyListAndRevokeBySecret(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.DSN(t, b)
			s, err := server.OpenStore(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			custom := "my-own-bootstrap-key-0123456789abcdef"
			if _, err := server.Bootstrap(ctx, s, custom); err != nil {
				t.Fatal(err)
			}
			acct, _, _ := s.EnsureAccount(ctx, server.DefaultAccount)
			// A row an earlier version stored for TALLY_API_KEY=shortkey:
			// its prefix is the whole key.
			if err := s.CreateAPIKey(ctx, acct.ID, "shortkey", auth.Hash("shortkey"), billing.AccessFull); err != nil {
				t.Fatal(err)
			}
			// Two made keys sharing their 12-character prefix.
			twin1 := "tly_0123abcd" + strings.Repeat("1", 40)
			twin2 := "tly_0123abcd" + strings.Repeat("2", 40)
			for _, k := range []string{twin1, twin2} {
				if err := s.CreateAPIKey(ctx, acct.ID, auth.Prefix(k), auth.Hash(k), billing.AccessRead); err != nil {
					t.Fatal(err)
				}
			}

			list, _, code := tally(t, "apikey", "list", "--db", db)
			if code != 0 || strings.Contains(list, custom[:6]) || strings.Contains(list, "shortkey") ||
				!strings.Contains(list, auth.Prefix(custom)) || !strings.Contains(list, "(hidden)") || !strings.Contains(list, "tly_0123abcd…") {
				t.Fatalf("list (code %d) shows a secret or misses a key:\n%s", code, list)
			}

			if _, errOut, code := tally(t, "apikey", "revoke", "--db", db, "tly_0123abcd"); code == 0 ||
				!strings.Contains(errOut, "matches 2 keys") || !strings.Contains(errOut, "give the whole key") {
				t.Fatalf("ambiguous prefix: code %d, %q", code, errOut)
			}
			out, errOut, code := tally(t, "apikey", "revoke", "--db", db, twin1)
			if code != 0 || strings.Contains(out, twin1) {
				t.Fatalf("revoke by whole key: code %d, %q %q", code, out, errOut)
			}
			if _, _, err := s.KeyByHash(ctx, auth.Hash(twin1)); err == nil {
				t.Fatal("the revoked twin still works")
			}
			if _, _, err := s.KeyByHash(ctx, auth.Hash(twin2)); err != nil {
				t.Fatalf("revoking one twin revoked the other: %v", err)
			}
			// The prefix (as list shows it, ellipsis and all) is unambiguous now.
			if _, errOut, code := tally(t, "apikey", "revoke", "--db", db, "tly_0123abcd…"); code != 0 {
				t.Fatalf("revoke by the prefix left to one key: code %d, %q", code, errOut)
			}
			// Keys Tally did not make: by the whole key, or by fingerprint.
			for _, arg := range []string{"shortkey", auth.Prefix(custom)} {
				if out, errOut, code := tally(t, "apikey", "revoke", "--db", db, arg); code != 0 || strings.Contains(out, "shortkey") {
					t.Fatalf("revoke %q: code %d, %q %q", arg, code, out, errOut)
				}
			}
			if _, errOut, code := tally(t, "apikey", "revoke", "--db", db, twin1); code == 0 || !strings.Contains(errOut, "not found") {
				t.Fatalf("revoking a revoked key again: code %d, %q", code, errOut)
			}
			for _, k := range []string{custom, "shortkey", twin2} {
				if _, _, err := s.KeyByHash(ctx, auth.Hash(k)); err == nil {
					t.Fatalf("%q still works", k)
				}
			}
		})
	}
}

// TestUILink: `ui-link` prints a sign-in URL whose token signs in once,
// with a new key of the access asked for (never printed), on the account
// named; the note names the key's prefix and how to revoke it.
func TestUILink(t *testing.T) {
	link := regexp.MustCompile(`^(.*)/login/([0-9a-f]{64})\n$`)
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.DSN(t, b)
			s, err := server.OpenStore(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := server.Bootstrap(ctx, s, ""); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.EnsureAccount(ctx, "globex"); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				args    []string
				env     map[string]string
				base    string
				account string
				access  billing.Access
			}{
				{nil, nil, "http://127.0.0.1:8080", "default", billing.AccessFull},
				{[]string{"--read", "--account", "globex"}, map[string]string{"TALLY_ADDR": "0.0.0.0:9000"}, "http://localhost:9000", "globex", billing.AccessRead},
				{nil, map[string]string{"TALLY_ADDR": ":9000", "TALLY_PUBLIC_URL": "https://tally.example.com/"}, "https://tally.example.com", "default", billing.AccessFull},
				{[]string{"--url", "https://dash.example.com"}, map[string]string{"TALLY_PUBLIC_URL": "https://tally.example.com"}, "https://dash.example.com", "default", billing.AccessFull},
			} {
				env := func(k string) string { return c.env[k] }
				var o, e strings.Builder
				if code := run(ctx, append([]string{"ui-link", "--db", db}, c.args...), env, &o, &e); code != 0 {
					t.Fatalf("ui-link %v: code %d, %s", c.args, code, e.String())
				}
				if secret := regexp.MustCompile(`tly_[0-9a-f]{48}`); secret.MatchString(o.String() + e.String()) {
					t.Fatalf("ui-link printed a key's secret:\n%s%s", o.String(), e.String())
				}
				m := link.FindStringSubmatch(o.String())
				if m == nil || m[1] != c.base {
					t.Fatalf("ui-link %v printed %q, want a link under %s", c.args, o.String(), c.base)
				}
				k, acct, err := s.UseLoginToken(ctx, auth.Hash(m[2]), time.Now())
				if err != nil || k.Access != c.access || acct.Name != c.account {
					t.Fatalf("ui-link %v signs in as %+v on %q (%v), want %s on %q", c.args, k, acct.Name, err, c.access, c.account)
				}
				if _, _, err := s.UseLoginToken(ctx, auth.Hash(m[2]), time.Now()); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("second use of the link: %v, want ErrNotFound", err)
				}
				if note := e.String(); !strings.Contains(note, k.Prefix+"…") || !strings.Contains(note, "tally apikey revoke "+k.Prefix) {
					t.Fatalf("ui-link's note does not name the key %s and how to revoke it:\n%s", k.Prefix, note)
				}
			}
			if keys, _ := s.ListAPIKeys(ctx, ""); len(keys) != 5 {
				t.Fatalf("%d keys, want the bootstrap key and one per ui-link", len(keys))
			}
			if _, errOut, code := tally(t, "ui-link", "--db", db, "--account", "nobody"); code == 0 || !strings.Contains(errOut, `no account is called "nobody"`) {
				t.Fatalf("unknown account: code %d, %q", code, errOut)
			}
			if _, errOut, code := tally(t, "ui-link", "--db", db, "--url", "tally.example.com"); code == 0 || !strings.Contains(errOut, "not an http(s) URL") {
				t.Fatalf("a --url without scheme: code %d, %q", code, errOut)
			}
		})
	}
}
