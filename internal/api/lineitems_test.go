package api

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// The line-item routes (issue 13, reference/line-items/*) on both stores:
// shapes, both ways of naming a line, edit history, the disabled state,
// validation as an import's, 404 for unknown and foreign lines, read keys
// refused.

// editStamp matches a disabled_at / latest_edit_performed_at value.
var editStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestLineItemRoutes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		first := seedInvoice("INV-1", pl, "sub_0001")
		first["line_items"].([]any)[0].(map[string]any)["external_id"] = "li-1"
		inv := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(first))["invoices"].([]any)[0].(map[string]any)
		invUUID := inv["uuid"].(string)
		li1 := inv["line_items"].([]any)[0].(map[string]any)["uuid"].(string)
		prefix := auth.Prefix(e.key)

		// POST adds a line, user_created, answered as retrieve shows it.
		add := "/v1/import/invoices/" + invUUID + "/line_items"
		added := e.ok(201, "POST", add, map[string]any{"type": "subscription", "external_id": "li-2", "subscription_external_id": "sub_0002",
			"plan_uuid": pl, "service_period_start": "2015-11-15", "service_period_end": "2015-12-15", "amount_in_cents": 2000,
			"quantity": 2, "event_order": 3})
		li2, sub2 := added["uuid"].(string), added["subscription_uuid"].(string)
		if !strings.HasPrefix(li2, "li_") || !strings.HasPrefix(sub2, "sub_") {
			t.Fatalf("ids: %v", added)
		}
		want := fmt.Sprintf(`{"uuid":%q,"external_id":"li-2","type":"subscription","subscription_uuid":%q,
			"subscription_external_id":"sub_0002","plan_uuid":%q,"plan_external_id":"plan_0001","prorated":false,"proration_type":null,
			"service_period_start":"2015-11-15T00:00:00.000Z","service_period_end":"2015-12-15T00:00:00.000Z","description":null,
			"amount_in_cents":2000,"quantity":2,"discount_code":"","discount_amount_in_cents":0,"discount_description":null,
			"tax_amount_in_cents":0,"transaction_fees_in_cents":0,"transaction_fees_currency":null,"account_code":"","event_order":3,
			"balance_transfer":false,"disabled":false,"disabled_at":null,"disabled_by":null,"user_created":true}`, li2, sub2, pl)
		jsonEqual(t, e.do(e.key, "GET", "/v1/line_items/"+li2, nil).body, want)
		jsonEqual(t, e.do(e.key, "GET", "/v1/line_items?data_source_uuid="+ds+"&external_id=li-2", nil).body, `{"line_items":[`+want+`]}`)
		// Its invoice lists it after the imported line; a new
		// subscription was created on first sight, as an import does.
		lines := e.ok(200, "GET", "/v1/invoices/"+invUUID, nil)["line_items"].([]any)
		if len(lines) != 2 || lines[1].(map[string]any)["uuid"] != li2 || lines[0].(map[string]any)["user_created"] != false ||
			lines[1].(map[string]any)["user_created"] != true {
			t.Fatalf("invoice lines: %v", lines)
		}
		if subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any); len(subs) != 2 {
			t.Fatalf("subscriptions: %v", subs)
		}
		// A one-time line: no subscription fields, no plan_external_id.
		one := e.ok(201, "POST", add, map[string]any{"type": "one_time", "amount_in_cents": 500, "description": "Setup"})
		if _, ok := one["plan_external_id"]; ok || one["subscription_uuid"] != nil || one["description"] != "Setup" {
			t.Errorf("one-time line: %v", one)
		}

		// PATCH by UUID and by external id; each change is in the history.
		e.ok(200, "PATCH", "/v1/line_items/"+li2, map[string]any{"amount_in_cents": 2500})
		got := e.ok(200, "PATCH", "/v1/line_items?data_source_uuid="+ds+"&external_id=li-2", map[string]any{"quantity": 3,
			"service_period_end": "2015-12-20 00:00:00"})
		if got["amount_in_cents"] != 2500.0 || got["quantity"] != 3.0 || got["service_period_end"] != "2015-12-20T00:00:00.000Z" ||
			got["uuid"] != li2 || got["subscription_uuid"] != sub2 {
			t.Fatalf("after the edits: %v", got)
		}
		if _, ok := got["edit_history_summary"]; ok {
			t.Errorf("a summary without include_edit_histories: %v", got)
		}
		h := e.ok(200, "GET", "/v1/line_items/"+li2+"?include_edit_histories=true", nil)["edit_history_summary"].(map[string]any)
		if fmt.Sprint(h["values_changed"]) != "map[amount_in_cents:map[edited_value:2500 original_value:2000] "+
			"quantity:map[edited_value:3 original_value:2] "+
			"service_period_end:map[edited_value:2015-12-20T00:00:00.000Z original_value:2015-12-15T00:00:00.000Z]]" ||
			h["latest_edit_author"] != prefix || !editStamp.MatchString(h["latest_edit_performed_at"].(string)) {
			t.Errorf("edit history: %v", h)
		}
		// Never edited: an empty summary.
		jsonEqual(t, []byte(mustJSON(e.ok(200, "GET", "/v1/line_items/"+li1+"?include_edit_histories=true", nil)["edit_history_summary"])), `{}`)

		// Disabled: answered with its state; retrieve finds it only with
		// with_disabled=true; enabling by external id brings it back.
		d := e.ok(200, "PATCH", "/v1/line_items/"+li2+"/disabled_state", map[string]any{"disabled": true})
		if d["disabled"] != true || d["disabled_by"] != prefix || !editStamp.MatchString(fmt.Sprint(d["disabled_at"])) {
			t.Fatalf("disabled: %v", d)
		}
		jsonEqual(t, e.do(e.key, "GET", "/v1/line_items/"+li2, nil).body, `{"error":"Line item not found"}`)
		if r := e.do(e.key, "GET", "/v1/line_items?data_source_uuid="+ds+"&external_id=li-2", nil); r.status != 404 {
			t.Errorf("a disabled line by external id: %d", r.status)
		}
		if g := e.ok(200, "GET", "/v1/line_items/"+li2+"?with_disabled=true", nil); g["disabled"] != true || g["disabled_at"] != d["disabled_at"] {
			t.Errorf("with_disabled: %v", g)
		}
		// Disabling again keeps the first date and author.
		if again := e.ok(200, "PATCH", "/v1/line_items/"+li2+"/disabled_state", map[string]any{"disabled": true}); again["disabled_at"] != d["disabled_at"] {
			t.Errorf("disabled twice: %v", again)
		}
		en := e.ok(200, "PATCH", "/v1/line_items/disabled_state?data_source_uuid="+ds+"&external_id=li-2", map[string]any{"disabled": false})
		if en["disabled"] != false || en["disabled_at"] != nil || en["disabled_by"] != nil {
			t.Errorf("enabled: %v", en)
		}
		// Disabled and enabled again: no net change in the summary.
		if h := e.ok(200, "GET", "/v1/line_items/"+li2+"?include_edit_histories=true", nil)["edit_history_summary"].(map[string]any); len(h["values_changed"].(map[string]any)) != 3 {
			t.Errorf("history after disable/enable: %v", h)
		}

		// Refused writes change nothing.
		otherDS := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Other"})["uuid"].(string)
		foreignPlan := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": otherDS, "name": "Elsewhere",
			"interval_count": 1, "interval_unit": "month"})["uuid"].(string)
		bob := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "bob"})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+bob+"/invoices", invoices(seedInvoice("BOB-1", pl, "sub_bob")))
		before := storetest.Snapshot(t, e.store)
		sub := func(fields map[string]any) map[string]any {
			l := map[string]any{"type": "subscription", "subscription_external_id": "sub_0003", "plan_uuid": pl,
				"service_period_start": "2015-11-01", "service_period_end": "2015-12-01", "amount_in_cents": 100}
			for k, v := range fields {
				l[k] = v
			}
			return l
		}
		for _, tc := range []struct {
			method, path string
			body         any
			want         string
		}{
			{"POST", add, map[string]any{"type": "one_time"}, `{"errors":{"amount_in_cents":"Each line item needs an amount_in_cents."}}`},
			{"POST", add, sub(map[string]any{"type": "addon"}), `{"errors":{"type":"The line item: the type must be subscription, one_time or trial."}}`},
			{"POST", add, sub(map[string]any{"quantity": 0}), `{"errors":{"quantity":"The line item: the quantity must not be zero."}}`},
			{"POST", add, sub(map[string]any{"plan_uuid": nil}), `{"errors":{"plan_uuid":"The line item: a subscription line needs a plan_uuid."}}`},
			{"POST", add, sub(map[string]any{"service_period_start": "someday"}),
				`{"errors":{"service_period_start":"The date \"someday\" is not valid: use RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD."}}`},
			{"POST", add, sub(map[string]any{"amount_in_cents": "ten"}), ``},
			{"POST", add, sub(map[string]any{"plan_uuid": foreignPlan}),
				`{"errors":{"plan_uuid":"The line item: no plan ` + foreignPlan + ` in the invoice's data source."}}`},
			{"POST", add, sub(map[string]any{"subscription_external_id": "sub_bob"}),
				`{"errors":{"subscription_external_id":"The line item: subscription sub_bob belongs to another customer."}}`},
			{"POST", add, sub(map[string]any{"external_id": "li-1"}), `{"errors":{"external_id":"` + billing.MsgDuplicateLineItem + `"}}`},
			{"PATCH", "/v1/line_items/" + li2, map[string]any{"external_id": "li-1"}, `{"errors":{"external_id":"` + billing.MsgDuplicateLineItem + `"}}`},
			{"PATCH", "/v1/line_items/" + li2, map[string]any{"plan_uuid": foreignPlan},
				`{"errors":{"plan_uuid":"The line item: no plan ` + foreignPlan + ` in the invoice's data source."}}`},
			{"PATCH", "/v1/line_items/" + li2, map[string]any{"subscription_external_id": "sub_bob"},
				`{"errors":{"subscription_external_id":"The line item: subscription sub_bob belongs to another customer."}}`},
			{"PATCH", "/v1/line_items/" + li2, map[string]any{"amount_in_cents": nil}, `{"errors":{"amount_in_cents":"Each line item needs an amount_in_cents."}}`},
			{"PATCH", "/v1/line_items/" + li2, map[string]any{"service_period_end": "2015-11-15"},
				`{"errors":{"service_period_end":"The line item: service_period_end must come at least one second after service_period_start."}}`},
			{"PATCH", "/v1/line_items/" + li2 + "/disabled_state", map[string]any{}, `{"errors":{"disabled":"Send disabled: true to disable, false to enable."}}`},
			{"PATCH", "/v1/line_items/" + li2 + "/disabled_state", map[string]any{"disabled": "yes"}, ``},
		} {
			r := e.do(e.key, tc.method, tc.path, tc.body)
			if r.status != 422 {
				t.Errorf("%s %s %v: %d %s", tc.method, tc.path, tc.body, r.status, r.body)
				continue
			}
			if tc.want != "" {
				jsonEqual(t, r.body, tc.want)
			}
		}
		// Named by neither a UUID nor both of data_source_uuid and
		// external_id: 400 naming what is missing, as for invoices.
		jsonEqual(t, e.do(e.key, "PATCH", "/v1/line_items?data_source_uuid="+ds, map[string]any{"quantity": 2}).body,
			`{"code":400,"message":"Name the line item by its UUID in the path, or by data_source_uuid and external_id in the query; external_id is missing.","param":"external_id"}`)
		for _, tc := range [][2]string{{"DELETE", "/v1/line_items"}, {"GET", "/v1/line_items?external_id=li-2"},
			{"PATCH", "/v1/line_items/disabled_state?external_id=li-2"}} {
			if r := e.do(e.key, tc[0], tc[1], map[string]any{"disabled": true}); r.status != 400 || !strings.Contains(string(r.body), `"param":"data_source_uuid"`) {
				t.Errorf("%s %s: %d %s", tc[0], tc[1], r.status, r.body)
			}
		}
		// Unknown, foreign and read-only: 404 and 403.
		for _, tc := range []struct {
			key, method, path string
			body              any
			status            int
		}{
			{e.key, "GET", "/v1/line_items/li_00000000-0000-0000-0000-000000000000", nil, 404},
			{e.key, "PATCH", "/v1/line_items/li_00000000-0000-0000-0000-000000000000", map[string]any{"quantity": 2}, 404},
			{e.key, "DELETE", "/v1/line_items/li_00000000-0000-0000-0000-000000000000", nil, 404},
			{e.key, "PATCH", "/v1/line_items/li_00000000-0000-0000-0000-000000000000/disabled_state", map[string]any{"disabled": true}, 404},
			{e.key, "GET", "/v1/line_items?data_source_uuid=" + ds + "&external_id=nope", nil, 404},
			{e.key, "GET", "/v1/line_items?data_source_uuid=" + otherDS + "&external_id=li-2", nil, 404},
			{e.key, "POST", "/v1/import/invoices/inv_00000000-0000-0000-0000-000000000000/line_items", sub(nil), 404},
			{e.otherKey, "GET", "/v1/line_items/" + li2, nil, 404},
			{e.otherKey, "GET", "/v1/line_items?data_source_uuid=" + ds + "&external_id=li-2", nil, 404},
			{e.otherKey, "PATCH", "/v1/line_items/" + li2, map[string]any{"quantity": 2}, 404},
			{e.otherKey, "PATCH", "/v1/line_items?data_source_uuid=" + ds + "&external_id=li-2", map[string]any{"quantity": 2}, 404},
			{e.otherKey, "DELETE", "/v1/line_items/" + li2, nil, 404},
			{e.otherKey, "PATCH", "/v1/line_items/" + li2 + "/disabled_state", map[string]any{"disabled": true}, 404},
			{e.otherKey, "POST", add, sub(nil), 404},
			{e.readKey, "POST", add, sub(nil), 403},
			{e.readKey, "PATCH", "/v1/line_items/" + li2, map[string]any{"quantity": 2}, 403},
			{e.readKey, "DELETE", "/v1/line_items/" + li2, nil, 403},
			{e.readKey, "PATCH", "/v1/line_items/" + li2 + "/disabled_state", map[string]any{"disabled": true}, 403},
			{e.readKey, "DELETE", "/v1/line_items?data_source_uuid=" + ds + "&external_id=li-2", nil, 403},
		} {
			if r := e.do(tc.key, tc.method, tc.path, tc.body); r.status != tc.status {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.body)
			}
		}
		if e.do(e.readKey, "GET", "/v1/line_items/"+li2, nil).status != 200 {
			t.Error("a read key cannot read a line item")
		}
		if storetest.Snapshot(t, e.store) != before {
			t.Fatal("a refused request changed the database")
		}

		// DELETE removes the line and the subscription it leaves without
		// lines; an invoice's last line stays.
		e.ok(204, "DELETE", "/v1/line_items/"+li2, nil)
		if r := e.do(e.key, "GET", "/v1/line_items/"+li2+"?with_disabled=true", nil); r.status != 404 {
			t.Errorf("deleted line: %d", r.status)
		}
		if subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any); len(subs) != 1 ||
			subs[0].(map[string]any)["external_id"] != "sub_0001" {
			t.Errorf("subscriptions after the delete: %v", subs)
		}
		e.ok(204, "DELETE", "/v1/line_items?data_source_uuid="+ds+"&external_id=li-1", nil)
		jsonEqual(t, e.do(e.key, "DELETE", "/v1/line_items/"+one["uuid"].(string), nil).body,
			`{"errors":{"line_items":"An invoice needs at least one line item: this is its last one; delete the invoice instead."}}`)
		if n := len(e.ok(200, "GET", "/v1/invoices/"+invUUID, nil)["line_items"].([]any)); n != 1 {
			t.Errorf("lines left: %d", n)
		}
	})
}

