package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// Both dialects must have the same migrations, by file name.
func TestMigrationsMatch(t *testing.T) {
	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range entries {
			n = append(n, e.Name())
		}
		return n
	}
	sq, pg := names("migrations/sqlite"), names("migrations/postgres")
	if !slices.Equal(sq, pg) || len(sq) == 0 {
		t.Fatalf("sqlite %v, postgres %v", sq, pg)
	}
}

func TestMigrateTwiceIsANoOp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAccountsAndKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, created, err := s.EnsureAccount(ctx, "acme")
		if err != nil || !created || a.Currency != "USD" || a.TimeZone != "UTC" || a.WeekStartOn != "sunday" {
			t.Fatalf("new account %+v created=%v err=%v", a, created, err)
		}
		again, created, err := s.EnsureAccount(ctx, "acme")
		if err != nil || created || again.ID != a.ID {
			t.Fatalf("second ensure: %+v %v %v", again, created, err)
		}
		if err := s.CreateAPIKey(ctx, a.ID, "tly_aaaa", "hash1", billing.AccessRead); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAPIKey(ctx, a.ID, "tly_aaaa", "hash1", billing.AccessRead); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate hash: %v", err)
		}
		k, acct, err := s.KeyByHash(ctx, "hash1")
		if err != nil || k.Access != billing.AccessRead || acct.Name != "acme" {
			t.Fatalf("lookup: %+v %+v %v", k, acct, err)
		}
		// EnsureAPIKey upgrades access, never moves a key to another
		// account, and never makes a revoked key live again.
		if err := s.EnsureAPIKey(ctx, a.ID, "tly_aaaa", "hash1", billing.AccessFull); err != nil {
			t.Fatal(err)
		}
		if k, _, err := s.KeyByHash(ctx, "hash1"); err != nil || k.Access != billing.AccessFull {
			t.Fatalf("ensured key: %+v %v", k, err)
		}
		b, _, _ := s.EnsureAccount(ctx, "globex")
		if err := s.EnsureAPIKey(ctx, b.ID, "tly_aaaa", "hash1", billing.AccessFull); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("key moved between accounts: %v", err)
		}
		if err := s.RevokeAPIKeyByPrefix(ctx, "tly_aaaa"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.KeyByHash(ctx, "hash1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked key found: %v", err)
		}
		if err := s.RevokeAPIKeyByPrefix(ctx, "tly_aaaa"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking twice: %v", err)
		}
		if err := s.EnsureAPIKey(ctx, a.ID, "tly_aaaa", "hash1", billing.AccessFull); !errors.Is(err, store.ErrRevoked) {
			t.Fatalf("ensuring a revoked key: %v, want ErrRevoked", err)
		}
		if _, _, err := s.KeyByHash(ctx, "hash1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a revoked key came back: %v", err)
		}
		// Two live keys shown with one prefix: only their hashes tell them apart.
		for _, h := range []string{"hash2", "hash3"} {
			if err := s.CreateAPIKey(ctx, a.ID, "tly_bbbb", h, billing.AccessRead); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RevokeAPIKeyByPrefix(ctx, "tly_bbbb"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("ambiguous prefix: %v", err)
		}
		if err := s.RevokeAPIKeyByHash(ctx, "hash2"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKeyByHash(ctx, "hash2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking by hash twice: %v", err)
		}
		if _, _, err := s.KeyByHash(ctx, "hash3"); err != nil {
			t.Fatalf("revoking one key by hash revoked its twin: %v", err)
		}
		if err := s.RevokeAPIKeyByPrefix(ctx, "tly_bbbb"); err != nil {
			t.Fatalf("prefix of the one live key left: %v", err)
		}
		keys, err := s.ListAPIKeys(ctx, "acme")
		if err != nil || len(keys) != 3 || keys[0].Prefix != "tly_aaaa" {
			t.Fatalf("list: %+v %v", keys, err)
		}
	})
}

