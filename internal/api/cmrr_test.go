package api

import (
	"fmt"
	"testing"
)

// Committed MRR by hand, and the property that once every scheduled
// change is invoiced committed MRR equals MRR.
func TestCommittedMRR(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0001"})["uuid"].(string)
		plan := func(name, unit string) string {
			return e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": name, "external_id": name,
				"interval_unit": unit, "interval_count": 1})["uuid"].(string)
		}
		basic, addon := plan("basic", "month"), plan("addon", "year")
		line := func(sub, pl, start, end string, amount int) map[string]any {
			return map[string]any{"type": "subscription", "subscription_external_id": sub, "plan_uuid": pl,
				"service_period_start": start, "service_period_end": end, "amount_in_cents": amount}
		}
		inv := func(ext, date string, l map[string]any) map[string]any {
			return map[string]any{"external_id": ext, "date": date, "currency": "USD", "line_items": []any{l}}
		}
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(inv("I1", "2024-01-01", line("sub_0001", basic, "2024-01-01", "2024-02-01", 10000))))
		sched := func(ext, typ, sub, effective string, extra map[string]any) map[string]any {
			f := map[string]any{"external_id": ext, "event_type": typ, "subscription_external_id": sub, "event_date": "2024-02-15",
				"effective_date": effective}
			for k, v := range extra {
				f[k] = v
			}
			return e.ok(201, "POST", "/v1/subscription_events", event(ds, f))
		}
		e1 := sched("e1", "subscription_update_scheduled", "sub_0001", "2024-03-01", map[string]any{"amount_in_cents": 15000, "plan_external_id": "basic", "currency": "USD"})
		sched("e2", "subscription_start_scheduled", "addon_0001", "2024-04-01", map[string]any{"amount_in_cents": 60000, "plan_external_id": "addon", "currency": "USD"})
		sched("e3", "subscription_cancellation_scheduled", "sub_0001", "2024-06-01", nil)
		e4 := sched("e4", "subscription_update_scheduled", "sub_0001", "2024-05-01", map[string]any{"amount_in_cents": 99999, "plan_external_id": "basic", "currency": "USD"})
		e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"external_id": "r4", "event_type": "subscription_event_retracted",
			"subscription_external_id": "sub_0001", "retracted_event_id": e4["id"]}))

		q := "/v1/metrics/cmrr?start-date=2024-01-01&end-date=2024-06-30&interval=month"
		body := e.ok(200, "GET", q, nil)
		// Invoiced MRR: 10000 throughout (good faith). Committed:
		//   Mar: e1 sets sub_0001 to 15000 (+5000 expansion)
		//   Apr: e2 starts addon at 60000 / 12 = 5000 (+5000 expansion): 20000
		//   May: e4 is retracted: still 20000
		//   Jun: e3 cancels sub_0001 (−15000 contraction; addon stays): 5000
		wantRows := [][]float64{{10000, 10000, 0, 0}, {10000, 10000, 0, 0}, {15000, 10000, 5000, 0}, {20000, 10000, 5000, 0},
			{20000, 10000, 0, 0}, {5000, 10000, 0, -15000}}
		if n := len(body["entries"].([]any)); n != len(wantRows) {
			t.Fatalf("%d entries, want %d", n, len(wantRows))
		}
		for i, x := range body["entries"].([]any) {
			m := x.(map[string]any)
			w := wantRows[i]
			if m["cmrr"] != w[0] || m["mrr"] != w[1] || m["scheduled-expansion"] != w[2] || m["scheduled-contraction"] != w[3] {
				t.Errorf("entry %s: %v, want cmrr %v mrr %v expansion %v contraction %v", m["date"], m, w[0], w[1], w[2], w[3])
			}
		}
		if n := len(body["scheduled"].([]any)); n != 3 {
			t.Errorf("%d scheduled movements, want 3: %v", n, body["scheduled"])
		} else if ids := body["scheduled"].([]any)[0].(map[string]any)["subscription-event-ids"]; fmt.Sprint(ids) != fmt.Sprintf("[%.0f]", e1["id"]) {
			t.Errorf("the first scheduled movement names events %v, want e1's public id %.0f", ids, e1["id"])
		}
		expect(t, body["summary"].(map[string]any), map[string]float64{"current-cmrr": 5000, "current-mrr": 10000, "committed-change": -5000})

		// Invoice every change: committed MRR is then MRR, entry by entry.
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(
			inv("I2", "2024-03-01", line("sub_0001", basic, "2024-03-01", "2024-04-01", 15000)),
			inv("I3", "2024-04-01", line("addon_0001", addon, "2024-04-01", "2025-04-01", 60000))))
		subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)
		for _, s := range subs {
			if s.(map[string]any)["external_id"] == "sub_0001" {
				e.ok(202, "PATCH", "/v1/import/subscriptions/"+s.(map[string]any)["uuid"].(string), map[string]any{"cancelled_at": "2024-06-01"})
			}
		}
		body = e.ok(200, "GET", q, nil)
		var got []string
		for _, x := range body["entries"].([]any) {
			m := x.(map[string]any)
			if m["cmrr"] != m["mrr"] {
				t.Errorf("%s: cmrr %v ≠ mrr %v once invoiced", m["date"], m["cmrr"], m["mrr"])
			}
			got = append(got, fmt.Sprint(m["mrr"]))
		}
		if fmt.Sprint(got) != "[10000 10000 15000 20000 20000 5000]" || len(body["scheduled"].([]any)) != 0 {
			t.Errorf("after invoicing: %v, scheduled %v", got, body["scheduled"])
		}
		if r := e.do(e.key, "GET", "/v1/metrics/cmrr?start-date=2024-01-01", nil); r.status != 400 {
			t.Errorf("missing end-date: %d", r.status)
		}
	})
}
