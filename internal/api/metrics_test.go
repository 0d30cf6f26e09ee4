package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store"
)

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
		// ChartMogul's entry as is, and Tally's net new MRR when asked.
		plain := entryAt(t, e.ok(200, "GET", "/v1/metrics/mrr"+q, nil), "2024-01-31")
		if _, ok := plain["net-new-mrr"]; ok || len(plain) != 8 {
			t.Errorf("ChartMogul's mrr entry changed: %v", plain)
		}
		e.ok(400, "GET", "/v1/metrics/mrr"+q+"&with_net_new=1", nil)
		mrr := e.ok(200, "GET", "/v1/metrics/mrr"+q+"&with_net_new=true", nil)
		// Net new MRR (Tally's own) is the five together: 16667 + 6000 −
		// 6000 = 16667, the whole MRR change from nothing.
		expect(t, entryAt(t, mrr, "2024-01-31"), map[string]float64{"mrr": 16667, "mrr-new-business": 16667, "mrr-expansion": 6000,
			"mrr-contraction": -6000, "mrr-churn": 0, "mrr-reactivation": 0, "percentage-change": 0, "net-new-mrr": 16667})
		// January 2025: the churn, −16667; February nothing; March the
		// reactivation, 15000: from 0 the change is 0 by rule, from
		// −16667 to 0 it is +100 %.
		expect(t, entryAt(t, mrr, "2025-01-31"), map[string]float64{"net-new-mrr": -16667})
		expect(t, entryAt(t, mrr, "2025-02-28"), map[string]float64{"net-new-mrr": 0, "net-new-mrr-percentage-change": 100})
		expect(t, entryAt(t, mrr, "2025-03-31"), map[string]float64{"mrr-reactivation": 15000, "percentage-change": 0,
			"net-new-mrr": 15000, "net-new-mrr-percentage-change": 0})
		// The activities behind January 2024, with their total: the
		// new business 16667, the expansion and the contraction ±6000.
		acts := e.ok(200, "GET", "/v1/activities?start-date=2024-01-01&end-date=2024-01-31&with_total=true", nil)
		if tot := acts["total"].(map[string]any); tot["count"] != 3.0 || tot["activity-mrr-movement"] != 16667.0 {
			t.Errorf("January's activity total: %v", tot)
		}
		nb := e.ok(200, "GET", "/v1/activities?start-date=2024-01-01&end-date=2024-01-31&type=new_biz&with_total=true&per_page=1", nil)
		if tot := nb["total"].(map[string]any); tot["count"] != 1.0 || tot["activity-mrr-movement"] != 16667.0 {
			t.Errorf("January's new business total: %v", tot)
		}
		if _, ok := e.ok(200, "GET", "/v1/activities?start-date=2024-01-01", nil)["total"]; ok {
			t.Error("a total without with_total")
		}
		e.ok(400, "GET", "/v1/activities?with_total=yes", nil)
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

