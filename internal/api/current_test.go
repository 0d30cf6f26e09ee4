package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// After any write answered 2xx, the customer's mrr, arr, status and
// customer-since already reflect it (issue 5: current at once).
func TestCustomerIsCurrentAfterEveryWrite(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		state := func() (float64, float64, string, any) {
			c := e.ok(200, "GET", "/v1/customers/"+cus, nil)
			return c["mrr"].(float64), c["arr"].(float64), c["status"].(string), c["customer-since"]
		}
		if mrr, _, status, since := state(); mrr != 0 || status != "New Lead" || since != nil {
			t.Fatalf("before any invoice: %v %v %v", mrr, status, since)
		}
		// The guide's first invoice: 5000 − 900 tax = 4100 a month.
		inv := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV0001", pl, "sub_0001")))["invoices"].([]any)[0].(map[string]any)
		if mrr, arr, status, since := state(); mrr != 4100 || arr != 12*4100 || status != "Active" || since != "2015-11-01T00:00:00.000Z" {
			t.Fatalf("after the import: mrr %v arr %v %v since %v", mrr, arr, status, since)
		}
		sub := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)[0].(map[string]any)["uuid"].(string)
		e.ok(202, "PATCH", "/v1/import/subscriptions/"+sub, map[string]any{"cancelled_at": "2016-01-15"})
		if mrr, _, status, _ := state(); mrr != 0 || status != "Cancelled" {
			t.Fatalf("after the cancellation: %v %v", mrr, status)
		}
		e.ok(202, "PATCH", "/v1/import/subscriptions/"+sub, map[string]any{"cancellation_dates": []string{}})
		if mrr, _, status, _ := state(); mrr != 4100 || status != "Active" {
			t.Fatalf("after clearing the cancellations: %v %v", mrr, status)
		}
		// A subscription_cancelled event cancels too; retracting it undoes that.
		ev := e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"event_type": "subscription_cancelled",
			"effective_date": "2016-02-01"}))
		if mrr, _, status, _ := state(); mrr != 0 || status != "Cancelled" {
			t.Fatalf("after a cancellation event: %v %v", mrr, status)
		}
		e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"event_type": "subscription_event_retracted",
			"retracted_event_id": ev["id"]}))
		if mrr, _, _, _ := state(); mrr != 4100 {
			t.Fatalf("after retracting it: %v", mrr)
		}
		// A plan interval change re-normalises every line: quarterly 4100/3 = 1366.67 → 1367.
		e.ok(202, "PATCH", "/v1/plans/"+pl, map[string]any{"interval_count": 3})
		if mrr, _, _, _ := state(); mrr != 1367 {
			t.Fatalf("after the plan became quarterly: %v", mrr)
		}
		e.ok(202, "PATCH", "/v1/plans/"+pl, map[string]any{"interval_count": 1})
		// A refund document carries no MRR (rule 5): a second invoice that
		// only refunds does not change it.
		refund := seedInvoice("INV-R", pl, "sub_0001")
		refund["transactions"] = []any{map[string]any{"date": "2015-11-10", "type": "refund", "result": "successful"}}
		// Were it counted, its 9900 − 900 = 9000 would replace the 4100.
		refund["line_items"].([]any)[0].(map[string]any)["amount_in_cents"] = 9900
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(refund))
		if mrr, _, _, _ := state(); mrr != 4100 {
			t.Fatalf("after a refund document: %v", mrr)
		}
		// Deleting the invoices brings the customer back to a lead.
		e.ok(204, "DELETE", "/v1/invoices/"+inv["uuid"].(string), nil)
		e.ok(204, "DELETE", "/v1/data_sources/"+ds+"/customers/"+cus+"/invoices", nil)
		if mrr, _, status, since := state(); mrr != 0 || status != "New Lead" || since != nil {
			t.Fatalf("after deleting the invoices: %v %v %v", mrr, status, since)
		}
		// The status filter reads the same state.
		if n := len(e.ok(200, "GET", "/v1/customers?status=New+Lead", nil)["entries"].([]any)); n != 1 {
			t.Fatalf("status filter: %d", n)
		}
	})
}

// A full recompute gives exactly the stored results of the incremental
// path (issue 5).
func TestFullRecomputeMatchesIncremental(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{})
		ds, cus, pl := e.fixture()
		other := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "c2"})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("A", pl, "s1"), seedInvoice("B", pl, "s2")))
		e.ok(201, "POST", "/v1/import/customers/"+other+"/invoices", invoices(seedInvoice("C", pl, "s3")))
		e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"event_type": "subscription_cancelled",
			"subscription_external_id": "s2", "effective_date": "2016-03-01"}))
		results := func() string {
			t.Helper()
			var b strings.Builder
			for _, q := range []string{`SELECT customer_id, at, mrr, active FROM mrr_points ORDER BY customer_id, at`,
				`SELECT uuid, customer_id, at, type, amount, mrr_after, subscription_external_ids, causes FROM activities ORDER BY uuid`} {
				rows, err := s.DB().Query(q)
				if err != nil {
					t.Fatal(err)
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					fmt.Fprintln(&b, vals...)
				}
				rows.Close()
			}
			return b.String()
		}
		incremental := results()
		if !strings.Contains(incremental, "contraction -4100") || strings.Count(incremental, "new_biz") != 2 { // s1 stays: a contraction
			t.Fatalf("unexpected activities:\n%s", incremental)
		}
		acct, err := s.AccountByName(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		// Wipe the stored results, so that the recompute must write them all.
		for _, table := range []string{"mrr_points", "activities", "subscription_steps"} {
			if _, err := s.DB().Exec(`DELETE FROM ` + table); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := recompute.All(t.Context(), s, acct.ID, recompute.NewStoreRates(t.Context(), s))
		if err != nil || rep.Recomputed != 2 || len(rep.Failed) != 0 {
			t.Fatalf("recompute: %+v %v", rep, err)
		}
		if full := results(); full != incremental {
			t.Fatalf("full recompute differs:\n%s\nincremental:\n%s", full, incremental)
		}
	})
}

// The Metrics API's cache follows every write: a deleted customer leaves
// the numbers even when another customer is created right after.
func TestMetricsCacheFollowsWrites(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		q := "/v1/metrics/mrr?start-date=2015-11-01&end-date=2015-11-30"
		mrr := func() float64 { return entryAt(t, e.ok(200, "GET", q, nil), "2015-11-30")["mrr"].(float64) }
		if v := mrr(); v != 0 {
			t.Fatalf("empty account: %v", v)
		}
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("A", pl, "s1")))
		if v := mrr(); v != 4100 { // 5000 − 900 tax
			t.Fatalf("after the import: %v", v)
		}
		e.ok(204, "DELETE", "/v1/customers/"+cus, nil)
		e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "next"})
		if v := mrr(); v != 0 {
			t.Fatalf("after deleting the customer: %v", v)
		}
	})
}