// The transaction routes (issue 13, reference/transactions/*) on both
// stores.
func TestTransactionRoutes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		first := seedInvoice("INV-1", pl, "sub_0001")
		first["transactions"] = []any{map[string]any{"date": "2015-11-05 00:14:23", "type": "payment", "result": "successful", "external_id": "tr-1"}}
		inv := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(first))["invoices"].([]any)[0].(map[string]any)
		invUUID := inv["uuid"].(string)
		tr1 := inv["transactions"].([]any)[0].(map[string]any)["uuid"].(string)
		prefix := auth.Prefix(e.key)
		added := e.ok(201, "POST", "/v1/import/invoices/"+invUUID+"/transactions", map[string]any{"type": "refund", "result": "successful",
			"date": "2015-11-20", "amount_in_cents": 1500, "external_id": "tr-2"})
		tr2 := added["uuid"].(string)

		want := fmt.Sprintf(`{"uuid":%q,"external_id":"tr-2","type":"refund","date":"2015-11-20T00:00:00.000Z","result":"successful",
			"amount_in_cents":1500,"transaction_fees_in_cents":null,"transaction_fees_currency":null,"disabled":false,"disabled_at":null,
			"disabled_by":null,"user_created":true}`, tr2)
		jsonEqual(t, e.do(e.key, "GET", "/v1/transactions/"+tr2, nil).body, want)
		jsonEqual(t, e.do(e.key, "GET", "/v1/transactions?data_source_uuid="+ds+"&external_id=tr-2", nil).body, `{"transactions":[`+want+`]}`)
		if g := e.ok(200, "GET", "/v1/transactions/"+tr1, nil); g["user_created"] != false || g["external_id"] != "tr-1" {
			t.Errorf("imported transaction: %v", g)
		}

		// PATCH by UUID and by external id, recorded in the history.
		e.ok(200, "PATCH", "/v1/transactions/"+tr2, map[string]any{"amount_in_cents": 1000})
		got := e.ok(200, "PATCH", "/v1/transactions?data_source_uuid="+ds+"&external_id=tr-2", map[string]any{"result": "failed",
			"date": "2015-11-21 10:00:00", "transaction_fees_in_cents": 30, "transaction_fees_currency": "eur"})
		if got["amount_in_cents"] != 1000.0 || got["result"] != "failed" || got["date"] != "2015-11-21T10:00:00.000Z" ||
			got["transaction_fees_currency"] != "EUR" || got["uuid"] != tr2 || got["type"] != "refund" {
			t.Fatalf("after the edits: %v", got)
		}
		h := e.ok(200, "GET", "/v1/transactions/"+tr2+"?include_edit_histories=true", nil)["edit_history_summary"].(map[string]any)
		if fmt.Sprint(h["values_changed"]) != "map[amount_in_cents:map[edited_value:1000 original_value:1500] "+
			"date:map[edited_value:2015-11-21T10:00:00.000Z original_value:2015-11-20T00:00:00.000Z] "+
			"result:map[edited_value:failed original_value:successful] "+
			"transaction_fees_currency:map[edited_value:EUR original_value:<nil>] "+
			"transaction_fees_in_cents:map[edited_value:30 original_value:<nil>]]" ||
			h["latest_edit_author"] != prefix || !editStamp.MatchString(h["latest_edit_performed_at"].(string)) {
			t.Errorf("edit history: %v", h)
		}
		// A partial amount back to none (the invoice's total).
		if g := e.ok(200, "PATCH", "/v1/transactions/"+tr2, map[string]any{"amount_in_cents": nil}); g["amount_in_cents"] != nil {
			t.Errorf("amount cleared: %v", g)
		}

		// Disabled and enabled, by UUID and by external id.
		d := e.ok(200, "PATCH", "/v1/transactions/disabled_state?data_source_uuid="+ds+"&external_id=tr-1", map[string]any{"disabled": true})
		if d["disabled"] != true || d["disabled_by"] != prefix || !editStamp.MatchString(fmt.Sprint(d["disabled_at"])) || d["uuid"] != tr1 {
			t.Fatalf("disabled: %v", d)
		}
		jsonEqual(t, e.do(e.key, "GET", "/v1/transactions/"+tr1, nil).body, `{"error":"Transaction not found"}`)
		if g := e.ok(200, "GET", "/v1/transactions?data_source_uuid="+ds+"&external_id=tr-1&with_disabled=true", nil)["transactions"].([]any); g[0].(map[string]any)["disabled"] != true {
			t.Errorf("with_disabled: %v", g)
		}
		if en := e.ok(200, "PATCH", "/v1/transactions/"+tr1+"/disabled_state", map[string]any{"disabled": false}); en["disabled"] != false || en["disabled_at"] != nil {
			t.Errorf("enabled: %v", en)
		}

		// A transaction of an invoice in another currency needs the rate
		// of its date, as an import does (metrics.md rule 20).
		if err := e.store.SaveFXRates(t.Context(), []store.FXRate{{Currency: "USD", Day: time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC), PerEUR: "1.0887"}}); err != nil {
			t.Fatal(err)
		}
		eur := map[string]any{"external_id": "INV-EUR", "date": "2016-01-01", "currency": "EUR", "line_items": []any{
			map[string]any{"type": "one_time", "amount_in_cents": 1000}},
			"transactions": []any{map[string]any{"date": "2016-01-01", "type": "payment", "result": "successful", "external_id": "tr-eur"}}}
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(eur))

		otherDS := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Other"})["uuid"].(string)
		before := storetest.Snapshot(t, e.store)
		for _, tc := range []struct {
			path string
			body any
			want string
		}{
			{"/v1/transactions/" + tr2, map[string]any{"type": "chargeback"}, `{"errors":{"type":"the transaction: the type must be payment or refund."}}`},
			{"/v1/transactions/" + tr2, map[string]any{"result": nil}, `{"errors":{"result":"the transaction: the result must be successful or failed."}}`},
			{"/v1/transactions/" + tr2, map[string]any{"date": nil}, `{"errors":{"date":"the transaction: a date is required."}}`},
			{"/v1/transactions/" + tr2, map[string]any{"date": "2015-02-30"}, ``},
			{"/v1/transactions/" + tr2, map[string]any{"amount_in_cents": -1}, `{"errors":{"amount_in_cents":"the transaction: the amount must not be negative."}}`},
			{"/v1/transactions/" + tr2, map[string]any{"external_id": "tr-1"}, `{"errors":{"external_id":"has already been taken"}}`},
			{"/v1/transactions?data_source_uuid=" + ds + "&external_id=tr-eur", map[string]any{"date": "2012-01-01"},
				`{"errors":{"currency":"No EUR→USD exchange rate for 2012-01-01: load rates with ` + "`tally fx import`" + `."}}`},
			{"/v1/transactions/" + tr2 + "/disabled_state", map[string]any{}, `{"errors":{"disabled":"Send disabled: true to disable, false to enable."}}`},
		} {
			r := e.do(e.key, "PATCH", tc.path, tc.body)
			if r.status != 422 {
				t.Errorf("PATCH %s %v: %d %s", tc.path, tc.body, r.status, r.body)
				continue
			}
			if tc.want != "" {
				jsonEqual(t, r.body, tc.want)
			}
		}
		jsonEqual(t, e.do(e.key, "PATCH", "/v1/transactions?external_id=tr-2", map[string]any{"result": "failed"}).body,
			`{"code":400,"message":"Name the transaction by its UUID in the path, or by data_source_uuid and external_id in the query; data_source_uuid is missing.","param":"data_source_uuid"}`)
		for _, tc := range []struct {
			key, method, path string
			body              any
			status            int
		}{
			{e.key, "GET", "/v1/transactions/tr_00000000-0000-0000-0000-000000000000", nil, 404},
			{e.key, "PATCH", "/v1/transactions/tr_00000000-0000-0000-0000-000000000000", map[string]any{"result": "failed"}, 404},
			{e.key, "DELETE", "/v1/transactions/tr_00000000-0000-0000-0000-000000000000", nil, 404},
			{e.key, "PATCH", "/v1/transactions/tr_00000000-0000-0000-0000-000000000000/disabled_state", map[string]any{"disabled": true}, 404},
			{e.key, "GET", "/v1/transactions?data_source_uuid=" + ds + "&external_id=nope", nil, 404},
			{e.key, "DELETE", "/v1/transactions?data_source_uuid=" + otherDS + "&external_id=tr-2", nil, 404},
			{e.otherKey, "GET", "/v1/transactions/" + tr2, nil, 404},
			{e.otherKey, "GET", "/v1/transactions?data_source_uuid=" + ds + "&external_id=tr-2", nil, 404},
			{e.otherKey, "PATCH", "/v1/transactions/" + tr2, map[string]any{"result": "failed"}, 404},
			{e.otherKey, "DELETE", "/v1/transactions?data_source_uuid=" + ds + "&external_id=tr-2", nil, 404},
			{e.otherKey, "PATCH", "/v1/transactions/" + tr2 + "/disabled_state", map[string]any{"disabled": true}, 404},
			{e.readKey, "PATCH", "/v1/transactions/" + tr2, map[string]any{"result": "failed"}, 403},
			{e.readKey, "DELETE", "/v1/transactions/" + tr2, nil, 403},
			{e.readKey, "PATCH", "/v1/transactions/disabled_state?data_source_uuid=" + ds + "&external_id=tr-2", map[string]any{"disabled": true}, 403},
		} {
			if r := e.do(tc.key, tc.method, tc.path, tc.body); r.status != tc.status {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.body)
			}
		}
		if storetest.Snapshot(t, e.store) != before {
			t.Fatal("a refused request changed the database")
		}

		e.ok(204, "DELETE", "/v1/transactions/"+tr2, nil)
		e.ok(204, "DELETE", "/v1/transactions?data_source_uuid="+ds+"&external_id=tr-1", nil)
		if n := len(e.ok(200, "GET", "/v1/invoices/"+invUUID, nil)["transactions"].([]any)); n != 0 {
			t.Errorf("transactions left: %d", n)
		}
		if r := e.do(e.key, "GET", "/v1/transactions/"+tr1+"?with_disabled=true", nil); r.status != 404 {
			t.Errorf("deleted transaction: %d", r.status)
		}
	})
}