func TestActivitiesAndSubscriptions(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, _ := syncalytics(t, e)
		// G2's five movements, oldest first.
		acts := e.ok(200, "GET", "/v1/customers/"+cus+"/activities", nil)["entries"].([]any)
		var got []string
		for _, x := range acts {
			m := x.(map[string]any)
			got = append(got, m["date"].(string)+" "+m["type"].(string)+" "+m["description"].(string))
		}
		want := []string{
			"2024-01-01T00:00:00+00:00 new_biz purchased the Gold yearly plan",
			"2024-01-05T00:00:00+00:00 expansion upgraded their Silver plan",
			"2024-01-19T00:00:00+00:00 contraction downgraded their Silver plan",
			"2025-01-01T00:00:00+00:00 churn cancelled their Gold yearly plan",
			"2025-03-01T00:00:00+00:00 reactivation reactivated their Gold monthly plan",
		}
		if len(got) != len(want) {
			t.Fatalf("activities:\n%v", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("activity %d: %q, want %q", i, got[i], want[i])
			}
		}
		first := acts[0].(map[string]any)
		if first["activity-mrr-movement"] != 16667.0 || first["activity-mrr"] != 16667.0 || first["activity-arr"] != 200004.0 ||
			first["subscription-external-id"] != "gold-yearly" || first["currency"] != "USD" {
			t.Errorf("first activity: %v", first)
		}
		// Account-wide, with Go's paging (per-page + start-after) and the
		// cursor, filters and order.
		page := e.ok(200, "GET", "/v1/activities?per-page=2", nil)
		entries := page["entries"].([]any)
		if len(entries) != 2 || page["has_more"] != true || page["per_page"] != 2.0 {
			t.Fatalf("page 1: %v", page)
		}
		last := entries[1].(map[string]any)
		if last["customer-uuid"] != cus || last["billing-connector-uuid"] != ds || last["customer-external-id"] != "syncalytics" {
			t.Errorf("account-wide fields: %v", last)
		}
		next := e.ok(200, "GET", "/v1/activities?per-page=2&start-after="+last["uuid"].(string), nil)["entries"].([]any)
		if len(next) != 2 || next[0].(map[string]any)["type"] != "contraction" {
			t.Fatalf("start-after: %v", next)
		}
		byCursor := e.ok(200, "GET", "/v1/activities?per_page=2&cursor="+page["cursor"].(string), nil)["entries"].([]any)
		if byCursor[0].(map[string]any)["uuid"] != next[0].(map[string]any)["uuid"] {
			t.Errorf("cursor and start-after disagree")
		}
		if n := len(e.ok(200, "GET", "/v1/activities?type=churn", nil)["entries"].([]any)); n != 1 {
			t.Errorf("type filter: %d", n)
		}
		if n := len(e.ok(200, "GET", "/v1/activities?start-date=2024-01-05&end-date=2024-01-19", nil)["entries"].([]any)); n != 2 {
			t.Errorf("date filter: %d", n)
		}
		if d := e.ok(200, "GET", "/v1/activities?order=-date", nil)["entries"].([]any)[0].(map[string]any)["type"]; d != "reactivation" {
			t.Errorf("descending order starts with %v", d)
		}
		for _, bad := range []string{"?type=upsell", "?order=size", "?start-date=yesterday", "?cursor=nope"} {
			if r := e.do(e.key, "GET", "/v1/activities"+bad, nil); r.status != 400 {
				t.Errorf("%s: %d", bad, r.status)
			}
		}
		if n := len(e.do(e.otherKey, "GET", "/v1/activities", nil).json(t)["entries"].([]any)); n != 0 {
			t.Errorf("other account sees %d activities", n)
		}
		if r := e.do(e.otherKey, "GET", "/v1/customers/"+cus+"/activities", nil); r.status != 404 {
			t.Errorf("other account's customer activities: %d", r.status)
		}
		// Metrics view of the subscriptions, now: Gold monthly live at 15000
		// (good faith after its period), the others cancelled.
		subs := e.ok(200, "GET", "/v1/customers/"+cus+"/subscriptions", nil)["entries"].([]any)
		if len(subs) != 3 {
			t.Fatalf("subscriptions: %v", subs)
		}
		states := map[string]string{}
		for _, x := range subs {
			m := x.(map[string]any)
			states[m["external_id"].(string)] = fmt.Sprint(m["status"], " ", m["mrr"], " ", m["plan"], " ", m["billing-cycle"])
		}
		for ext, w := range map[string]string{"gold-yearly": "inactive 0 Gold yearly year", "silver": "inactive 0 Silver month",
			"gold-monthly": "active 15000 Gold monthly month"} {
			if states[ext] != w {
				t.Errorf("%s: %q, want %q", ext, states[ext], w)
			}
		}
		p1 := e.ok(200, "GET", "/v1/customers/"+cus+"/subscriptions?per_page=2", nil)
		p2 := e.ok(200, "GET", "/v1/customers/"+cus+"/subscriptions?per_page=2&cursor="+p1["cursor"].(string), nil)
		if len(p1["entries"].([]any)) != 2 || p1["has_more"] != true || len(p2["entries"].([]any)) != 1 || p2["has_more"] != false {
			t.Errorf("paging: %v / %v", p1, p2)
		}
	})
}

