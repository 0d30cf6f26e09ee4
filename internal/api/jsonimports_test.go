package api

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// docImport is the import of dev.chartmogul.com's import-data-bulk page,
// completed with line items, transactions and a subscription event for
// its customer.
func docImport() map[string]any {
	return map[string]any{
		"external_id": "ds_import_1",
		"customers": []any{map[string]any{"external_id": "scus_0001", "name": "Andrew Jones", "email": "andrew@example.com",
			"country": "US", "state": "California", "city": "San Francisco", "zip": "90210", "company": "CA Printing Company",
			"lead_created_at": "2023-05-14 00:00:00", "free_trial_started_at": "2023-06-01 00:00:00"}},
		"plans": []any{map[string]any{"name": "Gold Biannual", "external_id": "gold_biannual", "interval_count": 6, "interval_unit": "month"}},
		"invoices": []any{
			map[string]any{"external_id": "inv_001", "date": "2023-04-02 21:37:00", "due_date": "2023-05-02 21:37:00", "currency": "USD",
				"customer_external_id": "scus_0001"},
			map[string]any{"external_id": "inv_002", "date": "2023-10-02 21:37:00", "currency": "USD", "customer_external_id": "scus_0001"},
		},
		"line_items": []any{
			map[string]any{"invoice_external_id": "inv_001", "type": "subscription", "external_id": "li_001", "amount_in_cents": 6000,
				"quantity": 1, "subscription_external_id": "sub_0001", "plan_external_id": "gold_biannual",
				"service_period_start": "2023-04-02 21:37:00", "service_period_end": "2023-10-02 21:37:00"},
			map[string]any{"invoice_external_id": "inv_002", "type": "subscription", "external_id": "li_002", "amount_in_cents": 12000,
				"quantity": 2, "subscription_external_id": "sub_0001", "plan_external_id": "gold_biannual",
				"service_period_start": "2023-10-02 21:37:00", "service_period_end": "2024-04-02 21:37:00"},
			map[string]any{"invoice_external_id": "inv_001", "type": "one_time", "amount_in_cents": 2500, "description": "Setup fee"},
		},
		"transactions": []any{
			map[string]any{"invoice_external_id": "inv_001", "external_id": "tr_001", "type": "payment", "result": "successful",
				"date": "2023-04-03 00:00:00"},
		},
		"subscription_events": []any{
			map[string]any{"customer_external_id": "scus_0001", "external_id": "ev_001", "subscription_external_id": "sub_0001",
				"event_type": "subscription_cancellation_scheduled", "event_date": "2023-12-01", "effective_date": "2024-04-02 21:37:00"},
		},
	}
}

// volatile are the fields a comparison of answers leaves out.
var volatile = regexp.MustCompile(`"(id|created_at|updated_at)":"[^"]*"`)

