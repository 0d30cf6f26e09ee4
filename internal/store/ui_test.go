package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// newKey makes a key on the account called name (created if need be) and
// returns the key's secret and its row and account as KeyByHash reads
// them: what every dashboard lookup must return too.
func newKey(t *testing.T, s *store.Store, name string, access billing.Access) (string, billing.APIKey, billing.Account) {
	t.Helper()
	ctx := context.Background()
	a, _, err := s.EnsureAccount(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	key := auth.NewKey()
	if err := s.CreateAPIKey(ctx, a.ID, auth.Prefix(key), auth.Hash(key), access); err != nil {
		t.Fatal(err)
	}
	k, acct, err := s.KeyByHash(ctx, auth.Hash(key))
	if err != nil {
		t.Fatal(err)
	}
	return key, k, acct
}

func count(t *testing.T, s *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUISessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// Settings other than the defaults, to see that the session's
		// account is read whole.
		_, _, _ = s.EnsureAccount(ctx, "acme")
		acme, _ := s.AccountByName(ctx, "acme")
		if _, err := s.UpdateAccountSettings(ctx, acme.ID, func(a *billing.Account, _ store.ForeignDays) error {
			a.TimeZone, a.WeekStartOn = "Europe/Berlin", "monday"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		key, k, acct := newKey(t, s, "acme", billing.AccessRead)
		if acct.TimeZone != "Europe/Berlin" || acct.WeekStartOn != "monday" {
			t.Fatalf("KeyByHash's account: %+v", acct)
		}
		start := time.Now().UTC().Truncate(time.Millisecond)
		expires := start.Add(time.Hour)
		tok := auth.NewToken()
		if err := s.CreateUISession(ctx, k.ID, auth.Hash(tok), expires); err != nil {
			t.Fatal(err)
		}
		got, err := s.UISessionByHash(ctx, auth.Hash(tok), start)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.UISession{Key: k, Account: acct, ExpiresAt: expires}, got); diff != "" {
			t.Fatalf("session (-want +got):\n%s", diff)
		}
		// Expired at its expiry to the millisecond, live just before.
		if _, err := s.UISessionByHash(ctx, auth.Hash(tok), expires.Add(-time.Millisecond)); err != nil {
			t.Fatalf("a millisecond before expiry: %v", err)
		}
		if _, err := s.UISessionByHash(ctx, auth.Hash(tok), expires); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("at expiry: %v, want ErrNotFound", err)
		}
		// The secret itself is not what is stored or looked up.
		if _, err := s.UISessionByHash(ctx, tok, start); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("looked up by the token itself: %v", err)
		}
		if err := s.CreateUISession(ctx, k.ID, auth.Hash(tok), expires); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same token twice: %v, want ErrConflict", err)
		}
		if err := s.CreateUISession(ctx, k.ID+1000, auth.Hash(auth.NewToken()), expires); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session for no key: %v, want ErrNotFound", err)
		}

		// Sign-out ends it; ending it again is no error.
		if err := s.DeleteUISession(ctx, auth.Hash(tok)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UISessionByHash(ctx, auth.Hash(tok), start); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after sign-out: %v", err)
		}
		if err := s.DeleteUISession(ctx, auth.Hash(tok)); err != nil {
			t.Fatalf("signing out twice: %v", err)
		}

		// Revoking the key ends its sessions, and no new one opens on it.
		tok2 := auth.NewToken()
		if err := s.CreateUISession(ctx, k.ID, auth.Hash(tok2), expires); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKeyByHash(ctx, auth.Hash(key)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UISessionByHash(ctx, auth.Hash(tok2), start); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session of a revoked key: %v, want ErrNotFound", err)
		}
		if err := s.CreateUISession(ctx, k.ID, auth.Hash(auth.NewToken()), expires); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("new session on a revoked key: %v, want ErrNotFound", err)
		}

		// Expired sessions and those of revoked keys are deleted when a
		// session is made; live ones stay.
		_, k2, _ := newKey(t, s, "acme", billing.AccessFull)
		old, live := auth.NewToken(), auth.NewToken()
		if err := s.CreateUISession(ctx, k2.ID, auth.Hash(old), start.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateUISession(ctx, k2.ID, auth.Hash(live), expires); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{auth.Hash(old), auth.Hash(tok2)} {
			if n := count(t, s, `SELECT count(*) FROM ui_sessions WHERE token_hash = $1`, h); n != 0 {
				t.Fatalf("a dead session is still stored")
			}
		}
		if n := count(t, s, `SELECT count(*) FROM ui_sessions`); n != 1 {
			t.Fatalf("%d sessions stored, want the live one", n)
		}
	})
}

func TestLoginTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		key, k, acct := newKey(t, s, "acme", billing.AccessRead)
		now := time.Now().UTC().Truncate(time.Millisecond)
		expires := now.Add(10 * time.Minute)
		tok := auth.NewToken()
		if err := s.CreateLoginToken(ctx, k.ID, auth.Hash(tok), expires); err != nil {
			t.Fatal(err)
		}
		gk, ga, err := s.UseLoginToken(ctx, auth.Hash(tok), now)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(k, gk); diff != "" || gk.Access != billing.AccessRead {
			t.Fatalf("key (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(acct, ga); diff != "" {
			t.Fatalf("account (-want +got):\n%s", diff)
		}
		// One-time.
		if _, _, err := s.UseLoginToken(ctx, auth.Hash(tok), now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second use: %v, want ErrNotFound", err)
		}
		if _, _, err := s.UseLoginToken(ctx, auth.Hash(auth.NewToken()), now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown token: %v, want ErrNotFound", err)
		}

		// Expired at its expiry: an expired token is not spent by the
		// attempt, and is still good a millisecond before.
		exp := auth.NewToken()
		if err := s.CreateLoginToken(ctx, k.ID, auth.Hash(exp), expires); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UseLoginToken(ctx, auth.Hash(exp), expires); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("at expiry: %v, want ErrNotFound", err)
		}
		if _, _, err := s.UseLoginToken(ctx, auth.Hash(exp), expires.Add(-time.Millisecond)); err != nil {
			t.Fatalf("a millisecond before expiry: %v", err)
		}

		// Revoking the key kills its unused tokens; no token is made for a
		// revoked key.
		unused := auth.NewToken()
		if err := s.CreateLoginToken(ctx, k.ID, auth.Hash(unused), expires); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKeyByHash(ctx, auth.Hash(key)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UseLoginToken(ctx, auth.Hash(unused), now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token of a revoked key: %v, want ErrNotFound", err)
		}
		if err := s.CreateLoginToken(ctx, k.ID, auth.Hash(auth.NewToken()), expires); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token for a revoked key: %v, want ErrNotFound", err)
		}

		// Making a token deletes the expired ones and those of revoked keys.
		_, k2, _ := newKey(t, s, "acme", billing.AccessFull)
		if err := s.CreateLoginToken(ctx, k2.ID, auth.Hash(auth.NewToken()), now.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		fresh := auth.NewToken()
		if err := s.CreateLoginToken(ctx, k2.ID, auth.Hash(fresh), expires); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, `SELECT count(*) FROM ui_login_tokens`); n != 1 {
			t.Fatalf("%d sign-in tokens stored, want only the fresh one", n)
		}
		if _, _, err := s.UseLoginToken(ctx, auth.Hash(fresh), now); err != nil {
			t.Fatal(err)
		}
	})
}