// Connecting the cancelled Gold yearly subscription with Gold monthly
// (reference §4.8) smooths the gap: the churn and the reactivation become
// one contraction of 16667 − 15000 = −1667 on 2025-03-01, and the view
// lists one subscription.
func TestConnectedSubscriptionsInMetrics(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, _ := syncalytics(t, e)
		e.ok(202, "POST", "/v1/customers/"+cus+"/connect_subscriptions", map[string]any{"subscriptions": []any{
			map[string]any{"data_source_uuid": ds, "external_id": "gold-yearly"},
			map[string]any{"data_source_uuid": ds, "external_id": "gold-monthly"}}})
		var got []string
		for _, x := range e.ok(200, "GET", "/v1/customers/"+cus+"/activities", nil)["entries"].([]any) {
			m := x.(map[string]any)
			got = append(got, fmt.Sprint(m["date"].(string)[:10], " ", m["type"], " ", m["activity-mrr-movement"]))
		}
		if fmt.Sprint(got) != "[2024-01-01 new_biz 16667 2024-01-05 expansion 6000 2024-01-19 contraction -6000 2025-03-01 contraction -1667]" {
			t.Errorf("activities after connecting: %v", got)
		}
		subs := e.ok(200, "GET", "/v1/customers/"+cus+"/subscriptions", nil)["entries"].([]any)
		if len(subs) != 2 {
			t.Errorf("connected subscriptions listed: %v", subs)
		}
	})
}

func TestAccountSettingsRecomputeAtOnce(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := syncalytics(t, e)
		jsonEqual(t, e.do(e.key, "GET", "/v1/account/settings", nil).body,
			`{"currency":"USD","time_zone":"UTC","week_start_on":"sunday","churn_recognition":"immediate","activity_grouping_minutes":0}`)
		dates := func() string {
			var got []string
			for _, x := range e.ok(200, "GET", "/v1/customers/"+cus+"/activities", nil)["entries"].([]any) {
				m := x.(map[string]any)
				got = append(got, m["date"].(string)+" "+m["type"].(string))
			}
			return fmt.Sprint(got)
		}
		// End-of-period recognition moves Silver's loss to its period end,
		// max(01-19, 02-05) = 2024-02-05; Berlin is UTC+1 in winter.
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"churn_recognition": "end_of_period", "time_zone": "Europe/Berlin"})
		if got := dates(); got != "[2024-01-01T01:00:00+01:00 new_biz 2024-01-05T01:00:00+01:00 expansion "+
			"2024-02-05T01:00:00+01:00 contraction 2025-01-01T01:00:00+01:00 churn 2025-03-01T01:00:00+01:00 reactivation]" {
			t.Errorf("after the settings change: %s", got)
		}
		// A EUR account needs USD→EUR rates for every foreign line first.
		r := e.do(e.key, "PATCH", "/v1/account/settings", map[string]any{"currency": "EUR"})
		if r.status != 422 || r.json(t)["errors"].(map[string]any)["currency"] == nil {
			t.Fatalf("currency without rates: %d %s", r.status, r.body)
		}
		var rates []store.FXRate
		for d := time.Date(2023, 12, 25, 0, 0, 0, 0, time.UTC); d.Year() < 2026; d = d.AddDate(0, 0, 1) {
			rates = append(rates, store.FXRate{Currency: "USD", Day: d, PerEUR: "1.25"})
		}
		if err := e.store.SaveFXRates(t.Context(), rates); err != nil {
			t.Fatal(err)
		}
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"currency": "eur"})
		// At 1.25 USD/EUR: Gold 200000 / 1.25 / 12 = 13333.33 → 13333 EUR cents, and
		// (end-of-period recognition) Silver until 02-05: 6000 / 1.25 = 4800; 18133.
		q := "?start-date=2024-01-01&end-date=2024-01-31&interval=month"
		if v := entryAt(t, e.ok(200, "GET", "/v1/metrics/mrr"+q, nil), "2024-01-31")["mrr"]; v != 18133.0 {
			t.Errorf("MRR in EUR: %v", v)
		}
		for field, bad := range map[string]any{"currency": "EURO", "time_zone": "Mars/Olympus", "week_start_on": "someday",
			"churn_recognition": "never", "activity_grouping_minutes": -5} {
			if r := e.do(e.key, "PATCH", "/v1/account/settings", map[string]any{field: bad}); r.status != 422 {
				t.Errorf("%s=%v: %d", field, bad, r.status)
			}
		}
		if r := e.do(e.readKey, "PATCH", "/v1/account/settings", map[string]any{"time_zone": "UTC"}); r.status != 403 {
			t.Errorf("read key: %d", r.status)
		}
		// The other account's settings are its own.
		if c := e.do(e.otherKey, "GET", "/v1/account/settings", nil).json(t)["currency"]; c != "USD" {
			t.Errorf("other account's currency: %v", c)
		}
	})
}

