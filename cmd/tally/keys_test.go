package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/server"
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
