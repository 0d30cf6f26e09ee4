package api

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// segmentBook is a small account whose customers differ in every
// attribute a filter reads. Its three months end with the current one,
// so that "as they are now" (status, MRR, quantity) reads the last month
// whatever day the test runs:
//
//	C1 US, tags vip,      seats 10, plan A 10000/month × 3, quantity 2
//	C2 GB, no tags,       seats 3,  plan B' 5000/month × 3, quantity 1, second data source (its own plan B)
//	C3 GB, tags vip,beta,           plan B  5000 in month 1 only, cancelled at its end (churns)
//	C4 DE, no tags,                 plan A 10000 in month 1, plan B 5000 in months 2–3, quantity 5
//	C5 FR, a lead: no invoices
//
// C1, C2 and C3 pay each of their invoices; C4 pays none.
type segmentBook struct {
	*cashBook
	ds2            string
	planA, planB   string
	months         [3]string // the entries' dates
	start, end     string
	c1, c2, c3, c4 string
}

func newSegmentBook(t *testing.T, e *env) *segmentBook {
	t.Helper()
	b := &segmentBook{cashBook: newCashBook(t, e, "segments")}
	b.ds2 = b.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Second billing"})["uuid"].(string)
	b.planA, b.planB = b.plan("A", "month"), b.plan("B", "month")
	// Plans belong to a data source: C2's plan B is the second source's.
	planB2 := b.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": b.ds2, "name": "B", "interval_unit": "month",
		"interval_count": 1})["uuid"].(string)
	now := time.Now().UTC()
	base := time.Date(now.Year(), now.Month()-2, 1, 0, 0, 0, 0, time.UTC)
	month := func(i int) string { return base.AddDate(0, i, 0).Format("2006-01-02") }
	for i := range 3 {
		b.months[i] = base.AddDate(0, i+1, -1).Format("2006-01-02")
	}
	b.start, b.end = month(0), b.months[2]
	customer := func(ds, ext, country string, attrs map[string]any) string {
		body := map[string]any{"data_source_uuid": ds, "external_id": ext, "name": ext, "country": country}
		if attrs != nil {
			body["attributes"] = attrs
		}
		return b.ok(201, "POST", "/v1/customers", body)["uuid"].(string)
	}
	seats := func(n int) []any { return []any{map[string]any{"type": "Integer", "key": "seats", "value": n}} }
	b.c1 = customer(b.ds, "C1", "US", map[string]any{"tags": []string{"vip"}, "custom": seats(10)})
	b.c2 = customer(b.ds2, "C2", "GB", map[string]any{"custom": seats(3)})
	b.c3 = customer(b.ds, "C3", "GB", map[string]any{"tags": []string{"vip", "beta"}})
	b.c4 = customer(b.ds, "C4", "DE", nil)
	customer(b.ds, "C5", "FR", nil)
	line := func(plan, sub string, m, amount, qty int) map[string]any {
		l := subLine(plan, sub, month(m), month(m+1), amount)
		l["quantity"] = qty
		return l
	}
	paid := func(m int) map[string]any { return txn("payment", "successful", month(m)+" 01:00:00") }
	for m := range 3 {
		b.invoice(b.c1, "C1-"+month(m), month(m), "USD", []map[string]any{line(b.planA, "S1", m, 10000, 2)}, paid(m))
		b.invoice(b.c2, "C2-"+month(m), month(m), "USD", []map[string]any{line(planB2, "S2", m, 5000, 1)}, paid(m))
	}
	cancelled := line(b.planB, "S3", 0, 5000, 1)
	cancelled["cancelled_at"] = month(1) // Tally keeps MRR in good faith until a cancellation (rule 8)
	b.invoice(b.c3, "C3-0", month(0), "USD", []map[string]any{cancelled}, paid(0))
	b.invoice(b.c4, "C4-0", month(0), "USD", []map[string]any{line(b.planA, "S4", 0, 10000, 5)})
	for m := 1; m < 3; m++ {
		b.invoice(b.c4, "C4-"+month(m), month(m), "USD", []map[string]any{line(b.planB, "S4", m, 5000, 5)})
	}
	return b
}

