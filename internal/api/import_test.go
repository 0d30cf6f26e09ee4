package api

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// seedInvoice is the getting-started guide's first invoice with the plan
// substituted, plus fields the guide leaves out.
func seedInvoice(ext, plan, sub string) map[string]any {
	return map[string]any{
		"external_id": ext, "date": "2015-11-01 00:00:00", "currency": "USD", "due_date": "2015-11-15 00:00:00",
		"line_items": []any{map[string]any{
			"type": "subscription", "subscription_external_id": sub, "plan_uuid": plan,
			"service_period_start": "2015-11-01 00:00:00", "service_period_end": "2015-12-01 00:00:00",
			"amount_in_cents": 5000, "quantity": 1, "discount_code": "PSO86", "discount_amount_in_cents": 1000, "tax_amount_in_cents": 900,
		}},
		"transactions": []any{map[string]any{"date": "2015-11-05 00:14:23", "type": "payment", "result": "successful"}},
	}
}

func invoices(list ...map[string]any) map[string]any { return map[string]any{"invoices": list} }

func TestInvoiceImportRoundTrip(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		full := map[string]any{
			"external_id": "INV-FULL", "date": "2016-01-01T10:00:00+02:00", "currency": "eur", "customer_external_id": "cus_0001",
			"line_items": []any{
				map[string]any{"type": "subscription", "external_id": "li-1", "subscription_external_id": "sub-1",
					"subscription_set_external_id": "set-1", "plan_uuid": pl, "service_period_start": "2016-01-01",
					"service_period_end": "2016-02-01", "amount_in_cents": "2500", "quantity": 3, "prorated": true,
					"proration_type": "full", "cancelled_at": "2016-01-20 00:00:00 UTC", "discount_amount_in_cents": 100,
					"discount_code": "D1", "discount_description": "launch", "tax_amount_in_cents": 400,
					"transaction_fees_in_cents": 75, "transaction_fees_currency": "usd", "account_code": "4000",
					"event_order": 7, "balance_transfer": true},
				map[string]any{"type": "one_time", "description": "Setup fee", "amount_in_cents": 999},
				map[string]any{"type": "trial", "subscription_external_id": "sub-trial", "plan_uuid": pl,
					"service_period_start": "2016-01-01", "service_period_end": "2016-01-15", "amount_in_cents": 0},
			},
			"transactions": []any{
				map[string]any{"type": "payment", "result": "failed", "date": "2016-01-02", "external_id": "tr-1"},
				map[string]any{"type": "payment", "result": "successful", "date": "2016-01-03", "amount_in_cents": 3000,
					"transaction_fees_in_cents": 90, "transaction_fees_currency": "USD"},
				map[string]any{"type": "refund", "result": "successful", "date": "2016-01-10", "amount_in_cents": 500},
			},
		}
		// Without a EUR→USD rate for the service start the import is refused
		// (metrics.md rule 20) and nothing is stored.
		before := storetest.Snapshot(t, e.store)
		r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(full))
		if r.status != 422 || !strings.Contains(string(r.body), "No EUR→USD exchange rate for 2016-01-01") {
			t.Fatalf("import without a rate: %d %s", r.status, r.body)
		}
		if storetest.Snapshot(t, e.store) != before {
			t.Fatal("a refused import changed the database")
		}
		if err := e.store.SaveFXRates(t.Context(), []store.FXRate{{Currency: "USD", Day: time.Date(2015, 12, 31, 0, 0, 0, 0, time.UTC), PerEUR: "1.0887"},
			{Currency: "USD", Day: time.Date(2016, 1, 8, 0, 0, 0, 0, time.UTC), PerEUR: "1.0887"}}); err != nil {
			t.Fatal(err)
		}
		res := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(full))
		inv := res["invoices"].([]any)[0].(map[string]any)
		uuid := inv["uuid"].(string)
		got := e.do(e.key, "GET", "/v1/invoices/"+uuid, nil)
		if got.status != 200 {
			t.Fatalf("retrieve: %d %s", got.status, got.body)
		}
		g := got.json(t)
		lines := g["line_items"].([]any)
		sub := lines[0].(map[string]any)
		want := map[string]any{"external_id": "li-1", "type": "subscription", "subscription_external_id": "sub-1",
			"subscription_set_external_id": "set-1", "plan_uuid": pl, "service_period_start": "2016-01-01T00:00:00.000Z",
			"service_period_end": "2016-02-01T00:00:00.000Z", "amount_in_cents": 2500.0, "quantity": 3.0, "prorated": true,
			"proration_type": "full", "cancelled_at": "2016-01-20T00:00:00.000Z", "discount_amount_in_cents": 100.0,
			"discount_code": "D1", "discount_description": "launch", "tax_amount_in_cents": 400.0, "transaction_fees_in_cents": 75.0,
			"transaction_fees_currency": "USD", "account_code": "4000", "event_order": 7.0, "balance_transfer": true}
		for k, v := range want {
			if sub[k] != v {
				t.Errorf("line %s = %v, want %v", k, sub[k], v)
			}
		}
		if !strings.HasPrefix(sub["subscription_uuid"].(string), "sub_") || !strings.HasPrefix(sub["uuid"].(string), "li_") {
			t.Errorf("line ids: %v", sub)
		}
		if one := lines[1].(map[string]any); one["description"] != "Setup fee" || one["subscription_uuid"] != nil || one["type"] != "one_time" {
			t.Errorf("one-time line: %v", one)
		}
		if g["date"] != "2016-01-01T08:00:00.000Z" || g["currency"] != "EUR" || g["customer_uuid"] != cus || g["data_source_uuid"] != ds ||
			g["due_date"] != nil || len(g["transactions"].([]any)) != 3 {
			t.Errorf("invoice: %s", got.body)
		}
		tr := g["transactions"].([]any)
		if a := tr[0].(map[string]any); a["external_id"] != "tr-1" || a["amount_in_cents"] != nil || a["result"] != "failed" {
			t.Errorf("transaction 1: %v", a)
		}
		if a := tr[2].(map[string]any); a["type"] != "refund" || a["amount_in_cents"] != 500.0 {
			t.Errorf("transaction 3: %v", a)
		}
		// One subscription per external id; the cancellation from the
		// historical line shows in its history.
		subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)
		if len(subs) != 2 {
			t.Fatalf("subscriptions: %v", subs)
		}
		s1 := subs[0].(map[string]any)
		if s1["external_id"] != "sub-1" || s1["plan_uuid"] != pl || fmt.Sprint(s1["cancellation_dates"]) != "[2016-01-20T00:00:00.000Z]" {
			t.Errorf("subscription: %v", s1)
		}
	})
}

func TestInvoiceBatchIsAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{MaxInvoices: 5})
		ds, cus, pl := e.fixture()
		other := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Other"})["uuid"].(string)
		otherPlan := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": other, "name": "P", "interval_count": 1, "interval_unit": "month"})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV0001", pl, "sub_0001")))

		bad := func(mut func(m map[string]any)) map[string]any {
			m := seedInvoice("INV-NEW", pl, "sub_0002")
			mut(m)
			return m
		}
		line := func(m map[string]any) map[string]any { return m["line_items"].([]any)[0].(map[string]any) }
		cases := []struct {
			name   string
			inv    map[string]any
			field  string
			status int
		}{
			{"retry of an imported invoice", seedInvoice("INV0001", pl, "sub_0001"), "external_id", 422},
			{"plan of another data source", bad(func(m map[string]any) { line(m)["plan_uuid"] = otherPlan }), "line_items.plan_uuid", 422},
			{"unknown plan", bad(func(m map[string]any) { line(m)["plan_uuid"] = "pl_nope" }), "line_items.plan_uuid", 422},
			{"period ends before it starts", bad(func(m map[string]any) { line(m)["service_period_end"] = "2015-10-01" }), "line_items.service_period_end", 422},
			{"currency", bad(func(m map[string]any) { m["currency"] = "DOLLARS" }), "currency", 422},
			{"missing date", bad(func(m map[string]any) { delete(m, "date") }), "date", 422},
			{"bad date", bad(func(m map[string]any) { m["date"] = "11/01/2015" }), "date", 422},
			{"amount not a number", bad(func(m map[string]any) { line(m)["amount_in_cents"] = "abc" }), "line_items.amount_in_cents", 422},
			{"amount missing", bad(func(m map[string]any) { delete(line(m), "amount_in_cents") }), "line_items.amount_in_cents", 422},
			{"line type", bad(func(m map[string]any) { line(m)["type"] = "usage" }), "line_items.type", 422},
			{"proration type", bad(func(m map[string]any) { line(m)["proration_type"] = "partial" }), "line_items.proration_type", 422},
			{"zero quantity", bad(func(m map[string]any) { line(m)["quantity"] = 0 }), "line_items.quantity", 422},
			{"no subscription id", bad(func(m map[string]any) { delete(line(m), "subscription_external_id") }), "line_items.subscription_external_id", 422},
			{"transaction type", bad(func(m map[string]any) {
				m["transactions"] = []any{map[string]any{"type": "gift", "result": "successful", "date": "2015-11-05"}}
			}), "transactions.type", 422},
			{"transaction result", bad(func(m map[string]any) {
				m["transactions"] = []any{map[string]any{"type": "refund", "result": "maybe", "date": "2015-11-05"}}
			}), "transactions.result", 422},
			{"no line items", bad(func(m map[string]any) { m["line_items"] = []any{} }), "line_items", 422},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := storetest.Snapshot(t, s)
				// The bad invoice travels with a good one: neither is stored.
				good := seedInvoice("INV-GOOD-"+c.name, pl, "sub_good")
				r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(good, c.inv))
				if r.status != c.status {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				body := r.json(t)
				list := body["invoices"].([]any)
				if len(list) != 2 || body["error"] == nil {
					t.Fatalf("batch body: %s", r.body)
				}
				if errs := list[0].(map[string]any)["errors"].(map[string]any); len(errs) != 0 {
					t.Errorf("valid invoice has errors: %v", errs)
				}
				if errs := list[1].(map[string]any)["errors"].(map[string]any); errs[c.field] == nil {
					t.Errorf("errors %v do not name %s", errs, c.field)
				}
				if storetest.Snapshot(t, s) != before {
					t.Fatal("a refused batch changed the database")
				}
			})
		}
		// Exact messages the Go client compares (api-reference.md §1.9).
		dupLine := seedInvoice("INV-L", pl, "sub_0003")
		dupLine["line_items"].([]any)[0].(map[string]any)["external_id"] = "li-dup"
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(dupLine))
		dupLine["external_id"] = "INV-L2"
		r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(dupLine))
		if msg := r.json(t)["invoices"].([]any)[0].(map[string]any)["errors"].(map[string]any)["line_items.external_id"]; msg != "The external ID for this line item already exists in our system." {
			t.Errorf("duplicate line: %s", r.body)
		}
		r = e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV0001", pl, "sub_0001")))
		if msg := r.json(t)["invoices"].([]any)[0].(map[string]any)["errors"].(map[string]any)["external_id"]; msg != "The external ID for this invoice already exists in our system." {
			t.Errorf("duplicate invoice: %s", r.body)
		}
		// Limits, unknown customers, another account.
		many := make([]map[string]any, 6)
		for i := range many {
			many[i] = seedInvoice(fmt.Sprint("M", i), pl, "s")
		}
		if r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(many...)); r.status != 413 {
			t.Errorf("6 invoices over a limit of 5: %d", r.status)
		}
		jsonEqual(t, e.do(e.key, "POST", "/v1/import/customers/cus_nope/invoices", invoices(seedInvoice("X", pl, "s"))).body, `{"error":"Customer not found"}`)
		if r := e.do(e.otherKey, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("X", pl, "s"))); r.status != 404 {
			t.Errorf("other account imports into our customer: %d", r.status)
		}
		_ = ds
	})
}