// Store-level isolation: every read and write of one account misses the
// other account's rows even with their exact UUIDs.
func TestAccountIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _ := s.EnsureAccount(ctx, "a")
		b, _, _ := s.EnsureAccount(ctx, "b")
		ds, err := s.CreateDataSource(ctx, a.ID, "src", billing.SystemImportAPI)
		if err != nil {
			t.Fatal(err)
		}
		// Names are unique per account, not per server.
		if _, err := s.CreateDataSource(ctx, b.ID, "src", billing.SystemImportAPI); err != nil {
			t.Fatal(err)
		}
		c := billing.Customer{DataSourceUUID: ds.UUID, ExternalID: "x"}
		if err := s.CreateCustomer(ctx, a.ID, &c); err != nil {
			t.Fatal(err)
		}
		p := billing.Plan{DataSourceUUID: ds.UUID, Name: "P", IntervalCount: 1, IntervalUnit: "month"}
		if err := s.CreatePlan(ctx, a.ID, &p); err != nil {
			t.Fatal(err)
		}
		notFound := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s across accounts: %v", what, err)
			}
		}
		_, err = s.DataSource(ctx, b.ID, ds.UUID)
		notFound("data source", err)
		_, err = s.Customer(ctx, b.ID, c.UUID)
		notFound("customer", err)
		_, err = s.Plan(ctx, b.ID, p.UUID)
		notFound("plan", err)
		_, err = s.UpdateCustomer(ctx, b.ID, c.UUID, func(*billing.Customer) error { return nil })
		notFound("update customer", err)
		_, err = s.UpdatePlan(ctx, b.ID, p.UUID, func(*billing.Plan) error { return nil })
		notFound("update plan", err)
		notFound("delete customer", s.DeleteCustomer(ctx, b.ID, c.UUID))
		notFound("delete plan", s.DeletePlan(ctx, b.ID, p.UUID))
		notFound("delete data source", s.DeleteDataSource(ctx, b.ID, ds.UUID))
		notFound("empty data source", s.EmptyDataSource(ctx, b.ID, ds.UUID, false))
		notFound("customer under another account's source", s.CreateCustomer(ctx, b.ID, &billing.Customer{DataSourceUUID: ds.UUID, ExternalID: "y"}))
		cl, _ := s.ListCustomers(ctx, b.ID, store.CustomerFilter{}, store.Page{Limit: 10})
		pl, _ := s.ListPlans(ctx, b.ID, store.PlanFilter{}, store.Page{Limit: 10})
		dl, _ := s.ListDataSources(ctx, b.ID, "", "")
		if len(cl.Items) != 0 || len(pl.Items) != 0 || len(dl) != 1 {
			t.Errorf("b lists %d customers, %d plans, %d data sources", len(cl.Items), len(pl.Items), len(dl))
		}
		// Everything of a is still there.
		if _, err := s.Customer(ctx, a.ID, c.UUID); err != nil {
			t.Errorf("a's customer: %v", err)
		}
	})
}

func TestUpdateIsAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _ := s.EnsureAccount(ctx, "a")
		ds, _ := s.CreateDataSource(ctx, a.ID, "src", billing.SystemImportAPI)
		c := billing.Customer{DataSourceUUID: ds.UUID, ExternalID: "x", Name: "Before"}
		if err := s.CreateCustomer(ctx, a.ID, &c); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		_, err := s.UpdateCustomer(ctx, a.ID, c.UUID, func(c *billing.Customer) error {
			c.Name = "After"
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
		if got, _ := s.Customer(ctx, a.ID, c.UUID); got.Name != "Before" {
			t.Fatalf("a failed update wrote %q", got.Name)
		}
	})
}

// After a whole-account recompute every customer has a new results
// version: reading them back must not bind one parameter per customer
// (SQLite allows 32,766, PostgreSQL 65,535).
func TestResultsSinceManyCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, _, err := s.EnsureAccount(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		ds, err := s.CreateDataSource(ctx, a.ID, "bulk", billing.SystemImportAPI)
		if err != nil {
			t.Fatal(err)
		}
		const n = 70000
		_, err = s.DB().ExecContext(ctx, `INSERT INTO customers (account_id, data_source_id, uuid, external_id, created_at, results_version)
			WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $3)
			SELECT $1, (SELECT id FROM data_sources WHERE uuid = $2), 'cus_bulk_' || i, 'c' || i, 0, 1 FROM seq`, a.ID, ds.UUID, n)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := s.ResultsSince(ctx, a.ID, 0)
		if err != nil || len(rs) != n {
			t.Fatalf("%d customers changed, %v; want %d", len(rs), err, n)
		}
	})
}

// The ids' secret is made once and then read back the same, by however
// many callers race to make it.
func TestIDSecretIsMadeOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		got := make([][]byte, 4)
		errs := make(chan error, len(got))
		for i := range got {
			go func() {
				var err error
				got[i], err = s.IDSecret(ctx)
				errs <- err
			}()
		}
		for range got {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		again, err := s.IDSecret(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			if len(g) != 32 || !bytes.Equal(g, again) {
				t.Fatalf("call %d got %x, later %x", i, g, again)
			}
		}
		if bytes.Equal(again, make([]byte, 32)) {
			t.Fatal("the secret is all zeros")
		}
	})
}
