package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// CSVColumns are the documented columns (docs/api.md, "Metrics as CSV")
// of each Metrics API endpoint, written out by hand. It and the helpers
// below are exported for the demo book's test (package api_test, as the
// demo imports api).
var CSVColumns = map[string][]string{
	"all": {"date", "mrr", "mrr-percentage-change", "arr", "arr-percentage-change", "customer-churn-rate",
		"customer-churn-rate-percentage-change", "mrr-churn-rate", "mrr-churn-rate-percentage-change", "ltv",
		"ltv-percentage-change", "customers", "customers-percentage-change", "asp", "asp-percentage-change", "arpa",
		"arpa-percentage-change"},
	"mrr": {"date", "mrr", "percentage-change", "mrr-new-business", "mrr-expansion", "mrr-contraction", "mrr-churn",
		"mrr-reactivation"},
	"mrr?with_net_new=true": {"date", "mrr", "percentage-change", "mrr-new-business", "mrr-expansion", "mrr-contraction",
		"mrr-churn", "mrr-reactivation", "net-new-mrr", "net-new-mrr-percentage-change"},
	"arr":                 {"date", "arr", "percentage-change"},
	"arpa":                {"date", "arpa", "percentage-change"},
	"asp":                 {"date", "asp", "percentage-change"},
	"customer-count":      {"date", "customers", "percentage-change"},
	"customer-churn-rate": {"date", "customer-churn-rate", "percentage-change"},
	"mrr-churn-rate":      {"date", "mrr-churn-rate", "percentage-change"},
	"ltv":                 {"date", "ltv", "percentage-change"},
	"cash-flow": {"date", "gross-cash-flow", "net-cash-flow", "non-recurring-cash-flow", "refunds", "failed-charges",
		"failed-transactions", "successful-payments"},
	"retention": {"date", "gross-mrr-churn-rate", "net-mrr-retention", "gross-mrr-retention", "customer-retention",
		"net-mrr-retention-t12m", "gross-mrr-retention-t12m", "customer-retention-t12m"},
	"cmrr": {"date", "cmrr", "mrr", "scheduled-new-business", "scheduled-expansion", "scheduled-contraction",
		"scheduled-churn", "scheduled-reactivation"},
}

// MetricsURL is the endpoint of a CSVColumns key with the range q (a
// query without its ?).
func MetricsURL(endpoint, q string) string {
	path, extra, _ := strings.Cut(endpoint, "?")
	if extra != "" {
		q += "&" + extra
	}
	return "/v1/metrics/" + path + "?" + q
}