func TestInvoiceListsAndDeletes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("A", pl, "sub-a"), seedInvoice("B", pl, "sub-b"), seedInvoice("C", pl, "sub-a")))
		m := e.ok(200, "GET", "/v1/import/customers/"+cus+"/invoices?per_page=2", nil)
		if len(m["invoices"].([]any)) != 2 || m["has_more"] != true || m["customer_uuid"] != cus || m["total_pages"] != 2.0 {
			t.Fatalf("page 1: %v", m)
		}
		m = e.ok(200, "GET", "/v1/import/customers/"+cus+"/invoices?per_page=2&cursor="+m["cursor"].(string), nil)
		if len(m["invoices"].([]any)) != 1 || m["has_more"] != false {
			t.Fatalf("page 2: %v", m)
		}
		all := e.ok(200, "GET", "/v1/invoices?data_source_uuid="+ds+"&external_id=B", nil)["invoices"].([]any)
		if len(all) != 1 || all[0].(map[string]any)["customer_uuid"] != cus {
			t.Fatalf("filtered: %v", all)
		}
		if n := len(e.do(e.otherKey, "GET", "/v1/invoices", nil).json(t)["invoices"].([]any)); n != 0 {
			t.Fatalf("other account lists %d invoices", n)
		}
		b := all[0].(map[string]any)["uuid"].(string)
		if r := e.do(e.otherKey, "DELETE", "/v1/invoices/"+b, nil); r.status != 404 {
			t.Fatalf("other account deletes: %d", r.status)
		}
		// Deleting B removes sub-b (no line left) but not sub-a.
		e.ok(204, "DELETE", "/v1/invoices/"+b, nil)
		jsonEqual(t, e.do(e.key, "GET", "/v1/invoices/"+b, nil).body, `{"error":"Invoice not found"}`)
		subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)
		if len(subs) != 1 || subs[0].(map[string]any)["external_id"] != "sub-a" {
			t.Fatalf("subscriptions after delete: %v", subs)
		}
		// A plan in use cannot be deleted out from under its lines.
		if r := e.do(e.key, "DELETE", "/v1/plans/"+pl, nil); r.status != 422 {
			t.Fatalf("deleting a plan in use: %d %s", r.status, r.body)
		}
		e.ok(204, "DELETE", "/v1/data_sources/"+ds+"/customers/"+cus+"/invoices", nil)
		if m := e.ok(200, "GET", "/v1/import/customers/"+cus+"/invoices", nil); len(m["invoices"].([]any)) != 0 || m["total_pages"] != 0.0 {
			t.Fatalf("after deleting all: %v", m)
		}
		if subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any); len(subs) != 0 {
			t.Fatalf("subscriptions left: %v", subs)
		}
	})
}

