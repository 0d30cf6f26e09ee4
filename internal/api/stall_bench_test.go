package api

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// BenchmarkOtherAccountDuringSettingsChange measures how long one account's
// writes wait while another, large account recomputes every customer after
// a settings change (issue 10: no account stalls another for more than
// 100 ms). It reports the slowest and the p99 of globex's writes made
// while acme's change runs, and the change's own duration. Run:
//
//	TALLY_BENCH_CUSTOMERS=10000 go test ./internal/api -run '^$' -bench OtherAccountDuring -benchtime 3x
func BenchmarkOtherAccountDuringSettingsChange(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("TALLY_BENCH_CUSTOMERS")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			s := storetest.Open(b, backend)
			e := newEnv(b, s, Options{RateLimit: -1})
			ctx := context.Background()
			acct, err := s.AccountByName(ctx, "acme")
			if err != nil {
				b.Fatal(err)
			}
			ds, err := s.CreateDataSource(ctx, acct.ID, "big", billing.SystemImportAPI)
			if err != nil {
				b.Fatal(err)
			}
			pl := billing.Plan{DataSourceUUID: ds.UUID, Name: "Monthly", IntervalCount: 1, IntervalUnit: "month"}
			if err := s.CreatePlan(ctx, acct.ID, &pl); err != nil {
				b.Fatal(err)
			}
			for c := range n {
				cus := billing.Customer{DataSourceUUID: ds.UUID, ExternalID: fmt.Sprintf("c%d", c)}
				if err := s.CreateCustomer(ctx, acct.ID, &cus); err != nil {
					b.Fatal(err)
				}
				var invs []billing.Invoice
				for m := range 12 {
					start := time.Date(2024, time.Month(1+m), 1, 0, 0, 0, 0, time.UTC)
					end := start.AddDate(0, 1, 0)
					invs = append(invs, billing.Invoice{ExternalID: fmt.Sprintf("i%d-%d", c, m), Date: start, Currency: "USD",
						LineItems: []billing.LineItem{{Type: billing.LineSubscription, SubscriptionExternalID: fmt.Sprintf("s%d", c), PlanUUID: pl.UUID,
							ServicePeriodStart: &start, ServicePeriodEnd: &end, AmountInCents: int64(1000 + c%7*100), Quantity: 1}}})
				}
				if err := s.ImportInvoices(ctx, acct.ID, cus.UUID, "USD", invs); err != nil {
					var be *store.InvoiceBatchError
					if errors.As(err, &be) {
						b.Fatalf("%v: %v", err, be.Errors)
					}
					b.Fatal(err)
				}
			}
			if _, err := recompute.All(ctx, s, acct.ID, recompute.NewStoreRates(ctx, s)); err != nil {
				b.Fatal(err)
			}
			other := e.do(e.otherKey, "POST", "/v1/data_sources", map[string]any{"name": "small"}).json(b)["uuid"].(string)
			var waits []time.Duration
			var changes time.Duration
			i := 0
			modes := []string{"end_of_period", "immediate"}
			round := 0
			for b.Loop() {
				round++
				mode := modes[round%2]
				done := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					defer close(done)
					start := time.Now()
					if r := e.do(e.key, "PATCH", "/v1/account/settings", map[string]any{"churn_recognition": mode}); r.status != 200 {
						b.Errorf("settings: %d %s", r.status, r.body)
					}
					changes += time.Since(start)
				})
				for running := true; running; {
					select {
					case <-done:
						running = false
					default:
					}
					i++
					start := time.Now()
					if r := e.do(e.otherKey, "POST", "/v1/customers", map[string]any{"data_source_uuid": other, "external_id": fmt.Sprintf("o%d", i)}); r.status != 201 {
						b.Fatalf("other account: %d %s", r.status, r.body)
					}
					waits = append(waits, time.Since(start))
				}
				wg.Wait()
			}
			slices.Sort(waits)
			b.ReportMetric(float64(waits[len(waits)-1].Microseconds())/1000, "max-other-write-ms")
			b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds())/1000, "p99-other-write-ms")
			b.ReportMetric(float64(changes.Milliseconds())/float64(b.N), "settings-change-ms")
		})
	}
}