// series reads one key of /v1/metrics/all under a filter, by month.
func (b *segmentBook) series(key, filters string) [3]float64 {
	b.e.t.Helper()
	q := "/v1/metrics/all?start-date=" + b.start + "&end-date=" + b.end
	if filters != "" {
		q += "&filters=" + url.QueryEscape(filters)
	}
	entries := b.ok(200, "GET", q, nil)["entries"].([]any)
	if len(entries) != 3 {
		b.e.t.Fatalf("%s: %d entries", filters, len(entries))
	}
	var out [3]float64
	for i, x := range entries {
		m := x.(map[string]any)
		if m["date"] != b.months[i] {
			b.e.t.Fatalf("entry %d dated %v, want %s", i, m["date"], b.months[i])
		}
		out[i] = m[key].(float64)
	}
	return out
}

func TestFiltersSelectCustomers(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := newSegmentBook(t, e)
		type want struct{ mrr, customers [3]float64 }
		for _, c := range []struct {
			filters string
			want    want
		}{
			// Everyone: month 1 C1 10000 + C2 5000 + C3 5000 + C4 10000;
			// months 2–3 C3 gone, C4 at 5000: 10000 + 5000 + 5000.
			{"", want{[3]float64{30000, 20000, 20000}, [3]float64{4, 3, 3}}},
			// C1 alone.
			{"region~ANY~'US'", want{[3]float64{10000, 10000, 10000}, [3]float64{1, 1, 1}}},
			// C2, C3, C4 (and the lead C5): everyone less C1.
			{"region~NONE~'US'", want{[3]float64{20000, 10000, 10000}, [3]float64{3, 2, 2}}},
			// C1 + C3: 10000 + 5000, then C1 alone.
			{"tags~ANY~'vip'", want{[3]float64{15000, 10000, 10000}, [3]float64{2, 1, 1}}},
			// C3 alone has both tags.
			{"tags~ALL~'vip','beta'", want{[3]float64{5000, 0, 0}, [3]float64{1, 0, 0}}},
			// Active now: C1, C2, C4 (C3 cancelled, C5 a lead).
			{"customer_status~ANY~'Active'", want{[3]float64{25000, 20000, 20000}, [3]float64{3, 3, 3}}},
			{"customer_status~ANY~'Cancelled'", want{[3]float64{5000, 0, 0}, [3]float64{1, 0, 0}}},
			// MRR now in dollars: C1 100, C2 50, C4 50.
			{"mrr~GT~60", want{[3]float64{10000, 10000, 10000}, [3]float64{1, 1, 1}}},
			{"mrr~BETWEEN~50,100", want{[3]float64{25000, 20000, 20000}, [3]float64{3, 3, 3}}},
			// ARR now: C1 1200, C2 and C4 600.
			{"arr~GTE~1200", want{[3]float64{10000, 10000, 10000}, [3]float64{1, 1, 1}}},
			// Quantity of live subscriptions now: C1 2, C2 1, C4 5.
			{"active_quantity~GTE~2", want{[3]float64{20000, 15000, 15000}, [3]float64{2, 2, 2}}},
			// seats: C1 10, C2 3; the others have none.
			{"custom.seats~GT~5", want{[3]float64{10000, 10000, 10000}, [3]float64{1, 1, 1}}},
			// C2 alone is in the second data source.
			{"data_source~ANY~'" + b.ds2 + "'", want{[3]float64{5000, 5000, 5000}, [3]float64{1, 1, 1}}},
			{"currency~ANY~'EUR'", want{[3]float64{0, 0, 0}, [3]float64{0, 0, 0}}},
			// Everyone became a customer on the first day of month 1.
			{"subscriber_since~EQ~" + b.start, want{[3]float64{30000, 20000, 20000}, [3]float64{4, 3, 3}}},
			{"subscriber_since~LT~" + b.start, want{[3]float64{0, 0, 0}, [3]float64{0, 0, 0}}},
			// Plan A through its view (rule 19): C1 whole; C4 on A in
			// month 1 only, so it leaves the segment in month 2 (churn).
			{"plan~ANY~'" + b.planA + "'", want{[3]float64{20000, 10000, 10000}, [3]float64{2, 1, 1}}},
			// The first source's plan B: C3 whole, C4 joins in month 2
			// (new business) as C3 leaves.
			{"plan~ANY~'" + b.planB + "'", want{[3]float64{5000, 5000, 5000}, [3]float64{1, 1, 1}}},
			// By name, B is both sources' plans: C2 as well.
			{"plan~ANY~'B'", want{[3]float64{10000, 10000, 10000}, [3]float64{2, 2, 2}}},
			// Three conditions: outside the US, active, under $60 now: C2, C4.
			{"region~NONE~'US'~AND~customer_status~ANY~'Active'~AND~mrr~LT~60", want{[3]float64{15000, 10000, 10000}, [3]float64{2, 2, 2}}},
		} {
			if got := b.series("mrr", c.filters); got != c.want.mrr {
				t.Errorf("%q: mrr %v, want %v", c.filters, got, c.want.mrr)
			}
			if got := b.series("customers", c.filters); got != c.want.customers {
				t.Errorf("%q: customers %v, want %v", c.filters, got, c.want.customers)
			}
		}

		// Cash flow: C1 pays 10000 and C2 5000 a month, C3 5000 in
		// month 1. vip is C1 and C3; plan B by name is C2 and C3.
		for _, c := range []struct {
			filters string
			gross   [3]float64
		}{
			{"", [3]float64{20000, 15000, 15000}},
			{"tags~ANY~'vip'", [3]float64{15000, 10000, 10000}},
			{"plan~ANY~'B'", [3]float64{10000, 5000, 5000}},
			{"customer_status~ANY~'Cancelled'", [3]float64{5000, 0, 0}},
		} {
			q := "/v1/metrics/cash-flow?start-date=" + b.start + "&end-date=" + b.end + "&filters=" + url.QueryEscape(c.filters)
			var got [3]float64
			for i, e := range b.ok(200, "GET", q, nil)["entries"].([]any) {
				got[i] = e.(map[string]any)["gross-cash-flow"].(float64)
			}
			if got != c.gross {
				t.Errorf("cash flow %q: %v, want %v", c.filters, got, c.gross)
			}
		}

		// The filters' region and the geo parameter take different paths
		// (a selection of customers; the cohorts and cash book kept by
		// country): their answers are the same bytes.
		for _, endpoint := range []string{"all", "retention", "cash-flow", "cmrr", "cohorts"} {
			q := "/v1/metrics/" + endpoint + "?start-date=" + b.start + "&end-date=" + b.end
			byGeo := b.e.do(b.key, "GET", q+"&geo=GB,DE", nil)
			byFilter := b.e.do(b.key, "GET", q+"&filters="+url.QueryEscape("region~ANY~'GB','DE'"), nil)
			if byGeo.status != 200 || string(byGeo.body) != string(byFilter.body) {
				t.Errorf("%s: geo %d %s\nfilters %d %s", endpoint, byGeo.status, byGeo.body, byFilter.status, byFilter.body)
			}
		}

		// Plan B's view: C4 is new business of the segment in month 2,
		// C3 its churn.
		q := "/v1/metrics/mrr?start-date=" + b.start + "&end-date=" + b.end + "&filters=" + url.QueryEscape("plan~ANY~'"+b.planB+"'")
		m2 := b.ok(200, "GET", q, nil)["entries"].([]any)[1].(map[string]any)
		if m2["mrr-new-business"] != 5000.0 || m2["mrr-churn"] != -5000.0 {
			t.Errorf("plan B, month 2: %v", m2)
		}
	})
}