func TestActivitiesExport(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := syncalytics(t, e)
		x := e.ok(200, "POST", "/v1/activities_export", map[string]any{"type": "new_biz", "start-date": "2024-01-01", "end-date": "2024-12-31"})
		if x["status"] != "succeeded" || x["file_url"] == nil || x["params"].(map[string]any)["params"].(map[string]any)["activity_type"] != "new_biz" {
			t.Fatalf("export: %v", x)
		}
		again := e.ok(200, "GET", "/v1/activities_export/"+x["id"].(string), nil)
		if again["file_url"] != x["file_url"] {
			t.Errorf("retrieve: %v", again)
		}
		file := e.do(e.key, "GET", "/v1/activities_export/"+x["id"].(string)+"/file", nil)
		lines := strings.Split(strings.TrimSpace(string(file.body)), "\n")
		if file.status != 200 || len(lines) != 2 || !strings.HasPrefix(lines[1], "2024-01-01T00:00:00+00:00,new_biz,"+cus+",syncalytics,") ||
			!strings.Contains(lines[1], ",16667,16667,200004,USD,gold-yearly,") {
			t.Errorf("file %d:\n%s", file.status, file.body)
		}
		all := e.ok(200, "POST", "/v1/activities_export", map[string]any{})
		if body := e.do(e.key, "GET", "/v1/activities_export/"+all["id"].(string)+"/file", nil).body; strings.Count(string(body), "\n") != 6 {
			t.Errorf("unfiltered export:\n%s", body)
		}
		if r := e.do(e.key, "POST", "/v1/activities_export", map[string]any{"type": "upsell"}); r.status != 422 {
			t.Errorf("bad type: %d", r.status)
		}
		if r := e.do(e.otherKey, "GET", "/v1/activities_export/"+x["id"].(string)+"/file", nil); r.status != 404 {
			t.Errorf("other account downloads: %d", r.status)
		}
	})
}

// Rule 20 through the store: a EUR renewal at an unchanged price and a new
// rate moves MRR without an activity, in the plain and the plans view.
func TestExchangeRateRevaluation(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var rates []store.FXRate
		for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Month() < 4; d = d.AddDate(0, 0, 1) {
			perEUR := "1.1000" // USD per EUR in January
			if d.Month() > 1 {
				perEUR = "1.2000"
			}
			rates = append(rates, store.FXRate{Currency: "USD", Day: d, PerEUR: perEUR})
		}
		if err := e.store.SaveFXRates(t.Context(), rates); err != nil {
			t.Fatal(err)
		}
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "EU billing"})["uuid"].(string)
		cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "eu"})["uuid"].(string)
		plan := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Pro", "interval_unit": "month",
			"interval_count": 1})["uuid"].(string)
		inv := func(ext, start, end string) map[string]any {
			return map[string]any{"external_id": ext, "date": start, "currency": "EUR", "line_items": []any{map[string]any{
				"type": "subscription", "subscription_external_id": "pro", "plan_uuid": plan,
				"service_period_start": start, "service_period_end": end, "amount_in_cents": 10000}}}
		}
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(inv("E1", "2024-01-01", "2024-02-01"), inv("E2", "2024-02-01", "2024-03-01")))
		// EUR 100 at 1.10 = 11000 USD cents in January; at 1.20 = 12000 in
		// February: +1000 of revaluation and no movement.
		for _, q := range []string{"", "&plans=Pro"} {
			m := e.ok(200, "GET", "/v1/metrics/mrr?start-date=2024-01-01&end-date=2024-02-29&interval=month"+q, nil)
			expect(t, entryAt(t, m, "2024-01-31"), map[string]float64{"mrr": 11000, "mrr-new-business": 11000})
			expect(t, entryAt(t, m, "2024-02-29"), map[string]float64{"mrr": 12000, "mrr-new-business": 0, "mrr-expansion": 0})
		}
		acts := e.ok(200, "GET", "/v1/customers/"+cus+"/activities", nil)["entries"].([]any)
		if len(acts) != 1 || acts[0].(map[string]any)["type"] != "new_biz" || acts[0].(map[string]any)["activity-mrr-movement"] != 11000.0 {
			t.Errorf("activities: %v", acts)
		}
		if c := e.ok(200, "GET", "/v1/customers/"+cus, nil); c["mrr"] != 12000.0 {
			t.Errorf("customer MRR: %v", c["mrr"])
		}
	})
}