// TestMetricsCSV: every Metrics API endpoint answers its entries as CSV
// with format=csv, in the documented columns and in the JSON's own
// digits; format=json is the JSON unchanged; other formats and every
// error are JSON.
func TestMetricsCSV(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		syncalytics(t, e)
		q := "start-date=2024-01-01&end-date=2025-03-31&interval=month&as-of=2025-03-15"
		for endpoint, want := range CSVColumns {
			plain := e.do(e.key, "GET", MetricsURL(endpoint, q), nil)
			for _, f := range []string{"json", ""} {
				asJSON := e.do(e.key, "GET", MetricsURL(endpoint, q+"&format="+f), nil)
				if plain.status != 200 || !bytes.Equal(plain.body, asJSON.body) || asJSON.header.Get("Content-Type") != "application/json; charset=utf-8" {
					t.Errorf("%s: format=%s answered %d %q, without format %d %q", endpoint, f, asJSON.status, asJSON.body, plain.status, plain.body)
				}
			}
			r := e.do(e.key, "GET", MetricsURL(endpoint, q+"&format=csv"), nil)
			name, _, _ := strings.Cut(endpoint, "?")
			if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
				r.header.Get("Content-Disposition") != `attachment; filename="`+name+`-2024-01-01-2025-03-31.csv"` {
				t.Fatalf("%s: %d %v %q", endpoint, r.status, r.header, r.body)
			}
			rows := CSVRows(t, r.body)
			if !slices.Equal(rows[0], want) {
				t.Errorf("%s: columns %q, want %q", endpoint, rows[0], want)
			}
			SameNumbers(t, endpoint, plain.body, rows)
		}

		// By hand (TestMetricsAPI's book): January 2024 is Gold yearly's
		// 200000/12 = 16667 new business, with Silver's 6000 coming
		// (expansion) and going (contraction) in it; February and March
		// nothing moves. Money in cents, as the JSON has it.
		r := e.do(e.key, "GET", "/v1/metrics/mrr?start-date=2024-01-01&end-date=2024-03-31&format=csv", nil)
		want := "date,mrr,percentage-change,mrr-new-business,mrr-expansion,mrr-contraction,mrr-churn,mrr-reactivation\n" +
			"2024-01-31,16667,0,16667,6000,-6000,0,0\n" +
			"2024-02-29,16667,0,0,0,0,0,0\n" +
			"2024-03-31,16667,0,0,0,0,0,0\n"
		if string(r.body) != want {
			t.Errorf("mrr CSV\n%s\nwant\n%s", r.body, want)
		}
		// January 2025 the one customer churns: 1 of 1 customers, 16667 of
		// 16667 MRR, 100 % each; MRR and customers fall by 100 %.
		r = e.do(e.key, "GET", "/v1/metrics/all?start-date=2025-01-01&end-date=2025-01-31&format=csv", nil)
		want = "date,mrr,mrr-percentage-change,arr,arr-percentage-change,customer-churn-rate,customer-churn-rate-percentage-change," +
			"mrr-churn-rate,mrr-churn-rate-percentage-change,ltv,ltv-percentage-change,customers,customers-percentage-change," +
			"asp,asp-percentage-change,arpa,arpa-percentage-change\n" +
			"2025-01-31,0,0,0,0,100,0,100,0,0,0,0,0,0,0,0,0\n"
		if string(r.body) != want {
			t.Errorf("all CSV\n%s\nwant\n%s", r.body, want)
		}
		// The range in the file name is the request's, in any accepted
		// spelling.
		r = e.do(e.key, "GET", "/v1/metrics/arr?start_date=2024-01-01T10:00:00Z&end_date=2024-03-31&format=csv", nil)
		if d := r.header.Get("Content-Disposition"); r.status != 200 || d != `attachment; filename="arr-2024-01-01-2024-03-31.csv"` {
			t.Errorf("arr: %d %q", r.status, d)
		}

		// Mistakes are JSON, naming the parameter, with or without csv.
		for _, bad := range []struct{ path, param string }{
			{"/v1/metrics/mrr?" + q + "&format=xml", "format"},
			{"/v1/metrics/mrr?" + q + "&format=CSV", "format"},
			{"/v1/metrics/cash-flow?" + q + "&format=csv%00", "format"}, // refused before the handler
			{"/v1/metrics/retention?" + q + "&format=text/csv", "format"},
			{"/v1/metrics/all?end-date=2024-02-01&format=csv", "start-date"},
			{"/v1/metrics/mrr?" + q + "&with_net_new=1&format=csv", "with_net_new"},
			{"/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2025-03-31&interval=fortnight&format=csv", "interval"},
			{"/v1/metrics/arpa?" + q + "&geo=XX&format=csv", "geo"},
		} {
			r := e.do(e.key, "GET", bad.path, nil)
			if r.status != 400 || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("%s: %d %q", bad.path, r.status, r.body)
				continue
			}
			if r.json(t)["param"] != bad.param {
				t.Errorf("%s: %s, want param %s", bad.path, r.body, bad.param)
			}
		}
		if r := e.do(e.key, "GET", "/v1/metrics/happiness?"+q+"&format=csv", nil); r.status != 404 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("unknown metric as CSV: %d %q", r.status, r.body)
		}
		if r := e.do("", "GET", "/v1/metrics/mrr?"+q+"&format=csv", nil); r.status != 401 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("no key: %d %q", r.status, r.body)
		}
	})
}

// CSVRows reads a CSV body, at least its header line.
func CSVRows(t *testing.T, body []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("not a CSV (%v): %q", err, body)
	}
	return rows
}

// SameNumbers checks that the CSV rows hold the JSON's entries: one line
// each, every field in its column in the JSON's own text.
func SameNumbers(t *testing.T, what string, jsonBody []byte, rows [][]string) {
	t.Helper()
	var body struct{ Entries []map[string]any }
	d := json.NewDecoder(bytes.NewReader(jsonBody))
	d.UseNumber()
	if err := d.Decode(&body); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(rows) != len(body.Entries)+1 {
		t.Fatalf("%s: %d lines for %d entries", what, len(rows)-1, len(body.Entries))
	}
	for i, entry := range body.Entries {
		if len(entry) != len(rows[0]) {
			t.Errorf("%s %v: %d fields, %d columns", what, entry["date"], len(entry), len(rows[0]))
		}
		for j, col := range rows[0] {
			var want string
			switch v := entry[col].(type) {
			case json.Number:
				want = v.String()
			case string:
				want = v
			default:
				t.Fatalf("%s: column %s is %T in the JSON", what, col, v)
			}
			if got := rows[i+1][j]; got != want {
				t.Errorf("%s %v %s: CSV %q, JSON %q", what, entry["date"], col, got, want)
			}
		}
	}
}

// TestCSVCellIsTheJSONText: a cell is what encoding/json writes for the
// same value, in particular every float64 (the fast path must match
// json.Marshal, exponents included); text is kept from being a formula.
func TestCSVCellIsTheJSONText(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 33.33, 100, -100, 1.0 / 3, 2.0 / 3 * 100, 16667, 200004,
		1e-6, 9.999999e-7, 1e-7, 1.5e-7, 1e20, 1e21, 123456789012345680000, 1e22, -1e21, math.MaxFloat64,
		math.SmallestNonzeroFloat64, float64(1 << 59), -float64(1 << 59)}
	rng := rand.New(rand.NewPCG(12, 4))
	for range 100000 {
		f := math.Float64frombits(rng.Uint64())
		for _, f := range []float64{f, math.Round(f*100) / 100} {
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				floats = append(floats, f)
			}
		}
	}
	for range 10000 {
		floats = append(floats, math.Round(rng.NormFloat64()*1e6)/100)
	}
	for _, f := range floats {
		b, _ := json.Marshal(f)
		if got := csvCell(f); got != string(b) {
			t.Fatalf("csvCell(%v) = %s, json %s", f, got, b)
		}
	}
	for v, want := range map[any]string{int64(-6000): "-6000", int64(math.MaxInt64): "9223372036854775807", 42: "42",
		nil: "", "2024-01-31": "2024-01-31", "=1+1": "'=1+1", "-2+3": "'-2+3", json.Number("-12.5"): "-12.5", true: "true"} {
		if got := csvCell(v); got != want {
			t.Errorf("csvCell(%#v) = %q, want %q", v, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a NaN was written: the JSON refuses it")
		}
	}()
	csvCell(math.NaN())
}