func TestFiltersOnListsAndSegments(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := newSegmentBook(t, e)
		// The customers list: vip customers are C1 and C3.
		list := b.ok(200, "GET", "/v1/customers?filters="+url.QueryEscape("tags~ANY~'vip'"), nil)["entries"].([]any)
		var names []string
		for _, c := range list {
			names = append(names, c.(map[string]any)["name"].(string))
		}
		if slices.Sort(names); !slices.Equal(names, []string{"C1", "C3"}) {
			t.Errorf("vip customers: %v", names)
		}
		// Activities of C3 (new business, churn) and C1 (new business).
		acts := b.ok(200, "GET", "/v1/activities?with_total=true&filters="+url.QueryEscape("tags~ANY~'vip'"), nil)
		total := acts["total"].(map[string]any)
		// 10000 (C1 new) + 5000 (C3 new) − 5000 (C3 churn).
		if total["count"] != 3.0 || total["activity-mrr-movement"] != 10000.0 {
			t.Errorf("vip activities total: %v", total)
		}
		// A saved segment answers as its expression does.
		seg := b.ok(201, "POST", "/v1/segments", map[string]any{"name": "Outside the US", "filters": "region~NONE~'US'"})
		q := "/v1/metrics/mrr?start-date=" + b.start + "&end-date=" + b.end
		bySeg := b.ok(200, "GET", q+"&segment="+seg["uuid"].(string), nil)
		byExpr := b.ok(200, "GET", q+"&filters="+url.QueryEscape("region~NONE~'US'"), nil)
		if !reflect.DeepEqual(bySeg, byExpr) {
			t.Errorf("segment %v\nexpression %v", bySeg, byExpr)
		}
		// segment and filters join by AND: outside the US and vip is C3.
		both := b.ok(200, "GET", q+"&segment="+seg["uuid"].(string)+"&filters="+url.QueryEscape("tags~ANY~'vip'"), nil)
		if v := both["entries"].([]any)[0].(map[string]any)["mrr"]; v != 5000.0 {
			t.Errorf("segment and filter: month 1 MRR %v, want 5000", v)
		}
		// An activities export keeps its filters: vip activities are C1's
		// new business, C3's new business and churn.
		x := b.ok(200, "POST", "/v1/activities_export", map[string]any{"filters": "tags~ANY~'vip'"})
		if p := x["params"].(map[string]any)["params"].(map[string]any); p["filters"] != "tags~ANY~'vip'" {
			t.Errorf("export params: %v", p)
		}
		file := b.e.do(b.key, "GET", "/v1/activities_export/"+x["id"].(string)+"/file", nil)
		if lines := strings.Count(strings.TrimSpace(string(file.body)), "\n"); file.status != 200 || lines != 3 {
			t.Errorf("export file: %d, %d rows\n%s", file.status, lines, file.body)
		}
		if r := b.e.do(b.key, "POST", "/v1/activities_export", map[string]any{"filters": "colour~ANY~'red'"}); r.status != 400 {
			t.Errorf("export with a bad filter: %d %s", r.status, r.body)
		}
		// geo and filters join by AND too: GB and vip is C3.
		if v := b.ok(200, "GET", q+"&geo=GB&filters="+url.QueryEscape("tags~ANY~'vip'"), nil)["entries"].([]any)[0].(map[string]any)["mrr"]; v != 5000.0 {
			t.Errorf("geo and filter: month 1 MRR %v, want 5000", v)
		}
	})
}

func TestFiltersRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := newSegmentBook(t, e)
		for _, c := range []struct{ filters, part string }{
			{"region~ANY", "region~ANY"},
			{"colour~ANY~'red'", "colour"},
			{"region~GT~'US'", "GT"},
			{"plan~ANY~'No such plan'", "No such plan"},
			{"mrr~GT~'lots'", "'lots'"},
		} {
			for _, path := range []string{"/v1/metrics/all?start-date=" + b.start + "&end-date=" + b.end + "&",
				"/v1/customers?", "/v1/activities?", "/v1/metrics/cohorts?start-date=" + b.start + "&end-date=" + b.end + "&"} {
				r := b.e.do(b.key, "GET", path+"filters="+url.QueryEscape(c.filters), nil)
				if r.status != 400 || !strings.Contains(string(r.body), c.part) {
					t.Errorf("%s %q: %d %s, want a 400 naming %q", path, c.filters, r.status, r.body, c.part)
				}
			}
		}
		if r := b.e.do(b.key, "GET", "/v1/customers?segment=seg_00000000-0000-0000-0000-000000000000", nil); r.status != 404 && r.status != 400 {
			t.Errorf("unknown segment: %d %s", r.status, r.body)
		}
	})
}
