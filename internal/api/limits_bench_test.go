package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store/storetest"
)

// BenchmarkWorstMetricsRequest measures the memory of the costliest
// metrics requests a read key can make at the default --max-entries: a
// daily series of exactly 5,000 entries on every heavy endpoint, over an
// account of 100 customers with two years of monthly invoices each. It
// reports the bytes allocated per request (an upper bound of what one
// request adds to the heap at its peak, the answer's body included) and
// fails above 64 MiB, the bound. Run:
//
//	go test ./internal/api -run '^$' -bench WorstMetricsRequest -benchtime 5x
func BenchmarkWorstMetricsRequest(b *testing.B) {
	e, a := newEnvAPI(b, storetest.Open(b, "sqlite"), Options{})
	ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "bench"})["uuid"].(string)
	plan := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Monthly", "interval_count": 1,
		"interval_unit": "month", "external_id": "monthly"})["uuid"].(string)
	for c := range 100 {
		cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": fmt.Sprint("c", c),
			"country": "US"})["uuid"].(string)
		var invs []any
		start := time.Date(2020, time.Month(1+c%12), 1, 0, 0, 0, 0, time.UTC)
		for m := range 24 {
			from, to := start.AddDate(0, m, 0), start.AddDate(0, m+1, 0)
			invs = append(invs, map[string]any{"external_id": fmt.Sprint("i", c, "-", m), "date": from.Format(time.RFC3339), "currency": "USD",
				"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": fmt.Sprint("s", c), "plan_uuid": plan,
					"service_period_start": from.Format(time.RFC3339), "service_period_end": to.Format(time.RFC3339),
					"amount_in_cents": 1000 + 100*(m%5) + c}},
				"transactions": []any{map[string]any{"type": "payment", "result": "successful", "date": from.Format(time.RFC3339)}}})
		}
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", map[string]any{"invoices": invs})
	}
	h := a.handler()
	// 2010-01-01 and 4,999 days after it: 5,000 daily entries, the cap.
	q := "?start-date=2010-01-01&end-date=2023-09-09&interval=day"
	for _, name := range []string{"all", "mrr", "cmrr", "retention", "cash-flow"} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/v1/metrics/"+name+q, nil)
			req.SetBasicAuth(e.readKey, "")
			serve := func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %.300s", rec.Code, rec.Body)
				}
			}
			serve() // the results cache is the account's, not the request's
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			n := 0
			for b.Loop() {
				serve()
				n++
			}
			runtime.ReadMemStats(&after)
			perOp := float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
			b.ReportMetric(perOp/(1<<20), "MiB/op")
			if perOp > 64<<20 {
				b.Errorf("%s allocates %.1f MiB per request, over 64 MiB", name, perOp/(1<<20))
			}
		})
	}
}
