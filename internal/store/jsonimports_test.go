package store_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

func ptr[T any](v T) *T { return &v }

func day(s string) *time.Time {
	t, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return &t
}

// TestJSONImportKnownHistories holds the histories a bulk import hands its
// recomputation (what it wrote, without reading it back) to what the
// database gives for the same customers: a difference would make the
// bulk-imported metrics differ from the per-customer import's.
func TestJSONImportKnownHistories(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct, _, err := s.EnsureAccount(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		ds, err := s.CreateDataSource(ctx, acct.ID, "bulk", billing.SystemImportAPI)
		if err != nil {
			t.Fatal(err)
		}
		old := billing.Plan{DataSourceUUID: ds.UUID, Name: "Old", IntervalCount: 3, IntervalUnit: "month", ExternalID: "old"}
		if err := s.CreatePlan(ctx, acct.ID, &old); err != nil {
			t.Fatal(err)
		}
		sub := func(ext, plan string, start, end string, amount int64) billing.LineItem {
			l := billing.LineItem{Type: billing.LineSubscription, SubscriptionExternalID: ext, ServicePeriodStart: day(start),
				ServicePeriodEnd: day(end), AmountInCents: amount, Quantity: 1}
			if plan == old.UUID {
				l.PlanUUID = plan
			} else {
				l.PlanExternalID = plan
			}
			return l
		}
		paid := []billing.Transaction{{Type: "payment", Result: "successful", Date: *day("2024-01-01")}}
		cancelled := sub("s2", "new", "2024-02-01", "2024-03-01", 2000)
		cancelled.CancelledAt = day("2024-02-15 12:00:00")
		prorated := sub("s1", old.UUID, "2024-02-10T10:11:12.345678Z", "2024-04-01", 900)
		prorated.Prorated, prorated.ProrationType, prorated.EventOrder = true, ptr("differential"), ptr(int64(3))
		prorated.TaxAmountInCents, prorated.TransactionFeesInCents, prorated.Quantity = 100, 30, 4
		trial := sub("s3", "new", "2024-01-01", "2024-01-15", 0)
		trial.Type = billing.LineTrial
		imp := &store.JSONImport{DataSourceUUID: ds.UUID, ExternalID: "known",
			Plans: []billing.Plan{{Name: "New", IntervalCount: 1, IntervalUnit: "month", ExternalID: "new"}},
			Groups: []*store.ImportGroup{
				{CustomerExternalID: "a", Customer: &billing.Customer{ExternalID: "a", Name: "A"}, Invoices: []billing.Invoice{
					{ExternalID: "a-1", Date: *day("2024-01-01"), Currency: "USD", Transactions: paid, LineItems: []billing.LineItem{
						sub("s1", old.UUID, "2024-01-01", "2024-04-01", 3000), trial,
						{Type: billing.LineOneTime, AmountInCents: 500, Quantity: 1}}},
					{ExternalID: "a-2", Date: *day("2024-02-01"), Currency: "USD", LineItems: []billing.LineItem{cancelled, prorated}},
					// A refund and no payment: a refund document (metrics.md rule 5).
					{ExternalID: "a-3", Date: *day("2024-03-01"), Currency: "EUR", LineItems: []billing.LineItem{
						sub("s2", "new", "2024-03-01", "2024-04-01", -2000)},
						Transactions: []billing.Transaction{{Type: "refund", Result: "successful", Date: *day("2024-03-02")}}},
					{ExternalID: "a-4", Date: *day("2024-03-01"), Currency: "GBP", LineItems: []billing.LineItem{
						{Type: billing.LineOneTime, AmountInCents: 700, Quantity: 1}}},
				}},
				{CustomerExternalID: "b", Customer: &billing.Customer{ExternalID: "b"}, Invoices: []billing.Invoice{
					{ExternalID: "b-1", Date: *day("2023-12-01"), Currency: "USD", LineItems: []billing.LineItem{
						sub("b-s", "new", "2023-12-01", "2024-01-01", 1000)},
						Transactions: []billing.Transaction{{Type: "refund", Result: "successful", Date: *day("2023-12-02")},
							{Type: "payment", Result: "failed", Date: *day("2023-12-01")}}},
				}},
				{CustomerExternalID: "lead", Customer: &billing.Customer{ExternalID: "lead"}},
				// A customer with an event: its history is the database's.
				{CustomerExternalID: "c", Customer: &billing.Customer{ExternalID: "c"}, Invoices: []billing.Invoice{
					{ExternalID: "c-1", Date: *day("2024-01-01"), Currency: "USD", LineItems: []billing.LineItem{
						sub("c-s", "new", "2024-01-01", "2024-02-01", 1000)}}},
					Events: []billing.SubscriptionEvent{{CustomerExternalID: "c", SubscriptionExternalID: "c-s", EventType: billing.EventCancelled,
						EventDate: *day("2024-01-20"), EffectiveDate: *day("2024-01-20")}}},
			}}
		err = s.ImportJSON(ctx, acct.ID, acct.Currency, imp, func(imp *store.JSONImport, faults []store.ImportFault) (string, []byte, error) {
			if len(faults) > 0 {
				t.Fatalf("faults: %+v", faults)
			}
			return "completed", []byte("{}"), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		known := imp.Known.Histories
		if len(known) != 3 {
			t.Fatalf("%d known histories, want those of a, b and lead", len(known))
		}
		for _, g := range imp.Groups[:3] {
			stored, err := s.CustomerHistory(ctx, acct.ID, g.CustomerUUID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(stored, known[stored.CustomerID]); diff != "" {
				t.Errorf("customer %s: known history differs from the stored one (-stored +known):\n%s", g.CustomerExternalID, diff)
			}
		}
		// Worth comparing: a has three subscriptions, one of them with a
		// cancellation and a refund document.
		a := known[storedID(t, s, acct.ID, imp.Groups[0].CustomerUUID)]
		if len(a.Subscriptions) != 3 || len(a.Subscriptions[2].Cancellations) != 1 || !a.Subscriptions[2].Lines[1].RefundDocument ||
			len(a.Currencies) != 3 {
			t.Errorf("a's history is not the one meant: %+v", a)
		}
	})
}

func storedID(t *testing.T, s *store.Store, acct int64, uuid string) int64 {
	t.Helper()
	h, err := s.CustomerHistory(context.Background(), acct, uuid)
	if err != nil {
		t.Fatal(err)
	}
	return h.CustomerID
}

// TestJSONImportPlainRole: on PostgreSQL, a role that may not set
// session_replication_role (not a superuser, no SET grant) imports in bulk
// all the same, with the foreign keys' checks (Store.bulkTx).
func TestJSONImportPlainRole(t *testing.T) {
	if !slices.Contains(storetest.Backends(), "postgres") {
		t.Skip("PostgreSQL only")
	}
	ctx := context.Background()
	dsn := storetest.DSN(t, "postgres")
	admin, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	schema := u.Query().Get("search_path")
	role := "plain_" + schema
	for _, q := range []string{`CREATE ROLE ` + role + ` LOGIN`, `GRANT USAGE ON SCHEMA ` + schema + ` TO ` + role,
		`GRANT ALL ON ALL TABLES IN SCHEMA ` + schema + ` TO ` + role, `GRANT ALL ON ALL SEQUENCES IN SCHEMA ` + schema + ` TO ` + role} {
		if _, err := admin.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = admin.DB().ExecContext(ctx, `DROP OWNED BY `+role)
		_, _ = admin.DB().ExecContext(ctx, `DROP ROLE `+role)
	})
	u.User = url.User(role)
	s, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, _, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.CreateDataSource(ctx, acct.ID, "bulk", billing.SystemImportAPI)
	if err != nil {
		t.Fatal(err)
	}
	imp := &store.JSONImport{DataSourceUUID: ds.UUID, ExternalID: "plain",
		Plans: []billing.Plan{{Name: "P", IntervalCount: 1, IntervalUnit: "month", ExternalID: "p"}},
		Groups: []*store.ImportGroup{{CustomerExternalID: "a", Customer: &billing.Customer{ExternalID: "a"}, Invoices: []billing.Invoice{
			{ExternalID: "a-1", Date: *day("2024-01-01"), Currency: "USD", LineItems: []billing.LineItem{{Type: billing.LineSubscription,
				SubscriptionExternalID: "s", PlanExternalID: "p", ServicePeriodStart: day("2024-01-01"), ServicePeriodEnd: day("2024-02-01"),
				AmountInCents: 1000, Quantity: 1}}}}}}}
	err = s.ImportJSON(ctx, acct.ID, acct.Currency, imp, func(*store.JSONImport, []store.ImportFault) (string, []byte, error) {
		return "completed", []byte("{}"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.CustomerHistory(ctx, acct.ID, imp.Groups[0].CustomerUUID)
	if err != nil || len(h.Subscriptions) != 1 || len(h.Subscriptions[0].Lines) != 1 {
		t.Fatalf("history %+v, %v", h, err)
	}
}