// G8 and G12 (metrics-reference.md §9) through the import path: a
// one-time payment is no MRR and its customer stays a lead; a failed
// payment does not hold back MRR (rule 5: an invoice counts when issued).
// ChartMogul calls a customer who never paid for a subscription a "New Lead".
func TestOneTimeAndFailedPayments(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		consult := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "consult"})["uuid"].(string)
		payer := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "payer"})["uuid"].(string)
		plan := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Basic", "interval_unit": "month",
			"interval_count": 1})["uuid"].(string)
		// G8: a $25 consultation invoiced 2015-11-01, paid 11-05.
		e.ok(201, "POST", "/v1/import/customers/"+consult+"/invoices", invoices(map[string]any{
			"external_id": "C1", "date": "2015-11-01", "currency": "USD",
			"line_items":   []any{map[string]any{"type": "one_time", "amount_in_cents": 2500, "description": "Consultation"}},
			"transactions": []any{map[string]any{"type": "payment", "date": "2015-11-05", "result": "successful"}}}))
		// G12: $40/month from 2024-02-01; the first attempt fails, the retry on
		// 03-03 succeeds.
		e.ok(201, "POST", "/v1/import/customers/"+payer+"/invoices", invoices(map[string]any{
			"external_id": "P1", "date": "2024-02-01", "currency": "USD",
			"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": "basic", "plan_uuid": plan,
				"service_period_start": "2024-02-01", "service_period_end": "2024-03-01", "amount_in_cents": 4000}},
			"transactions": []any{
				map[string]any{"type": "payment", "date": "2024-02-01", "result": "failed"},
				map[string]any{"type": "payment", "date": "2024-03-03", "result": "successful"}}}))
		// Nov 2015: nothing (the consultation is cash, not MRR).
		all := e.ok(200, "GET", "/v1/metrics/all?start-date=2015-11-01&end-date=2015-11-30&interval=month", nil)
		expect(t, entryAt(t, all, "2015-11-30"), map[string]float64{"mrr": 0, "customers": 0, "asp": 0})
		// Feb 2024: 4000 of new business on 02-01 despite the failed
		// attempt; one customer; ASP 4000 / 1; Jan nothing.
		all = e.ok(200, "GET", "/v1/metrics/all?start-date=2024-01-01&end-date=2024-03-31&interval=month", nil)
		expect(t, entryAt(t, all, "2024-01-31"), map[string]float64{"mrr": 0, "customers": 0})
		expect(t, entryAt(t, all, "2024-02-29"), map[string]float64{"mrr": 4000, "customers": 1, "asp": 4000, "arpa": 4000})
		expect(t, entryAt(t, all, "2024-03-31"), map[string]float64{"mrr": 4000, "customers": 1, "asp": 0})
		acts := e.ok(200, "GET", "/v1/customers/"+payer+"/activities", nil)["entries"].([]any)
		if len(acts) != 1 || acts[0].(map[string]any)["date"] != "2024-02-01T00:00:00+00:00" {
			t.Errorf("payer's activities: %v", acts)
		}
		if c := e.ok(200, "GET", "/v1/customers/"+consult, nil); c["status"] != "New Lead" || c["mrr"] != 0.0 {
			t.Errorf("consulting customer: status %v, mrr %v", c["status"], c["mrr"])
		}
		if n := len(e.ok(200, "GET", "/v1/customers/"+consult+"/activities", nil)["entries"].([]any)); n != 0 {
			t.Errorf("consulting customer has %d activities", n)
		}
		// Rule 5: only a successful refund makes a refund document. An
		// invoice whose one transaction is a failed refund still carries
		// its line's MRR: 4000, the customer active.
		other := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "other"})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+other+"/invoices", invoices(map[string]any{
			"external_id": "R1", "date": "2024-02-01", "currency": "USD",
			"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": "other-basic", "plan_uuid": plan,
				"service_period_start": "2024-02-01", "service_period_end": "2024-03-01", "amount_in_cents": 4000}},
			"transactions": []any{map[string]any{"type": "refund", "date": "2024-02-02", "result": "failed"}}}))
		if c := e.ok(200, "GET", "/v1/customers/"+other, nil); c["mrr"] != 4000.0 || c["status"] != "Active" {
			t.Errorf("failed refund: mrr %v, status %v", c["mrr"], c["status"])
		}
	})
}

