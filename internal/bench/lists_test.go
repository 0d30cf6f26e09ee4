package bench

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestLists measures the lists of a small book on both stores (250
// customers, 750 invoices: more than a page of 200 of both): every case
// answers (Lists stops at the first that does not), each endpoint is
// reported, deep pages and cursors too, and what Lists adds to the book
// is added once.
func TestLists(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var out bytes.Buffer
		b, err := prepare(ctx, s, Options{Customers: 250, InvoicesPerCustomer: 3, Seed: 1, Out: &out}, rand.New(rand.NewPCG(1, 42)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recompute.All(ctx, s, b.acct.ID, recompute.NewStoreRates(ctx, s)); err != nil {
			t.Fatal(err)
		}
		for run := range 2 {
			out.Reset()
			slowest, p99, err := Lists(ctx, s, b.acct, 1, &out)
			if err != nil {
				t.Fatalf("run %d: %v\n%s", run, err, &out)
			}
			text := out.String()
			if slowest == "" || p99 <= 0 || !strings.Contains(text, "slowest list: "+slowest) {
				t.Fatalf("run %d: slowest %q, %s:\n%s", run, slowest, p99, text)
			}
			// Of customers c0 to c249: e-mails, contacts and notes on c0, c10,
			// …, c240 (25); opportunities, tasks and subscriptions on c0,
			// c20, …, c240 (13), the subscriptions of c0, c40, …, c240
			// cancelled (7; 20 events).
			want := "an e-mail on 25 customers, 25 contacts, 25 notes, 13 opportunities, 13 tasks, 20 subscription events, 2 plan groups, 3 segments"
			if run == 1 {
				want = "the objects an earlier run added are there"
			}
			if !strings.Contains(text, want) {
				t.Errorf("run %d: no %q in:\n%s", run, want, text)
			}
			for _, ep := range []string{"/v1/customers?", "/v1/customers/search?", "/v1/plans?", "/v1/invoices?", "/v1/import/customers/",
				"/v1/line_items?", "/v1/transactions?", "/v1/subscription_events?", "/v1/plan_groups", "/v1/segments", "/v1/data_sources?",
				"/v1/contacts?", "/v1/customer_notes?", "/v1/opportunities?", "/v1/tasks?", "/v1/activities?", "/activities ",
				"/subscriptions ", "/contacts ", "cursor=", "page="} {
				if !strings.Contains(text, ep) {
					t.Errorf("run %d: no case of %q in:\n%s", run, ep, text)
				}
			}
		}
	})
}