func TestDeletesCascadeThroughEverything(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{})
		ds, cus, pl := e.fixture()
		inv := seedInvoice("A", pl, "sub-a")
		inv["line_items"].([]any)[0].(map[string]any)["cancelled_at"] = "2015-11-20"
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(inv, seedInvoice("B", pl, "sub-b")))
		e.ok(201, "POST", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{
			"data_source_uuid": ds, "customer_external_id": "cus_0001", "event_type": "subscription_cancelled",
			"event_date": "2016-01-01", "effective_date": "2016-01-01", "subscription_external_id": "sub-a"}})
		subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)
		e.ok(202, "POST", "/v1/customers/"+cus+"/connect_subscriptions", map[string]any{"subscriptions": []any{
			map[string]any{"uuid": subs[0].(map[string]any)["uuid"]}, map[string]any{"uuid": subs[1].(map[string]any)["uuid"]}}})
		e.ok(200, "POST", "/v1/plan_groups", map[string]any{"name": "G", "plans": []string{pl}})
		e.ok(204, "DELETE", "/v1/data_sources/"+ds, nil)
		// Only the accounts, their keys and the plan group (now empty) remain.
		snap := storetest.Snapshot(t, s)
		for _, table := range []string{"customers", "customer_identities", "invoices", "line_items", "transactions", "subscriptions",
			"cancellations", "subscription_events", "subscription_connections", "plans", "plan_group_plans", "data_sources"} {
			if !strings.Contains(snap, table+" (0)") {
				t.Errorf("%s not empty after deleting the data source:\n%s", table, snap)
			}
		}
	})
}