// Edges of the list and export parameters: an empty plans or geo item
// filters nothing; reversed ranges are refused; an export echoes the
// end-date it was given.
func TestRangeAndFilterEdges(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		syncalytics(t, e)
		q := "/v1/metrics/mrr?start-date=2024-01-01&end-date=2024-01-31"
		// January: Gold 16667 (rule 1, 200000 / 12), unfiltered and through
		// the empty filters alike.
		for _, extra := range []string{"", "&plans=,", "&geo=,", "&geo=US,"} {
			expect(t, entryAt(t, e.ok(200, "GET", q+extra, nil), "2024-01-31"), map[string]float64{"mrr": 16667})
		}
		if r := e.do(e.key, "GET", "/v1/activities?start-date=2024-02-01&end-date=2024-01-01", nil); r.status != 400 ||
			r.json(t)["param"] != "end-date" {
			t.Errorf("reversed activities range: %d %s", r.status, r.body)
		}
		if r := e.do(e.key, "POST", "/v1/activities_export", map[string]any{"start-date": "2024-02-01", "end-date": "2024-01-01"}); r.status != 422 {
			t.Errorf("reversed export range: %d %s", r.status, r.body)
		}
		x := e.ok(200, "POST", "/v1/activities_export", map[string]any{"start-date": "2024-01-01", "end-date": "2024-01-31"})
		params := x["params"].(map[string]any)["params"].(map[string]any)
		if params["start_date"] != "2024-01-01 00:00:00 +0000" || params["end_date"] != "2024-01-31 00:00:00 +0000" {
			t.Errorf("export params: %v", params)
		}
	})
}

// Rule 14 for the activity filters: a date is a day of the account's time
// zone. 2024-01-31 23:30 UTC is 1 February in Berlin.
func TestActivityDatesInAccountZone(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "late"})["uuid"].(string)
		plan := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Basic", "interval_unit": "month",
			"interval_count": 1})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(map[string]any{
			"external_id": "L1", "date": "2024-01-31T23:30:00Z", "currency": "USD",
			"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": "late", "plan_uuid": plan,
				"service_period_start": "2024-01-31T23:30:00Z", "service_period_end": "2024-02-29T23:30:00Z", "amount_in_cents": 4000}}}))
		count := func(day string) int {
			return len(e.ok(200, "GET", "/v1/activities?start-date="+day+"&end-date="+day, nil)["entries"].([]any))
		}
		if count("2024-01-31") != 1 || count("2024-02-01") != 0 {
			t.Errorf("UTC account: Jan 31 %d, Feb 1 %d; want 1, 0", count("2024-01-31"), count("2024-02-01"))
		}
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"time_zone": "Europe/Berlin"})
		if count("2024-01-31") != 0 || count("2024-02-01") != 1 {
			t.Errorf("Berlin account: Jan 31 %d, Feb 1 %d; want 0, 1", count("2024-01-31"), count("2024-02-01"))
		}
	})
}