func TestJSONImportShapes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Bulk"})["uuid"].(string)
		path := "/v1/data_sources/" + ds + "/json_imports"
		r := e.do(e.key, "POST", path, docImport())
		if r.status != 200 {
			t.Fatalf("import: %d %s", r.status, r.body)
		}
		imported := `{"status": "imported"}`
		want := `{"id":"","data_source_uuid":"` + ds + `","status":"completed","external_id":"ds_import_1",
			"status_details":{"plans":` + imported + `,"scus_0001":{"status":"imported","customers":` + imported + `,"invoices":` + imported + `,
				"line_items":` + imported + `,"transactions":` + imported + `,"subscription_events":` + imported + `}},
			"created_at":"","updated_at":""}`
		jsonEqual(t, volatile.ReplaceAll(r.body, []byte(`"$1":""`)), want)
		answer := r.json(t)
		id := answer["id"].(string)
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(id) {
			t.Errorf("id %q is not a UUID", id)
		}
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(answer["created_at"].(string)) {
			t.Errorf("created_at %q", answer["created_at"])
		}
		// Tracked by its id or its external id (the track-status page's
		// example), the same answer.
		for _, ref := range []string{id, "ds_import_1"} {
			got := e.do(e.key, "GET", path+"/"+ref, nil)
			if got.status != 200 || string(got.body) != string(r.body) {
				t.Errorf("GET %s: %d %s\nwant %s", ref, got.status, got.body, r.body)
			}
		}
		// What was imported, through the single-object endpoints.
		cus := e.ok(200, "GET", "/v1/customers?data_source_uuid="+ds+"&external_id=scus_0001", nil)["entries"].([]any)
		if len(cus) != 1 {
			t.Fatalf("customers: %v", cus)
		}
		c := cus[0].(map[string]any)
		// 12000 cents for 6 months at quantity 2 (metrics.md rule 2): 2,000 a
		// month, current as the import answered.
		if c["name"] != "Andrew Jones" || c["company"] != "CA Printing Company" || c["lead_created_at"] != "2023-05-14T00:00:00.000Z" ||
			c["mrr"] != float64(2000) || c["status"] != "Active" && c["status"] != "Cancelled" {
			t.Errorf("customer %v", c)
		}
		invs := e.ok(200, "GET", "/v1/import/customers/"+c["uuid"].(string)+"/invoices", nil)["invoices"].([]any)
		if len(invs) != 2 {
			t.Fatalf("invoices: %v", invs)
		}
		first := invs[0].(map[string]any)
		lines, txs := first["line_items"].([]any), first["transactions"].([]any)
		if first["external_id"] != "inv_001" || first["due_date"] != "2023-05-02T21:37:00.000Z" || len(lines) != 2 || len(txs) != 1 {
			t.Fatalf("first invoice %v", first)
		}
		plans := e.ok(200, "GET", "/v1/plans?data_source_uuid="+ds, nil)["plans"].([]any)
		plan := plans[0].(map[string]any)
		if len(plans) != 1 || plan["external_id"] != "gold_biannual" || plan["interval_count"] != float64(6) {
			t.Fatalf("plans %v", plans)
		}
		line := lines[0].(map[string]any)
		if line["external_id"] != "li_001" || line["plan_uuid"] != plan["uuid"] || line["amount_in_cents"] != float64(6000) ||
			line["service_period_end"] != "2023-10-02T21:37:00.000Z" || lines[1].(map[string]any)["description"] != "Setup fee" {
			t.Errorf("lines %v", lines)
		}
		if tx := txs[0].(map[string]any); tx["external_id"] != "tr_001" || tx["result"] != "successful" {
			t.Errorf("transaction %v", tx)
		}
		evs := e.ok(200, "GET", "/v1/subscription_events?data_source_uuid="+ds, nil)["subscription_events"].([]any)
		if ev := evs[0].(map[string]any); len(evs) != 1 || ev["external_id"] != "ev_001" || ev["customer_external_id"] != "scus_0001" {
			t.Errorf("events %v", evs)
		}
		// The same external id again: refused whole, nothing stored.
		before := storetest.Snapshot(t, e.store)
		r = e.do(e.key, "POST", path, map[string]any{"external_id": "ds_import_1"})
		jsonEqual(t, r.body, `{"errors":{"external_id":"An import with this external ID already exists in this data source."}}`)
		if r.status != 422 || storetest.Snapshot(t, e.store) != before {
			t.Errorf("a second import named ds_import_1: %d", r.status)
		}
		// An empty import is a completed one with nothing in it.
		r = e.do(e.key, "POST", path, map[string]any{"external_id": "empty"})
		if r.status != 200 {
			t.Fatalf("empty import: %d %s", r.status, r.body)
		}
		jsonEqual(t, volatile.ReplaceAll(r.body, []byte(`"$1":""`)), `{"id":"","data_source_uuid":"`+ds+`","status":"completed",
			"external_id":"empty","status_details":{},"created_at":"","updated_at":""}`)
	})
}

func TestJSONImportRequestErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{MaxBodyBytes: 4096})
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Bulk"})["uuid"].(string)
		other := e.do(e.otherKey, "POST", "/v1/data_sources", map[string]any{"name": "Theirs"}).json(t)["uuid"].(string)
		path := "/v1/data_sources/" + ds + "/json_imports"
		e.ok(200, "POST", path, map[string]any{"external_id": "first", "plans": []any{map[string]any{"name": "P", "interval_count": 1,
			"interval_unit": "month"}}})
		before := storetest.Snapshot(t, e.store)
		for _, c := range []struct {
			name, key, method, path string
			body                    any
			status                  int
			want                    string
		}{
			{"no external id", e.key, "POST", path, map[string]any{"customers": []any{}}, 422,
				`{"errors":{"external_id":"An external ID is required for each import."}}`},
			{"external id too long", e.key, "POST", path, map[string]any{"external_id": strings.Repeat("x", 256)}, 422,
				`{"errors":{"external_id":"Must be at most 255 characters."}}`},
			{"not an array", e.key, "POST", path, map[string]any{"external_id": "x", "customers": "none"}, 422,
				`{"errors":{"customers":"must be an array"}}`},
			{"malformed", e.key, "POST", path, `{"external_id": "x",`, 400, ""},
			{"too large", e.key, "POST", path, `{"external_id": "x", "customers": [` + strings.Repeat(`{"external_id": "c"},`, 300) + `{}]}`, 413, ""},
			{"read key", e.readKey, "POST", path, map[string]any{"external_id": "x"}, 403, ""},
			{"unknown data source", e.key, "POST", "/v1/data_sources/ds_00000000-0000-0000-0000-000000000000/json_imports",
				map[string]any{"external_id": "x"}, 404, `{"error":"Data source not found"}`},
			{"another account's data source", e.key, "POST", "/v1/data_sources/" + other + "/json_imports",
				map[string]any{"external_id": "x"}, 404, `{"error":"Data source not found"}`},
			{"GET unknown import", e.key, "GET", path + "/nope", nil, 404, `{"error":"Import not found"}`},
			{"GET from another account", e.otherKey, "GET", path + "/first", nil, 404, `{"error":"Data source not found"}`},
			{"GET through another data source", e.otherKey, "GET", "/v1/data_sources/" + other + "/json_imports/first", nil, 404,
				`{"error":"Import not found"}`},
		} {
			r := e.do(c.key, c.method, c.path, c.body)
			if r.status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
				continue
			}
			if c.want != "" {
				jsonEqual(t, r.body, c.want)
			}
		}
		if storetest.Snapshot(t, e.store) != before {
			t.Error("a refused request stored something")
		}
		// A read key tracks imports.
		if r := e.do(e.readKey, "GET", path+"/first", nil); r.status != 200 || r.json(t)["status"] != "completed" {
			t.Errorf("GET with a read key: %d %s", r.status, r.body)
		}
	})
}

// objects reads a failed kind's objects from status_details: index →
// errors.
func objects(t *testing.T, details map[string]any, key, kind string) map[int]map[string]any {
	t.Helper()
	grp, ok := details[key].(map[string]any)
	if !ok {
		t.Fatalf("no status_details[%q] in %v", key, details)
	}
	k, ok := grp[kind].(map[string]any)
	if key == "plans" {
		k, ok = grp, true // the plans are a group and a kind at once
	}
	if !ok || k["status"] != "failed" {
		t.Fatalf("status_details[%q][%q] = %v", key, kind, grp[kind])
	}
	out := map[int]map[string]any{}
	for _, o := range k["objects"].([]any) {
		o := o.(map[string]any)
		out[int(o["index"].(float64))] = o["errors"].(map[string]any)
	}
	return out
}