// Of several uses of one token at the same time, exactly one signs in.
func TestLoginTokenConcurrentUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, k, _ := newKey(t, s, "acme", billing.AccessFull)
		now := time.Now().UTC()
		for range 10 {
			tok := auth.NewToken()
			if err := s.CreateLoginToken(ctx, k.ID, auth.Hash(tok), now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			const users = 4
			errs := make([]error, users)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range users {
				wg.Go(func() {
					<-start
					_, _, errs[i] = s.UseLoginToken(ctx, auth.Hash(tok), now)
				})
			}
			close(start)
			wg.Wait()
			var won int
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, store.ErrNotFound):
					t.Fatalf("a losing use: %v, want ErrNotFound", err)
				}
			}
			if won != 1 {
				t.Fatalf("%d of %d concurrent uses signed in, want 1", won, users)
			}
		}
	})
}

func TestShareLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		key, k, acct := newKey(t, s, "acme", billing.AccessFull)
		_, kb, other := newKey(t, s, "globex", billing.AccessFull)

		first, err := s.CreateShareLink(ctx, acct.ID, k.ID, auth.Hash("t1"), "Board", false)
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.CreateShareLink(ctx, acct.ID, k.ID, auth.Hash("t2"), "Wiki", true)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := s.CreateShareLink(ctx, other.ID, kb.ID, auth.Hash("t3"), "Theirs", false)
		if err != nil {
			t.Fatal(err)
		}
		if len(second.UUID) != len("shl_")+36 || second.UUID[:4] != "shl_" || second.AccountID != acct.ID || second.Name != "Wiki" ||
			!second.Embed || second.RevokedAt != nil || second.CreatedBy != auth.Prefix(key) || second.ID == 0 {
			t.Fatalf("created: %+v", second)
		}
		// A key makes links for its own account only, and only while live.
		if _, err := s.CreateShareLink(ctx, acct.ID, kb.ID, auth.Hash("t4"), "x", false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another account's key made a link: %v, want ErrNotFound", err)
		}
		if _, err := s.CreateShareLink(ctx, acct.ID, k.ID, auth.Hash("t1"), "dup", false); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same token twice: %v, want ErrConflict", err)
		}

		l, a, err := s.ShareLinkByHash(ctx, auth.Hash("t2"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(second, l); diff != "" {
			t.Fatalf("link by hash (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(acct, a); diff != "" {
			t.Fatalf("its account (-want +got):\n%s", diff)
		}

		list, err := s.ShareLinks(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.ShareLink{second, first}, list); diff != "" {
			t.Fatalf("list, newest first (-want +got):\n%s", diff)
		}
		if list, err := s.ShareLinks(ctx, other.ID); err != nil || len(list) != 1 || list[0].UUID != theirs.UUID {
			t.Fatalf("the other account's list: %+v %v", list, err)
		}

		// Another account cannot revoke it, even knowing its uuid.
		if err := s.RevokeShareLink(ctx, other.ID, first.UUID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked by another account: %v, want ErrNotFound", err)
		}
		if _, _, err := s.ShareLinkByHash(ctx, auth.Hash("t1")); err != nil {
			t.Fatalf("another account's attempt killed the link: %v", err)
		}
		if err := s.RevokeShareLink(ctx, acct.ID, first.UUID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ShareLinkByHash(ctx, auth.Hash("t1")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked link: %v, want ErrNotFound", err)
		}
		if err := s.RevokeShareLink(ctx, acct.ID, first.UUID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking twice: %v, want ErrNotFound", err)
		}
		list, _ = s.ShareLinks(ctx, acct.ID)
		if len(list) != 2 || list[1].UUID != first.UUID || list[1].RevokedAt == nil || list[0].RevokedAt != nil {
			t.Fatalf("list after revoking the first: %+v", list)
		}

		// A link lives until it is revoked itself, whatever becomes of the
		// key that made it; that key makes no more.
		if err := s.RevokeAPIKeyByHash(ctx, auth.Hash(key)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ShareLinkByHash(ctx, auth.Hash("t2")); err != nil {
			t.Fatalf("the creator's revocation killed the link: %v", err)
		}
		if _, err := s.CreateShareLink(ctx, acct.ID, k.ID, auth.Hash("t5"), "x", false); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a revoked key made a link: %v, want ErrNotFound", err)
		}
	})
}
