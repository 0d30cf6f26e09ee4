package api

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
)

// cohortFixture imports four customers on monthly plans (account zone
// UTC), created in this order, so their ids (the list's order) are too:
//
//	A (US) Basic 100.00 from 5 Jan 2024; on 5 Mar moves to Pro at 150.00 (expansion)
//	B (US) Basic 200.00 from 10 Jan, cancelled on 20 Jan (churn); a new
//	       subscription at 200.00 from 3 Mar (reactivation)
//	C (US) Basic 50.00 from 1 Feb
//	D (GB) Pro 300.00 from 15 Jan
//
// and returns their UUIDs by letter.
func cohortFixture(t *testing.T, e *env) map[string]string {
	t.Helper()
	ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Cohort billing"})["uuid"].(string)
	plans := map[string]string{}
	for _, name := range []string{"Basic", "Pro"} {
		plans[name] = e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": name,
			"interval_unit": "month", "interval_count": 1})["uuid"].(string)
	}
	line := func(sub, plan, start, end string, amount int, extra ...any) map[string]any {
		l := map[string]any{"type": "subscription", "subscription_external_id": sub, "plan_uuid": plans[plan],
			"service_period_start": start, "service_period_end": end, "amount_in_cents": amount}
		for i := 0; i < len(extra); i += 2 {
			l[extra[i].(string)] = extra[i+1]
		}
		return l
	}
	inv := func(ext, date string, l map[string]any) map[string]any {
		return map[string]any{"external_id": ext, "date": date, "currency": "USD", "line_items": []any{l}}
	}
	cus := map[string]string{}
	for _, c := range []struct {
		name, country string
		invoices      []map[string]any
	}{
		{"A", "US", []map[string]any{inv("A1", "2024-01-05", line("a", "Basic", "2024-01-05", "2024-02-05", 10000)),
			inv("A2", "2024-03-05", line("a", "Pro", "2024-03-05", "2024-04-05", 15000))}},
		{"B", "US", []map[string]any{inv("B1", "2024-01-10", line("b", "Basic", "2024-01-10", "2024-02-10", 20000, "cancelled_at", "2024-01-20")),
			inv("B2", "2024-03-03", line("b2", "Basic", "2024-03-03", "2024-04-03", 20000))}},
		{"C", "US", []map[string]any{inv("C1", "2024-02-01", line("c", "Basic", "2024-02-01", "2024-03-01", 5000))}},
		{"D", "GB", []map[string]any{inv("D1", "2024-01-15", line("d", "Pro", "2024-01-15", "2024-02-15", 30000))}},
	} {
		cus[c.name] = e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus-" + c.name,
			"name": c.name, "country": c.country})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+cus[c.name]+"/invoices", invoices(c.invoices...))
	}
	return cus
}

func TestCohortsAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		cus := cohortFixture(t, e)
		q := "?start-date=2024-01-01&end-date=2024-03-31"
		r := e.do(e.key, "GET", "/v1/metrics/cohorts"+q, nil)
		if r.status != 200 {
			t.Fatalf("cohorts: %d %s", r.status, r.body)
		}
		// January: A, B, D (size 3). At its end A 10000 + D 30000 (B has
		// churned): 2/3 = 66.67 %, 40000. February the same. March: A
		// 15000 + B back at 20000 + D 30000 = 65000, 3/3; 65000/40000 =
		// 162.5 %. February: C, 5000 throughout. March: nobody.
		jsonEqual(t, r.body, `{"entries":[
			{"cohort":"2024-01-01","customers":3,"mrr":40000,"cells":[
				{"age":0,"date":"2024-01-31","customers":2,"customers-percentage":66.67,"mrr":40000,"mrr-percentage":100},
				{"age":1,"date":"2024-02-29","customers":2,"customers-percentage":66.67,"mrr":40000,"mrr-percentage":100},
				{"age":2,"date":"2024-03-31","customers":3,"customers-percentage":100,"mrr":65000,"mrr-percentage":162.5}]},
			{"cohort":"2024-02-01","customers":1,"mrr":5000,"cells":[
				{"age":0,"date":"2024-02-29","customers":1,"customers-percentage":100,"mrr":5000,"mrr-percentage":100},
				{"age":1,"date":"2024-03-31","customers":1,"customers-percentage":100,"mrr":5000,"mrr-percentage":100}]},
			{"cohort":"2024-03-01","customers":0,"mrr":0,"cells":[
				{"age":0,"date":"2024-03-31","customers":0,"customers-percentage":0,"mrr":0,"mrr-percentage":0}]}]}`)

		// docs/segments.md shows this answer as its worked example.
		doc, err := os.ReadFile("../../docs/segments.md")
		if err != nil {
			t.Fatal(err)
		}
		_, example, _ := strings.Cut(string(doc), "<!-- cohorts example: TestCohortsAPI checks this answer -->\n```json\n")
		example, _, found := strings.Cut(example, "```")
		if !found {
			t.Fatal("docs/segments.md has no cohorts example")
		}
		jsonEqual(t, r.body, example)

		// By country: the US leaves D out. January: A, B (size 2); A alone
		// at 10000 until March, when A 15000 + B 20000 = 35000: 350 %.
		r = e.do(e.key, "GET", "/v1/metrics/cohorts"+q+"&geo=US", nil)
		jsonEqual(t, r.body, `{"entries":[
			{"cohort":"2024-01-01","customers":2,"mrr":10000,"cells":[
				{"age":0,"date":"2024-01-31","customers":1,"customers-percentage":50,"mrr":10000,"mrr-percentage":100},
				{"age":1,"date":"2024-02-29","customers":1,"customers-percentage":50,"mrr":10000,"mrr-percentage":100},
				{"age":2,"date":"2024-03-31","customers":2,"customers-percentage":100,"mrr":35000,"mrr-percentage":350}]},
			{"cohort":"2024-02-01","customers":1,"mrr":5000,"cells":[
				{"age":0,"date":"2024-02-29","customers":1,"customers-percentage":100,"mrr":5000,"mrr-percentage":100},
				{"age":1,"date":"2024-03-31","customers":1,"customers-percentage":100,"mrr":5000,"mrr-percentage":100}]},
			{"cohort":"2024-03-01","customers":0,"mrr":0,"cells":[
				{"age":0,"date":"2024-03-31","customers":0,"customers-percentage":0,"mrr":0,"mrr-percentage":0}]}]}`)

		// By quarter: Q1 holds A, B and C; its end is March's: A 15000 + B
		// 20000 + C 5000 = 40000.
		r = e.do(e.key, "GET", "/v1/metrics/cohorts"+q+"&geo=US&cohort-interval=quarter", nil)
		jsonEqual(t, r.body, `{"entries":[{"cohort":"2024-01-01","customers":3,"mrr":40000,"cells":[
			{"age":0,"date":"2024-03-31","customers":3,"customers-percentage":100,"mrr":40000,"mrr-percentage":100}]}]}`)

		// Through the Basic plan (rule 19): D is outside; A is seen on
		// Basic only, so its move to Pro on 5 March is its churn from the
		// segment. January: A, B (size 2): A 10000 in January and
		// February; in March B alone, 20000: 1/2, 200 %.
		r = e.do(e.key, "GET", "/v1/metrics/cohorts"+q+"&plans=Basic", nil)
		jsonEqual(t, r.body, `{"entries":[
			{"cohort":"2024-01-01","customers":2,"mrr":10000,"cells":[
				{"age":0,"date":"2024-01-31","customers":1,"customers-percentage":50,"mrr":10000,"mrr-percentage":100},
				{"age":1,"date":"2024-02-29","customers":1,"customers-percentage":50,"mrr":10000,"mrr-percentage":100},
				{"age":2,"date":"2024-03-31","customers":1,"customers-percentage":50,"mrr":20000,"mrr-percentage":200}]},
			{"cohort":"2024-02-01","customers":1,"mrr":5000,"cells":[
				{"age":0,"date":"2024-02-29","customers":1,"customers-percentage":100,"mrr":5000,"mrr-percentage":100},
				{"age":1,"date":"2024-03-31","customers":1,"customers-percentage":100,"mrr":5000,"mrr-percentage":100}]},
			{"cohort":"2024-03-01","customers":0,"mrr":0,"cells":[
				{"age":0,"date":"2024-03-31","customers":0,"customers-percentage":0,"mrr":0,"mrr-percentage":0}]}]}`)

		// The customers behind cells, in the list's shape, by creation.
		names := func(path string) (list []string, body map[string]any) {
			t.Helper()
			body = e.ok(200, "GET", path, nil)
			for _, x := range body["entries"].([]any) {
				c := x.(map[string]any)
				list = append(list, c["name"].(string))
				if c["uuid"] != cus[c["name"].(string)] {
					t.Errorf("%s: customer %v", path, c)
				}
			}
			return list, body
		}
		membersPath := "/v1/metrics/cohorts/customers"
		members := membersPath + q
		for _, tc := range []struct {
			query string
			want  string
		}{
			{"&cohort=2024-01-01&age=0", "[A D]"},           // B churned in January
			{"&cohort=2024-01-01&age=2", "[A B D]"},         // B is back
			{"&cohort=2024-02-01&age=1", "[C]"},             //
			{"&cohort=2024-03-01&age=0", "[]"},              // nobody
			{"&cohort=2024-01-01&age=2&geo=US", "[A B]"},    // D is in GB
			{"&cohort=2024-01-01&age=2&plans=Basic", "[B]"}, // A left Basic in March
		} {
			got, body := names(members + tc.query)
			if fmt.Sprint(got) != tc.want && !(tc.want == "[]" && got == nil) {
				t.Errorf("%s: %v, want %s", tc.query, got, tc.want)
			}
			if body["has_more"] != false || body["cursor"] != nil || body["total_pages"] != 1.0 {
				t.Errorf("%s: paging %v", tc.query, body)
			}
		}
		// Two to a page: A and B, then D.
		first, body := names(members + "&cohort=2024-01-01&age=2&per_page=2")
		if fmt.Sprint(first) != "[A B]" || body["has_more"] != true || body["total_pages"] != 2.0 || body["per_page"] != 2.0 {
			t.Fatalf("first page %v: %v", first, body)
		}
		second, body := names(members + "&cohort=2024-01-01&age=2&per_page=2&cursor=" + url.QueryEscape(body["cursor"].(string)))
		if fmt.Sprint(second) != "[D]" || body["has_more"] != false || body["current_page"] != 2.0 {
			t.Errorf("second page %v: %v", second, body)
		}
		if page, _ := names(members + "&cohort=2024-01-01&age=2&per_page=2&page=2"); fmt.Sprint(page) != "[D]" {
			t.Errorf("legacy page 2: %v", page)
		}

		// Mistakes are 400s naming the parameter.
		for _, tc := range []struct{ query, param string }{
			{q + "&cohort-interval=week", "cohort-interval"},
			{"?start-date=2000-01-01&end-date=2024-12-31", "cohort-interval"}, // 300 months: 45,150 cells
			{"?end-date=2024-03-31", "start-date"},
			{"?start-date=2024-03-01&end-date=2024-01-31", "end-date"},
			{q + "&geo=XX", "geo"},
			{q + "&plans=Gold", "plans"},
		} {
			for _, path := range []string{"/v1/metrics/cohorts", membersPath} {
				query := tc.query
				if path == membersPath {
					query += "&cohort=2024-01-01&age=0"
				}
				r := e.do(e.key, "GET", path+query, nil)
				if r.status != 400 || r.json(t)["param"] != tc.param {
					t.Errorf("%s%s: %d %s", path, query, r.status, r.body)
				}
			}
		}
		for _, tc := range []struct{ query, param string }{
			{"&age=0", "cohort"},
			{"&cohort=2024-01-15&age=0", "cohort"}, // not the first day of a period
			{"&cohort=2023-12-01&age=0", "cohort"}, // before the range
			{"&cohort=2024-1-1&age=0", "cohort"},
			{"&cohort=2024-01-01", "age"},
			{"&cohort=2024-01-01&age=3", "age"}, // January's ages are 0 to 2
			{"&cohort=2024-03-01&age=1", "age"},
			{"&cohort=2024-01-01&age=-1", "age"},
			{"&cohort=2024-01-01&age=one", "age"},
			{"&cohort=2024-01-01&age=0&per_page=0", "per_page"},
			{"&cohort=2024-01-01&age=0&cursor=nonsense", "cursor"},
		} {
			r := e.do(e.key, "GET", members+tc.query, nil)
			if r.status != 400 || r.json(t)["param"] != tc.param {
				t.Errorf("%s: %d %s", tc.query, r.status, r.body)
			}
		}
		// 2000–2024 by month is too many cells (above); by year it is
		// 25 × 26 / 2 = 325.
		if n := len(e.ok(200, "GET", "/v1/metrics/cohorts?start-date=2000-01-01&end-date=2024-12-31&cohort-interval=year", nil)["entries"].([]any)); n != 25 {
			t.Errorf("%d yearly cohorts, want 25", n)
		}
		// Another account sees nothing of these.
		r = e.do(e.otherKey, "GET", "/v1/metrics/cohorts/customers"+q+"&cohort=2024-01-01&age=0", nil)
		if r.status != 200 || fmt.Sprint(r.json(t)["entries"]) != "[]" {
			t.Errorf("another account: %d %s", r.status, r.body)
		}
	})
}