// G4's prorated switch, with the credit line sent before or after the
// charge: either way the expansion is Gold's, the plan the subscription
// is on after it and the one a plans filter counts it under.
func TestProratedSwitchActivityPlan(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		plan := func(name, ext string) string {
			return e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": name, "external_id": ext,
				"interval_unit": "month", "interval_count": 1})["uuid"].(string)
		}
		bronze, gold := plan("Bronze", "bronze"), plan("Gold", "gold")
		for i, creditFirst := range []bool{false, true} {
			cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": fmt.Sprint("dm", i)})["uuid"].(string)
			ln := func(pl string, start string, amount int, prorated bool) map[string]any {
				return map[string]any{"type": "subscription", "subscription_external_id": fmt.Sprint("dm-sub", i), "plan_uuid": pl,
					"service_period_start": start, "service_period_end": "2019-07-01", "amount_in_cents": amount, "prorated": prorated}
			}
			charge, credit := ln(gold, "2019-06-16", 12500, true), ln(bronze, "2019-06-16", -5000, true)
			lines := []any{charge, credit}
			if creditFirst {
				lines = []any{credit, charge}
			}
			e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(
				map[string]any{"external_id": fmt.Sprint("B", i), "date": "2019-06-01", "currency": "USD",
					"line_items": []any{ln(bronze, "2019-06-01", 10000, false)}},
				map[string]any{"external_id": fmt.Sprint("U", i), "date": "2019-06-16", "currency": "USD", "line_items": lines}))
			acts := e.ok(200, "GET", "/v1/customers/"+cus+"/activities", nil)["entries"].([]any)
			// 10000 → 10000 + 12500 × 2 − 5000 × 2 = 25000: expansion +15000.
			if len(acts) != 2 {
				t.Fatalf("activities: %v", acts)
			}
			up := acts[1].(map[string]any)
			if up["type"] != "expansion" || up["activity-mrr-movement"] != 15000.0 || up["description"] != "upgraded their Gold plan" {
				t.Errorf("credit first %v: %v", creditFirst, up)
			}
			// Cancelled on 06-25: the churn of 25000 is Gold's too, the plan
			// the subscription was on, not the Bronze of its first line.
			subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)
			e.ok(202, "PATCH", "/v1/import/subscriptions/"+subs[0].(map[string]any)["uuid"].(string), map[string]any{"cancelled_at": "2019-06-25"})
			acts = e.ok(200, "GET", "/v1/customers/"+cus+"/activities", nil)["entries"].([]any)
			if churn := acts[2].(map[string]any); churn["activity-mrr-movement"] != -25000.0 || churn["description"] != "cancelled their Gold plan" {
				t.Errorf("credit first %v, churn: %v", creditFirst, churn)
			}
		}
	})
}

// Tally's retention endpoint on G2 (docs/retention.md has the formulas).
func TestRetentionAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		syncalytics(t, e)
		body := e.ok(200, "GET", "/v1/metrics/retention?start-date=2024-01-01&end-date=2025-03-31&interval=month", nil)
		// January 2024: nobody was a customer at its start: no base, all 0.
		expect(t, entryAt(t, body, "2024-01-31"), map[string]float64{"net-mrr-retention": 0, "customer-retention": 0, "gross-mrr-churn-rate": 0})
		// February 2024: the one customer at 16667 stays at 16667: 100 %.
		expect(t, entryAt(t, body, "2024-02-29"), map[string]float64{"gross-mrr-churn-rate": 0, "net-mrr-retention": 100,
			"gross-mrr-retention": 100, "customer-retention": 100})
		// January 2025: Gold churns on 01-01: 16667 of 16667 lost: 100 %
		// gross churn; nothing retained. Twelve months back (the end of
		// January 2024) the same customer at 16667: also 0 now.
		expect(t, entryAt(t, body, "2025-01-31"), map[string]float64{"gross-mrr-churn-rate": 100, "net-mrr-retention": 0,
			"gross-mrr-retention": 0, "customer-retention": 0, "net-mrr-retention-t12m": 0, "customer-retention-t12m": 0})
		// March 2025: back at 15000 (a reactivation). February's end had no
		// customer: no base. Twelve months back, the end of March 2024, it
		// was at 16667: 15000 / 16667 = 89.998 % → 90.00, capped the same;
		// 1 of 1 customers.
		expect(t, entryAt(t, body, "2025-03-31"), map[string]float64{"net-mrr-retention": 0, "net-mrr-retention-t12m": 90,
			"gross-mrr-retention-t12m": 90, "customer-retention-t12m": 100})
		s := body["summary"].(map[string]any)
		if s["current-net-mrr-retention-t12m"] != 90.0 || s["previous-net-mrr-retention-t12m"] != 0.0 {
			t.Errorf("summary: %v", s)
		}
		// The customer is in the US: a GB segment is empty.
		gb := e.ok(200, "GET", "/v1/metrics/retention?start-date=2025-03-01&end-date=2025-03-31&geo=GB", nil)
		expect(t, entryAt(t, gb, "2025-03-31"), map[string]float64{"net-mrr-retention-t12m": 0})
		if r := e.do(e.key, "GET", "/v1/metrics/retention?start-date=2025-03-01&end-date=2025-01-31", nil); r.status != 400 {
			t.Errorf("reversed range: %d", r.status)
		}
	})
}