func TestCancellationsByPatch(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("A", pl, "sub_0001")))
		sub := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)[0].(map[string]any)["uuid"].(string)
		path := "/v1/import/subscriptions/" + sub
		r := e.ok(202, "PATCH", path, map[string]any{"cancelled_at": "2016-01-15 00:00:00"})
		if fmt.Sprint(r["cancellation_dates"]) != "[2016-01-15T00:00:00.000Z]" || r["customer_uuid"] != cus || r["uuid"] != sub {
			t.Fatalf("cancel: %v", r)
		}
		r = e.ok(202, "PATCH", path, map[string]any{"cancelled_at": "2016-03-01"})
		if fmt.Sprint(r["cancellation_dates"]) != "[2016-01-15T00:00:00.000Z 2016-03-01T00:00:00.000Z]" {
			t.Fatalf("second cancel appends: %v", r)
		}
		r = e.ok(202, "PATCH", path, map[string]any{"cancellation_dates": []string{"2016-02-01"}})
		if fmt.Sprint(r["cancellation_dates"]) != "[2016-02-01T00:00:00.000Z]" {
			t.Fatalf("replace: %v", r)
		}
		r = e.ok(202, "PATCH", path, map[string]any{"cancellation_dates": []string{}})
		if fmt.Sprint(r["cancellation_dates"]) != "[]" {
			t.Fatalf("clear: %v", r)
		}
		for _, body := range []map[string]any{{}, {"cancelled_at": "soon"}, {"cancellation_dates": []string{"2016-02-30"}}} {
			if r := e.do(e.key, "PATCH", path, body); r.status != 422 {
				t.Errorf("%v: %d", body, r.status)
			}
		}
		if r := e.do(e.otherKey, "PATCH", path, map[string]any{"cancelled_at": "2016-01-01"}); r.status != 404 {
			t.Errorf("other account cancels: %d", r.status)
		}
	})
}

func TestRefundTransactionOnAnImportedInvoice(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		inv := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("A", pl, "s")))["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
		path := "/v1/import/invoices/" + inv + "/transactions"
		tr := e.ok(201, "POST", path, map[string]any{"type": "refund", "result": "successful", "date": "2015-12-01", "amount_in_cents": 1500, "external_id": "rf-1"})
		if tr["type"] != "refund" || tr["amount_in_cents"] != 1500.0 || !strings.HasPrefix(tr["uuid"].(string), "tr_") || tr["date"] != "2015-12-01T00:00:00.000Z" {
			t.Fatalf("transaction: %v", tr)
		}
		jsonEqual(t, e.do(e.key, "POST", path, map[string]any{"type": "refund", "result": "successful", "date": "2015-12-01", "external_id": "rf-1"}).body,
			`{"errors":{"external_id":"has already been taken"}}`)
		if r := e.do(e.key, "POST", path, map[string]any{"type": "chargeback", "result": "successful", "date": "2015-12-01"}); r.status != 422 {
			t.Errorf("bad type: %d", r.status)
		}
		if r := e.do(e.key, "POST", "/v1/import/invoices/inv_nope/transactions", map[string]any{"type": "refund", "result": "successful", "date": "2015-12-01"}); r.status != 404 {
			t.Errorf("unknown invoice: %d", r.status)
		}
		if n := len(e.ok(200, "GET", "/v1/invoices/"+inv, nil)["transactions"].([]any)); n != 2 {
			t.Errorf("transactions on the invoice: %d", n)
		}
	})
}