// TestCSVNeverDropsAColumn: a field a handler adds without naming it in
// its columns is still written, after them.
func TestCSVNeverDropsAColumn(t *testing.T) {
	rows := []map[string]any{{"date": "2024-01-31", "mrr": 1, "zz": 2}, {"date": "2024-02-29", "mrr": 1, "aa": 3}}
	if got := withEveryKey(rows, []string{"date", "mrr"}); !slices.Equal(got, []string{"date", "mrr", "aa", "zz"}) {
		t.Errorf("columns %q", got)
	}
	cols := []string{"date", "mrr"}
	if got := withEveryKey(rows[:1], cols[:2:2]); !slices.Equal(cols, []string{"date", "mrr"}) || !slices.Equal(got, []string{"date", "mrr", "zz"}) {
		t.Errorf("columns %q, the caller's %q", got, cols)
	}
}

// TestCohortsCSV: a cohorts answer (issue 12's shape: a row per cohort
// with its size, MRR and a cell per age) is written a line per cell, the
// cohort's fields first.
func TestCohortsCSV(t *testing.T) {
	rows := []map[string]any{
		{"cohort": "2024-01-01", "customers": int64(4), "mrr": int64(40000), "cells": []map[string]any{
			{"date": "2024-01-31", "customers": int64(4), "customers-percentage": 100.0, "mrr": int64(40000), "mrr-percentage": 100.0},
			{"date": "2024-02-29", "customers": int64(3), "customers-percentage": 75.0, "mrr": int64(33333), "mrr-percentage": 83.33},
		}},
		{"cohort": "2024-02-01", "customers": int64(0), "mrr": int64(0), "cells": []any{
			map[string]any{"date": "2024-02-29", "customers": int64(0), "customers-percentage": 0.0, "mrr": int64(0), "mrr-percentage": 0.0},
		}},
	}
	body := map[string]any{"entries": rows}
	for _, tc := range []struct{ query, want string }{
		{"format=csv&start-date=2024-01-01&end-date=2024-02-29",
			"cohort,cohort-customers,cohort-mrr,age,date,customers,customers-percentage,mrr,mrr-percentage\n" +
				"2024-01-01,4,40000,0,2024-01-31,4,100,40000,100\n" +
				"2024-01-01,4,40000,1,2024-02-29,3,75,33333,83.33\n" +
				"2024-02-01,0,0,0,2024-02-29,0,0,0,0\n"},
		{"start-date=2024-01-01&end-date=2024-02-29", ""},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1/metrics/cohorts?"+tc.query, nil)
		if err := respond(w, r, "cohorts", body, cohortLines(rows, "cells"), cohortColumns); err != nil {
			t.Fatal(err)
		}
		if tc.want == "" {
			want, _ := json.Marshal(body)
			if got := w.Body.String(); got != string(want)+"\n" {
				t.Errorf("JSON %s", got)
			}
			continue
		}
		if got := w.Body.String(); got != tc.want || w.Header().Get("Content-Disposition") != `attachment; filename="cohorts-2024-01-01-2024-02-29.csv"` {
			t.Errorf("CSV %v\n%s\nwant\n%s", w.Header(), got, tc.want)
		}
	}
}

// BenchmarkRespond writes a metrics/all answer at the entry cap (5,000
// entries of 17 fields) as JSON and as CSV. Run:
//
//	go test ./internal/api -run '^$' -bench Respond
func BenchmarkRespond(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]map[string]any, 5000)
	for i := range rows {
		m := map[string]any{"date": "2024-01-31"}
		for j, k := range allKeys {
			if j%2 == 0 {
				m[k] = rng.Int64N(1e9)
			} else {
				m[k] = math.Round(rng.Float64()*10000) / 100
			}
			m[k+"-percentage-change"] = math.Round(rng.NormFloat64()*1000) / 100
		}
		rows[i] = m
	}
	body := map[string]any{"entries": rows, "summary": map[string]any{}}
	for _, format := range []string{"json", "csv"} {
		b.Run(format, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/v1/metrics/all?start-date=2024-01-01&end-date=2024-12-31&format="+format, nil)
			for b.Loop() {
				w := httptest.NewRecorder()
				if err := respond(w, r, "all", body, rows, metricColumns("all", allKeys, false)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
