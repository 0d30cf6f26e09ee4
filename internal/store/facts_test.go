package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// Migration 00013 works out, in SQL, the currencies and quantities of the
// customers stored before it, as the recomputation works them out in Go
// afterwards (factsOf): the same facts, line for line.
func TestFactsBackfill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, _, err := s.EnsureAccount(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		ds, err := s.CreateDataSource(ctx, a.ID, "Billing", billing.SystemImportAPI)
		if err != nil {
			t.Fatal(err)
		}
		pl := billing.Plan{DataSourceUUID: ds.UUID, Name: "Seats", IntervalCount: 1, IntervalUnit: "month"}
		if err := s.CreatePlan(ctx, a.ID, &pl); err != nil {
			t.Fatal(err)
		}
		var cs []billing.Customer
		for _, ext := range []string{"with invoices", "lead"} {
			c := billing.Customer{DataSourceUUID: ds.UUID, ExternalID: ext}
			if err := s.CreateCustomer(ctx, a.ID, &c); err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		month := func(m int) *time.Time {
			d := time.Date(2024, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
			return &d
		}
		line := func(sub string, m int, amount, qty int64) billing.LineItem {
			return billing.LineItem{Type: billing.LineSubscription, SubscriptionExternalID: sub, PlanUUID: pl.UUID,
				ServicePeriodStart: month(m), ServicePeriodEnd: month(m + 1), AmountInCents: amount, Quantity: qty}
		}
		invs := []billing.Invoice{
			{ExternalID: "i1", Date: *month(1), Currency: "USD", LineItems: []billing.LineItem{line("s1", 1, 3000, 3), line("s2", 3, 2000, 2)}},
			// s1: February's charge for 5 and credit for 3 at one start,
			// the credit imported last: 5. s2: a line starting before
			// March's, imported after it: 2.
			{ExternalID: "i2", Date: *month(2), Currency: "EUR", LineItems: []billing.LineItem{line("s1", 2, 5000, 5), line("s1", 2, -3000, 3),
				line("s2", 1, 9000, 9)}},
			{ExternalID: "i3", Date: *month(2), Currency: "GBP", LineItems: []billing.LineItem{{Type: billing.LineOneTime, AmountInCents: 900, Quantity: 1}}},
			// s3: only a credit, which is then its latest line: 7.
			{ExternalID: "i4", Date: *month(4), Currency: "USD", LineItems: []billing.LineItem{line("s3", 4, -500, 7)}},
		}
		if err := s.ImportInvoices(ctx, a.ID, cs[0].UUID, "USD", invs); err != nil {
			t.Fatal(err)
		}
		subs := map[string]string{}
		for _, l := range append(invs[0].LineItems, append(invs[1].LineItems, invs[3].LineItems...)...) {
			subs[l.SubscriptionExternalID] = l.SubscriptionUUID
		}
		type stored struct {
			Currencies []string
			Quantities map[string]int64
		}
		decode := func(cur, qty string) stored {
			var f stored
			if err := json.Unmarshal([]byte(cur), &f.Currencies); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(qty), &f.Quantities); err != nil {
				t.Fatal(err)
			}
			return f
		}
		want := []stored{
			{[]string{"EUR", "GBP", "USD"}, map[string]int64{subs["s1"]: 5, subs["s2"]: 2, subs["s3"]: 7}},
			{[]string{}, map[string]int64{}},
		}
		for i, c := range cs {
			cur, qty, err := s.FactsOf(ctx, a.ID, c.UUID)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want[i], decode(cur, qty)); d != "" {
				t.Errorf("%s: recomputation's facts (-want +got)\n%s", c.ExternalID, d)
			}
		}
		if err := s.MigrateDownTo(ctx, 12); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for i, c := range cs {
			var cur, qty string
			if err := s.DB().QueryRowContext(ctx, `SELECT currencies, quantities FROM customers WHERE uuid = $1`, c.UUID).Scan(&cur, &qty); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want[i], decode(cur, qty)); d != "" {
				t.Errorf("%s: migration's facts (-want +got)\n%s", c.ExternalID, d)
			}
		}
	})
}