func TestDeletingACustomerCascades(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{})
		ds, cus, pl := e.fixture()
		keep := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "keep"})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+keep+"/invoices", invoices(seedInvoice("K", pl, "sub-k")))
		inv := seedInvoice("A", pl, "sub-a")
		inv["line_items"].([]any)[0].(map[string]any)["cancelled_at"] = "2015-11-20"
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(inv))
		e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"event_type": "subscription_cancelled"}))
		e.ok(204, "DELETE", "/v1/customers/"+cus, nil)
		// Only the other customer's invoice, line, payment and subscription remain.
		after := storetest.Snapshot(t, s)
		for _, table := range []string{"invoices (1)", "line_items (1)", "transactions (1)", "subscriptions (1)", "cancellations (0)",
			"subscription_events (0)", "customers (1)", "customer_identities (1)"} {
			if !strings.Contains(after, table) {
				t.Errorf("after deleting the customer, want %s:\n%s", table, after)
			}
		}
	})
}

func TestInvoiceStatus(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		uuid := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV-S", pl, "s")))["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
		jsonEqual(t, e.do(e.key, "PUT", "/v1/data_sources/"+ds+"/invoices/INV-S/status", map[string]any{"status": "voided"}).body,
			`{"external_id":"INV-S","status":"voided","message":"Invoice updated"}`)
		if got := e.ok(200, "GET", "/v1/invoices/"+uuid, nil)["status"]; got != "voided" {
			t.Fatalf("status %v", got)
		}
		if r := e.do(e.key, "PUT", "/v1/data_sources/"+ds+"/invoices/INV-S/status", map[string]any{"status": "paid"}); r.status != 422 {
			t.Fatalf("bad status: %d", r.status)
		}
		if r := e.do(e.key, "PUT", "/v1/data_sources/"+ds+"/invoices/NOPE/status", map[string]any{"status": "voided"}); r.status != 404 {
			t.Fatalf("unknown invoice: %d", r.status)
		}
	})
}

func TestImportEdgeCases(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		for _, body := range []string{`{"invoices":[null]}`, `{"invoices":[1]}`, `{"invoices":[{"line_items":null}]}`} {
			r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", body)
			if r.status != 422 || len(r.json(t)["invoices"].([]any)) != 1 {
				t.Errorf("%s: %d %s", body, r.status, r.body)
			}
		}
		for _, body := range []string{`{}`, `{"invoices":[]}`, `{"invoices":{}}`} {
			if r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", body); r.status != 422 {
				t.Errorf("%s: %d %s", body, r.status, r.body)
			}
		}
		inv := seedInvoice("X", pl, "s")
		inv["data_source_uuid"] = "ds_nope"
		r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(inv))
		if r.json(t)["invoices"].([]any)[0].(map[string]any)["errors"].(map[string]any)["data_source_uuid"] == nil {
			t.Errorf("unknown data source: %s", r.body)
		}

		// Concurrent imports that start one new subscription: every one is
		// valid and stored, and there is one subscription.
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice(fmt.Sprint("PAR-", i), pl, "sub-par"))).status
			}()
		}
		wg.Wait()
		for i, c := range codes {
			if c != 201 {
				t.Errorf("import %d: %d", i, c)
			}
		}
		if subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any); len(subs) != 1 {
			t.Errorf("%d subscriptions, want 1", len(subs))
		}
		// Concurrent retries of one batch: one is stored, the rest are
		// refused in the batch shape.
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("RETRY", pl, "sub-retry")))
				codes[i] = r.status
				if r.status == 422 && r.json(t)["invoices"] == nil {
					t.Errorf("retry refused outside the batch shape: %s", r.body)
				}
			}()
		}
		wg.Wait()
		stored := 0
		for _, c := range codes {
			if c == 201 {
				stored++
			}
		}
		if stored != 1 {
			t.Errorf("%d of the retries were stored, want 1 (codes %v)", stored, codes)
		}
	})
}