// A settings change recomputes the account only when the stored results
// depend on it: the time zone and week start cut series when read.
func TestSettingsRecomputeOnlyWhenResultsDepend(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		syncalytics(t, e)
		seq := func() (v int64) {
			t.Helper()
			if err := e.store.DB().QueryRow(`SELECT results_seq FROM accounts WHERE id = (SELECT account_id FROM customers LIMIT 1)`).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		before := seq()
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"time_zone": "Europe/Berlin", "week_start_on": "monday"})
		if after := seq(); after != before {
			t.Errorf("a time-zone change recomputed the account: results_seq %d → %d", before, after)
		}
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"churn_recognition": "end_of_period"})
		if after := seq(); after == before {
			t.Error("a churn-recognition change did not recompute the account")
		}
	})
}

// per_page is read once, whichever spelling: per_page=1&per-page=1 is 1,
// not 11 (both spellings once added up).
func TestActivitiesPerPageSpellings(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		syncalytics(t, e) // five activities
		for _, q := range []string{"per_page=1", "per-page=1", "per_page=1&per-page=1"} {
			if n := len(e.ok(200, "GET", "/v1/activities?"+q, nil)["entries"].([]any)); n != 1 {
				t.Errorf("%s: %d entries, want 1", q, n)
			}
		}
	})
}

// An export's dates are days of the account's zone, as the activity
// list's are: in Berlin, 2024-01-31 23:30 UTC is an activity of 1 February.
func TestExportDatesInAccountZone(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "late"})["uuid"].(string)
		plan := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Basic", "interval_unit": "month",
			"interval_count": 1})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(map[string]any{
			"external_id": "L1", "date": "2024-01-31T23:30:00Z", "currency": "USD",
			"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": "late", "plan_uuid": plan,
				"service_period_start": "2024-01-31T23:30:00Z", "service_period_end": "2024-02-29T23:30:00Z", "amount_in_cents": 4000}}}))
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"time_zone": "Europe/Berlin"})
		rows := func(day string) int {
			x := e.ok(200, "POST", "/v1/activities_export", map[string]any{"start-date": day, "end-date": day})
			body := e.do(e.key, "GET", "/v1/activities_export/"+x["id"].(string)+"/file", nil).body
			return strings.Count(strings.TrimSpace(string(body)), "\n") // lines after the header
		}
		if jan, feb := rows("2024-01-31"), rows("2024-02-01"); jan != 0 || feb != 1 {
			t.Errorf("Berlin export: Jan 31 %d rows, Feb 1 %d; want 0, 1", jan, feb)
		}
		x := e.ok(200, "POST", "/v1/activities_export", map[string]any{"start-date": "2024-02-01", "end-date": "2024-02-29"})
		if p := x["params"].(map[string]any)["params"].(map[string]any); p["start_date"] != "2024-02-01 00:00:00 +0100" ||
			p["end_date"] != "2024-02-29 00:00:00 +0100" {
			t.Errorf("echoed dates: %v", p)
		}
	})
}
