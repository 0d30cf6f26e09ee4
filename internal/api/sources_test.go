package api

import (
	"fmt"
	"strings"
	"testing"
)

// Traceable movements: every activity names what caused it, the sources
// endpoint returns those objects in full, and the reconciliation agrees
// three ways.
func TestActivitySourcesAndReconciliation(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0001"})["uuid"].(string)
		plan := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Basic", "interval_unit": "month",
			"interval_count": 1})["uuid"].(string)
		inv := func(ext, sub, start, end string, amount int) map[string]any {
			return map[string]any{"external_id": ext, "date": start, "currency": "USD", "line_items": []any{map[string]any{
				"type": "subscription", "subscription_external_id": sub, "plan_uuid": plan, "external_id": ext + "-line",
				"service_period_start": start, "service_period_end": end, "amount_in_cents": amount}}}
		}
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(
			inv("I1", "sub_0001", "2024-01-01", "2024-02-01", 5000),
			inv("I3", "sub_0002", "2024-01-10", "2024-02-10", 2000),
			inv("I2", "sub_0001", "2024-02-01", "2024-03-01", 8000)))
		ev := e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"external_id": "cancel-2",
			"subscription_external_id": "sub_0002", "event_type": "subscription_cancelled", "event_date": "2024-02-20",
			"effective_date": "2024-02-20"}))
		subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)
		var sub1 string
		for _, s := range subs {
			if s.(map[string]any)["external_id"] == "sub_0001" {
				sub1 = s.(map[string]any)["uuid"].(string)
			}
		}
		e.ok(202, "PATCH", "/v1/import/subscriptions/"+sub1, map[string]any{"cancelled_at": "2024-03-15"})

		acts := e.ok(200, "GET", "/v1/customers/"+cus+"/activities", nil)["entries"].([]any)
		// 01-01 +5000 (I1), 01-10 +2000 (I3), 02-01 +3000 (I2: 8000 − 5000),
		// 02-20 −2000 (the event), 03-15 −8000 (the PATCH cancellation).
		var got []string
		byDate := map[string]map[string]any{}
		for _, x := range acts {
			a := x.(map[string]any)
			d := a["date"].(string)[:10]
			byDate[d] = a
			src := a["sources"].([]any)[0].(map[string]any)
			got = append(got, fmt.Sprintf("%s %s %v %s", d, a["type"], a["activity-mrr-movement"], src["type"]))
		}
		want := "2024-01-01 new_biz 5000 line_item|2024-01-10 expansion 2000 line_item|2024-02-01 expansion 3000 line_item|" +
			"2024-02-20 contraction -2000 subscription_event|2024-03-15 churn -8000 cancellation"
		if strings.Join(got, "|") != want {
			t.Fatalf("activities:\n%s\nwant\n%s", strings.Join(got, "|"), want)
		}
		// The expansion of 02-01 traces to invoice I2 and its line, in full.
		s := e.ok(200, "GET", "/v1/activities/"+byDate["2024-02-01"]["uuid"].(string)+"/sources", nil)
		src := s["sources"].([]any)[0].(map[string]any)
		i2 := s["invoices"].(map[string]any)[src["invoice_uuid"].(string)].(map[string]any)
		if i2["external_id"] != "I2" || i2["line_items"].([]any)[0].(map[string]any)["uuid"] != src["line_item_uuid"] ||
			s["activity"].(map[string]any)["customer-uuid"] != cus {
			t.Errorf("sources of the expansion: %v", s)
		}
		// The contraction traces to the subscription_cancelled event, by
		// its public id in the activity's list as in the resolved source.
		if ref := byDate["2024-02-20"]["sources"].([]any)[0].(map[string]any); ref["id"] != fmt.Sprintf("%.0f", ev["id"]) {
			t.Errorf("the contraction's source id %v, want the event's %.0f", ref["id"], ev["id"])
		}
		s = e.ok(200, "GET", "/v1/activities/"+byDate["2024-02-20"]["uuid"].(string)+"/sources", nil)
		if got := s["sources"].([]any)[0].(map[string]any)["subscription_event"].(map[string]any); got["id"] != ev["id"] {
			t.Errorf("sources of the contraction: %v", s)
		}
		// The churn traces to the PATCH cancellation of sub_0001.
		s = e.ok(200, "GET", "/v1/activities/"+byDate["2024-03-15"]["uuid"].(string)+"/sources", nil)
		c := s["sources"].([]any)[0].(map[string]any)["cancellation"].(map[string]any)
		if c["subscription_uuid"] != sub1 || c["via"] != "subscription" || !strings.HasPrefix(c["cancelled_at"].(string), "2024-03-15") {
			t.Errorf("sources of the churn: %v", s)
		}
		// Unknown, and another account's: 404 in ChartMogul's shape.
		for _, key := range []string{e.key, e.otherKey} {
			r := e.do(key, "GET", "/v1/activities/"+byDate["2024-03-15"]["uuid"].(string)+"x/sources", nil)
			if key == e.otherKey {
				r = e.do(key, "GET", "/v1/activities/"+byDate["2024-03-15"]["uuid"].(string)+"/sources", nil)
			}
			if r.status != 404 || r.json(t)["error"] == nil {
				t.Errorf("unknown activity: %d %s", r.status, r.body)
			}
		}
		// On 2024-02-25: sub_0001 8000 + sub_0002 0 (cancelled 02-20) = 8000;
		// movements 5000 + 2000 + 3000 − 2000 = 8000; stored the same.
		rec := e.ok(200, "GET", "/v1/customers/"+cus+"/reconciliation?date=2024-02-25", nil)
		expect(t, rec, map[string]float64{"mrr": 8000, "subscriptions-mrr": 8000, "movements-mrr": 8000, "fx-revaluation": 0,
			"stored-mrr": 8000, "stored-movements": 8000})
		if rec["consistent"] != true {
			t.Errorf("reconciliation: %v", rec)
		}
		// After the churn: 0 every way.
		rec = e.ok(200, "GET", "/v1/customers/"+cus+"/reconciliation?date=2024-04-01", nil)
		expect(t, rec, map[string]float64{"mrr": 0, "subscriptions-mrr": 0, "movements-mrr": 0, "stored-mrr": 0})
		if r := e.do(e.key, "GET", "/v1/customers/"+cus+"/reconciliation?date=soon", nil); r.status != 400 {
			t.Errorf("bad date: %d", r.status)
		}
		if r := e.do(e.otherKey, "GET", "/v1/customers/"+cus+"/reconciliation", nil); r.status != 404 {
			t.Errorf("other account: %d", r.status)
		}
	})
}