func TestJSONImportFaults(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, pl := e.fixture() // customer cus_0001, plan plan_0001
		e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0002"})
		// An invoice already stored: a later import may not take its
		// external id, and may add a transaction to it.
		e.ok(201, "POST", "/v1/import/customers/"+e.customerUUID(ds, "cus_0001")+"/invoices", invoices(seedInvoice("INV-OLD", pl, "sub-old"),
			seedInvoice("INV-OLD-2", pl, "sub-old")))
		path := "/v1/data_sources/" + ds + "/json_imports"
		sub := func(inv, subExt, plan string, amount any) map[string]any {
			return map[string]any{"invoice_external_id": inv, "type": "subscription", "subscription_external_id": subExt,
				"plan_external_id": plan, "service_period_start": "2024-01-01", "service_period_end": "2024-02-01", "amount_in_cents": amount}
		}
		inv := func(ext, cus string) map[string]any {
			return map[string]any{"external_id": ext, "date": "2024-01-01", "currency": "USD", "customer_external_id": cus}
		}
		body := map[string]any{
			"external_id": "faults",
			"customers": []any{
				map[string]any{"external_id": "good", "name": "Good"},
				map[string]any{"external_id": "bad-line", "name": "Bad line"},
				map[string]any{"external_id": "bad-plan"},
				map[string]any{"external_id": "dup-invoice"},
				map[string]any{"external_id": "cus_0002"}, // already in the data source
				map[string]any{"external_id": "bad-country", "country": "XX"},
				map[string]any{"name": "No external id"},
			},
			"invoices": []any{
				inv("g-1", "good"), inv("bl-1", "bad-line"), inv("bp-1", "bad-plan"), inv("INV-OLD", "dup-invoice"),
				inv("c1-1", "cus_0001"), inv("bc-1", "bad-country"), inv("u-1", "nobody"),
				map[string]any{"external_id": "bl-2", "date": "someday", "currency": "USD", "customer_external_id": "bad-line",
					"line_items": []any{map[string]any{"type": "one_time", "amount_in_cents": 5}}},
			},
			"line_items": []any{
				sub("g-1", "sub-good", "plan_0001", 1000),
				sub("bl-1", "sub-bl", "plan_0001", "lots"),
				sub("bp-1", "sub-bp", "no-such-plan", 1000),
				sub("INV-OLD", "sub-dup", "plan_0001", 1000),
				sub("c1-1", "sub-old", "plan_0001", 2000), // cus_0001's own subscription: fine
				sub("bc-1", "sub-bc", "plan_0001", 1000),
				sub("u-1", "sub-u", "plan_0001", 1000),
				sub("missing", "sub-m", "plan_0001", 1000),
			},
			"transactions": []any{
				map[string]any{"invoice_external_id": "INV-OLD-2", "type": "refund", "result": "successful", "date": "2015-11-20", "amount_in_cents": 1000},
				map[string]any{"invoice_external_id": "nowhere", "type": "payment", "result": "successful", "date": "2024-01-02"},
			},
			"plans": []any{map[string]any{"name": "Dup", "external_id": "plan_0001", "interval_count": 1, "interval_unit": "month"}},
		}
		r := e.do(e.key, "POST", path, body)
		if r.status != 200 {
			t.Fatalf("import: %d %s", r.status, r.body)
		}
		answer := r.json(t)
		if answer["status"] != "partially_completed" {
			t.Errorf("status %v", answer["status"])
		}
		d := answer["status_details"].(map[string]any)
		for _, key := range []string{"good", "cus_0001"} {
			if g := d[key].(map[string]any); g["status"] != "imported" {
				t.Errorf("%s: %v", key, g)
			}
		}
		// cus_0001's group holds its new invoice and the refund of its old
		// one.
		jsonEqual(t, []byte(mustJSON(d["cus_0001"])), `{"status":"imported","invoices":{"status":"imported"},"line_items":{"status":"imported"},
			"transactions":{"status":"imported"}}`)
		for key, want := range map[string]map[string]map[int]map[string]any{
			"bad-line": {
				"line_items": {1: {"amount_in_cents": "must be an integer"}},
				"invoices":   {1: {}, 7: {"date": `The date "someday" is not valid: use RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD.`}},
				"customers":  {1: {}},
			},
			"bad-plan": {
				"line_items": {2: {"plan_external_id": "Line item: no plan with the external ID no-such-plan in the invoice's data source."}},
				"invoices":   {2: {}},
				"customers":  {2: {}},
			},
			"dup-invoice": {
				"invoices":   {3: {"external_id": "The external ID for this invoice already exists in our system."}},
				"line_items": {3: {}},
				"customers":  {3: {}},
			},
			"cus_0002": {"customers": {4: {"external_id": "The external ID for this customer already exists in our system."}}},
			"bad-country": {
				"customers":  {5: {"country": `"XX" is not an ISO 3166-1 alpha-2 country code.`}},
				"invoices":   {5: {}},
				"line_items": {5: {}},
			},
			"nobody": {
				"invoices":   {6: {}},
				"line_items": {6: {}},
			},
			"unassigned": {
				"customers":    {6: {"external_id": "An external ID is required for each customer."}},
				"line_items":   {7: {"invoice_external_id": "No invoice with this external ID in this import: a line item is imported with its invoice."}},
				"transactions": {1: {"invoice_external_id": "No invoice with this external ID exists in the data source or in this import."}},
			},
			"plans": {"plans": {0: {"external_id": "A plan with this identifier already exists in our system."}}},
		} {
			for kind, objs := range want {
				got := objects(t, d, key, kind)
				gotJSON, wantJSON := mustJSON(got), mustJSON(objs)
				if gotJSON != wantJSON {
					t.Errorf("%s %s: %s, want %s", key, kind, gotJSON, wantJSON)
				}
			}
		}
		if e := d["nobody"].(map[string]any)["errors"]; fmt.Sprint(e) != "map[customer_external_id:No customer with this external ID exists in the data source or in this import.]" {
			t.Errorf("nobody's group errors: %v", e)
		}
		// Only the two good groups are stored: a customer, two invoices, a
		// refund, no plan.
		for ext, want := range map[string]bool{"good": true, "bad-line": false, "bad-plan": false, "dup-invoice": false, "bad-country": false, "nobody": false} {
			entries := e.ok(200, "GET", "/v1/customers?data_source_uuid="+ds+"&external_id="+ext, nil)["entries"].([]any)
			if (len(entries) == 1) != want {
				t.Errorf("customer %s stored: %v, want %v", ext, len(entries) == 1, want)
			}
		}
		if n := len(e.ok(200, "GET", "/v1/plans?data_source_uuid="+ds, nil)["plans"].([]any)); n != 1 {
			t.Errorf("%d plans", n)
		}
		old := e.ok(200, "GET", "/v1/invoices?data_source_uuid="+ds+"&external_id=INV-OLD-2", nil)["invoices"].([]any)[0].(map[string]any)
		if txs := old["transactions"].([]any); len(txs) != 2 || txs[1].(map[string]any)["type"] != "refund" {
			t.Errorf("INV-OLD-2's transactions: %v", txs)
		}
		cus1 := e.ok(200, "GET", "/v1/import/customers/"+e.customerUUID(ds, "cus_0001")+"/invoices", nil)["invoices"].([]any)
		if len(cus1) != 3 {
			t.Errorf("cus_0001 has %d invoices", len(cus1))
		}
		// All good groups failing: a failed import, nothing stored but its
		// record.
		before := storetest.Snapshot(t, e.store)
		r = e.do(e.key, "POST", path, map[string]any{"external_id": "all-bad", "invoices": []any{inv("x-1", "ghost")}})
		if r.status != 200 || r.json(t)["status"] != "failed" {
			t.Errorf("all bad: %d %s", r.status, r.body)
		}
		if storetest.Snapshot(t, e.store) == before {
			t.Error("the failed import left no record")
		}
		e.ok(200, "GET", path+"/all-bad", nil)
	})
}

