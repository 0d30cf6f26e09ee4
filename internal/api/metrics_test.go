package api

import "testing"

// syncalytics imports G2 (metrics-reference.md §9) through the API.
func syncalytics(t *testing.T, e *env) (ds, cus string, plans map[string]string) {
	t.Helper()
	ds = e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Syncalytics billing"})["uuid"].(string)
	cus = e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "syncalytics", "country": "US"})["uuid"].(string)
	plans = map[string]string{}
	for name, iv := range map[string][2]any{"Gold yearly": {"year", 1}, "Silver": {"month", 1}, "Gold monthly": {"month", 1}} {
		plans[name] = e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": name, "interval_unit": iv[0],
			"interval_count": iv[1]})["uuid"].(string)
	}
	lineOf := func(sub, plan, start, end string, amount int, extra map[string]any) map[string]any {
		l := map[string]any{"type": "subscription", "subscription_external_id": sub, "plan_uuid": plans[plan],
			"service_period_start": start, "service_period_end": end, "amount_in_cents": amount}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	inv := func(ext, date string, l map[string]any) map[string]any {
		return map[string]any{"external_id": ext, "date": date, "currency": "USD", "line_items": []any{l}}
	}
	e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(
		inv("S1", "2024-01-01", lineOf("gold-yearly", "Gold yearly", "2024-01-01", "2025-01-01", 200000, nil)),
		inv("S2", "2024-01-05", lineOf("silver", "Silver", "2024-01-05", "2024-02-05", 6000, map[string]any{"cancelled_at": "2024-01-19"})),
		inv("S3", "2025-03-01", lineOf("gold-monthly", "Gold monthly", "2025-03-01", "2025-04-01", 15000, nil)),
	))
	subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)
	e.ok(202, "PATCH", "/v1/import/subscriptions/"+subs[0].(map[string]any)["uuid"].(string), map[string]any{"cancelled_at": "2025-01-01"})
	return ds, cus, plans
}

func entryAt(t *testing.T, body map[string]any, date string) map[string]any {
	t.Helper()
	for _, x := range body["entries"].([]any) {
		if m := x.(map[string]any); m["date"] == date {
			return m
		}
	}
	t.Fatalf("no entry %s in %v", date, body["entries"])
	return nil
}

func expect(t *testing.T, m map[string]any, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if got, ok := m[k].(float64); !ok || got != v {
			t.Errorf("%s: %s = %v, want %v", m["date"], k, m[k], v)
		}
	}
}

func TestMetricsAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, _, plans := syncalytics(t, e)
		q := "?start-date=2024-01-01&end-date=2025-03-31&interval=month&as-of=2025-03-15"
		all := e.ok(200, "GET", "/v1/metrics/all"+q, nil)
		if n := len(all["entries"].([]any)); n != 15 {
			t.Fatalf("%d entries, want 15", n)
		}
		// January 2024: Gold's 200000/12 = 16667 (Silver came and went);
		// ARR 12 × 16667 = 200004; one customer; ASP 16667/1.
		expect(t, entryAt(t, all, "2024-01-31"), map[string]float64{"mrr": 16667, "arr": 200004, "customers": 1, "arpa": 16667,
			"asp": 16667, "customer-churn-rate": 0, "mrr-churn-rate": 0, "ltv": 0, "mrr-percentage-change": 0})
		// January 2025: churn of the one customer, 1/1 and 16667/16667: 100 %;
		// MRR change from 16667 to 0: −100 %.
		expect(t, entryAt(t, all, "2025-01-31"), map[string]float64{"mrr": 0, "customers": 0, "customer-churn-rate": 100,
			"mrr-churn-rate": 100, "mrr-percentage-change": -100, "customers-percentage-change": -100})
		// March 2025: the reactivation: 15000, no new customer so ASP 0.
		expect(t, entryAt(t, all, "2025-03-31"), map[string]float64{"mrr": 15000, "customers": 1, "arpa": 15000, "asp": 0})
		// Summary: as of 2025-03-15 against 2025-02-15 for stocks; churn
		// rates and LTV from the last two entries (March 0, February 0).
		s := all["summary"].(map[string]any)
		for k, v := range map[string]float64{"current-mrr": 15000, "previous-mrr": 0, "mrr-percentage-change": 0,
			"current-arr": 180000, "current-customers": 1, "previous-customers": 0, "current-arpa": 15000,
			"current-asp": 0, "current-customer-churn-rate": 0, "previous-customer-churn-rate": 0} {
			if s[k] != v {
				t.Errorf("summary %s = %v, want %v", k, s[k], v)
			}
		}
		mrr := e.ok(200, "GET", "/v1/metrics/mrr"+q, nil)
		expect(t, entryAt(t, mrr, "2024-01-31"), map[string]float64{"mrr": 16667, "mrr-new-business": 16667, "mrr-expansion": 6000,
			"mrr-contraction": -6000, "mrr-churn": 0, "mrr-reactivation": 0, "percentage-change": 0})
		expect(t, entryAt(t, mrr, "2025-03-31"), map[string]float64{"mrr-reactivation": 15000, "percentage-change": 0})
		if sm := mrr["summary"].(map[string]any); sm["current"] != 15000.0 || sm["previous"] != 0.0 {
			t.Errorf("mrr summary: %v", sm)
		}
		for name, key := range map[string]string{"arr": "arr", "arpa": "arpa", "asp": "asp", "customer-count": "customers",
			"customer-churn-rate": "customer-churn-rate", "mrr-churn-rate": "mrr-churn-rate", "ltv": "ltv"} {
			m := e.ok(200, "GET", "/v1/metrics/"+name+q, nil)
			first := m["entries"].([]any)[0].(map[string]any)
			if _, ok := first[key]; !ok || first["percentage-change"] != 0.0 || m["summary"].(map[string]any)["current"] == nil {
				t.Errorf("/metrics/%s: %v", name, first)
			}
		}
		// Filters: the customer is in the US; a plans filter on Gold yearly
		// leaves out Silver's expansion and the Gold monthly reactivation.
		if v := entryAt(t, e.ok(200, "GET", "/v1/metrics/mrr"+q+"&geo=GB,FR", nil), "2024-01-31")["mrr"]; v != 0.0 {
			t.Errorf("geo GB,FR: %v", v)
		}
		if v := entryAt(t, e.ok(200, "GET", "/v1/metrics/mrr"+q+"&geo=us", nil), "2024-01-31")["mrr"]; v != 16667.0 {
			t.Errorf("geo US: %v", v)
		}
		gold := e.ok(200, "GET", "/v1/metrics/mrr"+q+"&plans=Gold+yearly", nil)
		expect(t, entryAt(t, gold, "2024-01-31"), map[string]float64{"mrr": 16667, "mrr-expansion": 0, "mrr-contraction": 0})
		expect(t, entryAt(t, gold, "2025-03-31"), map[string]float64{"mrr": 0, "mrr-reactivation": 0})
		// By UUID, and two plans: Gold yearly and Silver.
		both := e.ok(200, "GET", "/v1/metrics/mrr"+q+"&plans="+plans["Gold yearly"]+","+plans["Silver"], nil)
		expect(t, entryAt(t, both, "2024-01-31"), map[string]float64{"mrr-expansion": 6000, "mrr-contraction": -6000})

		for _, bad := range []string{"?end-date=2024-02-01", "?start-date=2024-01-01", "?start-date=2024-03-01&end-date=2024-01-01",
			"?start-date=soon&end-date=2024-01-01", "?start-date=2024-01-01&end-date=2024-02-01&interval=fortnight",
			"?start-date=2024-01-01&end-date=2024-02-01&geo=XX", "?start-date=2024-01-01&end-date=2024-02-01&plans=Platinum"} {
			r := e.do(e.key, "GET", "/v1/metrics/all"+bad, nil)
			if r.status != 400 || r.json(t)["param"] == nil {
				t.Errorf("%s: %d %s", bad, r.status, r.body)
			}
		}
		if r := e.do(e.key, "GET", "/v1/metrics/happiness"+q, nil); r.status != 404 {
			t.Errorf("unknown metric: %d", r.status)
		}
		// Another account sees none of it.
		if v := entryAt(t, e.do(e.otherKey, "GET", "/v1/metrics/mrr"+q, nil).json(t), "2024-01-31")["mrr"]; v != 0.0 {
			t.Errorf("other account's MRR: %v", v)
		}
	})
}