// customerUUID finds a customer of the data source by external id.
func (e *env) customerUUID(ds, ext string) string {
	e.t.Helper()
	entries := e.ok(200, "GET", "/v1/customers?data_source_uuid="+ds+"&external_id="+url.QueryEscape(ext), nil)["entries"].([]any)
	if len(entries) != 1 {
		e.t.Fatalf("customer %s: %v", ext, entries)
	}
	return entries[0].(map[string]any)["uuid"].(string)
}

// TestJSONImportMatchesSingleImports imports one book twice, in two
// accounts: in bulk, and object by object through the per-customer
// endpoints. The metrics and the activities must be the same.
func TestJSONImportMatchesSingleImports(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		bulk := e.book(e.key, true)
		single := e.book(e.otherKey, false)
		if bulk == "" || bulk != single {
			t.Errorf("metrics after a bulk import:\n%s\nafter single imports:\n%s", bulk, single)
		}
	})
}

// book imports a small book into key's account, in bulk or through the
// single-object endpoints, and returns its metrics and activities.
func (e *env) book(key string, bulk bool) string {
	t := e.t
	must := func(want int, method, path string, body any) map[string]any {
		r := e.do(key, method, path, body)
		if r.status != want {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
		}
		if len(r.body) == 0 {
			return nil
		}
		return r.json(t)
	}
	ds := must(201, "POST", "/v1/data_sources", map[string]any{"name": "Book"})["uuid"].(string)
	plans := []any{
		map[string]any{"name": "Monthly", "external_id": "monthly", "interval_count": 1, "interval_unit": "month"},
		map[string]any{"name": "Annual", "external_id": "annual", "interval_count": 1, "interval_unit": "year"},
		map[string]any{"name": "Quarterly", "external_id": "quarterly", "interval_count": 3, "interval_unit": "month"},
	}
	var customers, invs, lines, txs, events []any
	for c := range 24 {
		cus := fmt.Sprintf("c%02d", c)
		customers = append(customers, map[string]any{"external_id": cus, "name": "Customer " + cus, "country": []string{"US", "DE", "FR"}[c%3]})
		plan, months := []string{"monthly", "annual", "quarterly"}[c%3], []int{1, 12, 3}[c%3]
		for i := range 2 + c%5 {
			month := (c*5 + i*months) % 40
			start := fmt.Sprintf("%d-%02d-01", 2021+month/12, 1+month%12)
			endMonth := month + months
			end := fmt.Sprintf("%d-%02d-01", 2021+endMonth/12, 1+endMonth%12)
			ext := fmt.Sprintf("%s-inv-%d", cus, i)
			invs = append(invs, map[string]any{"external_id": ext, "date": start + " 00:00:00", "currency": "USD", "customer_external_id": cus})
			amount := 1000 * (1 + c%4) * months
			if i == 2 && c%2 == 0 {
				amount *= 2 // an upgrade
			}
			line := map[string]any{"invoice_external_id": ext, "type": "subscription", "subscription_external_id": cus + "-sub",
				"plan_external_id": plan, "service_period_start": start, "service_period_end": end, "amount_in_cents": amount,
				"quantity": 1 + i%2, "external_id": ext + "-line"}
			if i == 1+c%5 && c%3 == 0 {
				line["cancelled_at"] = end // churn at the end
			}
			lines = append(lines, line)
			if c%4 == 1 && i == 0 {
				lines = append(lines, map[string]any{"invoice_external_id": ext, "type": "one_time", "amount_in_cents": 500})
			}
			txs = append(txs, map[string]any{"invoice_external_id": ext, "type": "payment", "result": "successful", "date": start})
			if c%7 == 3 && i == 0 {
				txs = append(txs, map[string]any{"invoice_external_id": ext, "type": "refund", "result": "successful", "date": start,
					"amount_in_cents": amount})
			}
		}
		if c%6 == 5 {
			events = append(events, map[string]any{"customer_external_id": cus, "subscription_external_id": cus + "-sub",
				"event_type": "subscription_cancelled", "event_date": "2023-06-01", "effective_date": "2023-06-01", "external_id": cus + "-ev"})
		}
	}
	if bulk {
		r := must(200, "POST", "/v1/data_sources/"+ds+"/json_imports", map[string]any{"external_id": "book", "customers": customers,
			"plans": plans, "invoices": invs, "line_items": lines, "transactions": txs, "subscription_events": events})
		if r["status"] != "completed" {
			t.Fatalf("bulk import: %v", r)
		}
	} else {
		planUUID := map[string]string{}
		for _, p := range plans {
			p := p.(map[string]any)
			p["data_source_uuid"] = ds
			planUUID[p["external_id"].(string)] = must(201, "POST", "/v1/plans", p)["uuid"].(string)
		}
		cusUUID := map[string]string{}
		for _, c := range customers {
			c := c.(map[string]any)
			c["data_source_uuid"] = ds
			cusUUID[c["external_id"].(string)] = must(201, "POST", "/v1/customers", c)["uuid"].(string)
		}
		byCustomer := map[string][]any{}
		var order []string
		for _, inv := range invs {
			inv := inv.(map[string]any)
			ext := inv["external_id"].(string)
			var ls, ts []any
			for _, l := range lines {
				l := l.(map[string]any)
				if l["invoice_external_id"] == ext {
					l = copyMap(l)
					delete(l, "invoice_external_id")
					if p, ok := l["plan_external_id"]; ok {
						l["plan_uuid"] = planUUID[p.(string)]
						delete(l, "plan_external_id")
					}
					ls = append(ls, l)
				}
			}
			for _, tx := range txs {
				tx := tx.(map[string]any)
				if tx["invoice_external_id"] == ext {
					tx = copyMap(tx)
					delete(tx, "invoice_external_id")
					ts = append(ts, tx)
				}
			}
			inv = copyMap(inv)
			inv["line_items"], inv["transactions"] = ls, ts
			cus := inv["customer_external_id"].(string)
			if byCustomer[cus] == nil {
				order = append(order, cus)
			}
			byCustomer[cus] = append(byCustomer[cus], inv)
		}
		for _, cus := range order {
			must(201, "POST", "/v1/import/customers/"+cusUUID[cus]+"/invoices", invoices(mapsOf(byCustomer[cus])...))
		}
		for _, ev := range events {
			ev := ev.(map[string]any)
			ev["data_source_uuid"] = ds
			must(201, "POST", "/v1/subscription_events", ev)
		}
	}
	var out strings.Builder
	all := e.do(key, "GET", "/v1/metrics/all?start-date=2021-01-01&end-date=2025-12-31&interval=month", nil)
	out.Write(all.body)
	// Activities name customers by UUID, which differ between the
	// accounts: compare what happened, sorted.
	acts := e.do(key, "GET", "/v1/activities?start-date=2021-01-01&per_page=200", nil).json(t)["entries"].([]any)
	var rows []string
	for _, a := range acts {
		a := a.(map[string]any)
		rows = append(rows, fmt.Sprint(a["date"], a["type"], a["activity-mrr"], a["activity-mrr-movement"], a["activity-arr"], a["customer-external-id"],
			a["plan-external-id"], a["subscription-external-id"]))
	}
	if len(rows) < 40 {
		t.Fatalf("only %d activities", len(rows))
	}
	sort.Strings(rows)
	out.WriteString("\n" + strings.Join(rows, "\n"))
	return out.String()
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mapsOf(list []any) []map[string]any {
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i] = v.(map[string]any)
	}
	return out
}
