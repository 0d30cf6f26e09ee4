package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/store"
)

// JSONImportOptions size the bulk import measurement.
type JSONImportOptions struct {
	Options
	// PerRequest is the customers of one request (issue 13: 1,000).
	PerRequest int
	// Concurrency is the requests in flight at once (1: one after the
	// other, as a client that waits for each answer sends them).
	Concurrency int
}

// JSONImport measures issue 13's bulk import: the book Run generates (the
// same customers, plans and invoices, seed for seed), sent through POST
// /v1/data_sources/{uuid}/json_imports over HTTP in requests of
// PerRequest customers, each with their invoices, line items and
// transactions. Each answer comes once the import is stored and its
// customers recomputed, so the metrics are current when the last request
// is answered: the time to that answer is the figure. The bodies are
// encoded before the clock starts (they are the client's work).
func JSONImport(ctx context.Context, s *store.Store, o JSONImportOptions) error {
	out := o.Out
	acct, ds, err := benchSource(ctx, s, "bench")
	if err != nil {
		return err
	}
	key, err := fullKey(ctx, s, acct.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "generating %d customers × %d invoices in requests of %d customers…\n", o.Customers, o.InvoicesPerCustomer, o.PerRequest)
	bodies, invoices, err := jsonBodies(o.Options, o.PerRequest)
	if err != nil {
		return err
	}
	var size int
	for _, b := range bodies {
		size += len(b)
	}
	fmt.Fprintf(out, "%d requests, %d invoices, %.1f MiB of JSON (largest %.1f MiB)\n", len(bodies), invoices,
		float64(size)/(1<<20), float64(largest(bodies))/(1<<20))

	srv := httptest.NewServer(api.New(s, api.Options{RateLimit: 0}))
	defer srv.Close()
	post := func(body []byte) (time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/data_sources/"+ds.UUID+"/json_imports", bytes.NewReader(body))
		req.SetBasicAuth(key, "")
		req.Header.Set("Content-Type", "application/json")
		t := time.Now()
		res, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var answer struct {
			Status string `json:"status"`
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || json.Unmarshal(b, &answer) != nil || answer.Status != "completed" {
			return 0, fmt.Errorf("json import: %d %.500s", res.StatusCode, b)
		}
		return time.Since(t), nil
	}
	// The plans come first, alone: every later request names them.
	if _, err := post(bodies[0]); err != nil {
		return err
	}
	bodies = bodies[1:]
	start := time.Now()
	times := make([]time.Duration, len(bodies))
	errs := make(chan error, len(bodies))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, o.Concurrency) {
		wg.Go(func() {
			for i := range next {
				d, err := post(bodies[i])
				times[i] = d
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range bodies {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	// Nothing may be left for a background pass: the answers came after
	// their recomputations.
	pending, err := s.DirtyAccounts(ctx, store.PendingAll, time.Now())
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("customers still wait for a recomputation after the last answer")
	}
	fmt.Fprintf(out, "json import: %d customers, %d invoices in %s, metrics current at the last answer (%.0f invoices/s; %d at a time; per request p50 %s, max %s)\n",
		o.Customers, invoices, took.Round(time.Millisecond), float64(invoices)/took.Seconds(), max(1, o.Concurrency),
		pct(times, 50), pct(times, 100))
	fmt.Fprintf(out, "peak memory: %s\n", peakMemory())
	return nil
}

func largest(bodies [][]byte) int {
	n := 0
	for _, b := range bodies {
		n = max(n, len(b))
	}
	return n
}

// Wire forms of the book, as a client sends them.
type (
	wireCustomer struct {
		ExternalID string         `json:"external_id"`
		Name       string         `json:"name"`
		Country    *string        `json:"country,omitempty"`
		Attributes map[string]any `json:"attributes,omitempty"`
	}
	wirePlan struct {
		ExternalID    string `json:"external_id"`
		Name          string `json:"name"`
		IntervalCount int    `json:"interval_count"`
		IntervalUnit  string `json:"interval_unit"`
	}
	wireInvoice struct {
		ExternalID         string `json:"external_id"`
		CustomerExternalID string `json:"customer_external_id"`
		Date               string `json:"date"`
		Currency           string `json:"currency"`
	}
	wireLine struct {
		InvoiceExternalID      string `json:"invoice_external_id"`
		Type                   string `json:"type"`
		SubscriptionExternalID string `json:"subscription_external_id"`
		PlanExternalID         string `json:"plan_external_id"`
		ServicePeriodStart     string `json:"service_period_start"`
		ServicePeriodEnd       string `json:"service_period_end"`
		CancelledAt            string `json:"cancelled_at,omitempty"`
		AmountInCents          int64  `json:"amount_in_cents"`
		Quantity               int64  `json:"quantity"`
	}
	wireTransaction struct {
		InvoiceExternalID string `json:"invoice_external_id"`
		Type              string `json:"type"`
		Result            string `json:"result"`
		Date              string `json:"date"`
	}
	wireImport struct {
		ExternalID   string            `json:"external_id"`
		Customers    []wireCustomer    `json:"customers,omitempty"`
		Plans        []wirePlan        `json:"plans,omitempty"`
		Invoices     []wireInvoice     `json:"invoices,omitempty"`
		LineItems    []wireLine        `json:"line_items,omitempty"`
		Transactions []wireTransaction `json:"transactions,omitempty"`
	}
)

// jsonBodies encodes the book: a first request with the plans, then one
// per perRequest customers.
func jsonBodies(o Options, perRequest int) ([][]byte, int, error) {
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	first := wireImport{ExternalID: "plans"}
	for i, p := range benchPlans {
		wp := wirePlan{ExternalID: fmt.Sprintf("plan-%d", i+1), Name: fmt.Sprintf("Plan %d", i+1), IntervalCount: 1, IntervalUnit: p.unit}
		if p.unit == "month" && p.months == 3 {
			wp.IntervalCount = 3
		}
		first.Plans = append(first.Plans, wp)
	}
	b, err := json.Marshal(first)
	if err != nil {
		return nil, 0, err
	}
	bodies := [][]byte{b}
	base := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	const day = time.DateTime
	invoices := 0
	var req wireImport
	flush := func() error {
		b, err := json.Marshal(req)
		bodies = append(bodies, b)
		req = wireImport{}
		return err
	}
	for c := range o.Customers {
		if c%perRequest == 0 {
			if c > 0 {
				if err := flush(); err != nil {
					return nil, 0, err
				}
			}
			req.ExternalID = fmt.Sprintf("customers-%d", c)
		}
		cus := customer(rng, c, "")
		custom := map[string]any{}
		for k, v := range cus.Custom {
			custom[k] = v.Value
		}
		attrs := map[string]any{"custom": custom}
		if len(cus.Tags) > 0 {
			attrs["tags"] = cus.Tags
		}
		req.Customers = append(req.Customers, wireCustomer{ExternalID: cus.ExternalID, Name: cus.Name, Country: cus.Country, Attributes: attrs})
		invs := book(rng, c, base, o.InvoicesPerCustomer, func() (string, int, int64) {
			k := rng.IntN(len(benchPlans))
			return fmt.Sprintf("plan-%d", k+1), benchPlans[k].months, benchPlans[k].price
		})
		invoices += len(invs)
		for _, inv := range invs {
			req.Invoices = append(req.Invoices, wireInvoice{ExternalID: inv.ExternalID, CustomerExternalID: cus.ExternalID,
				Date: inv.Date.Format(day), Currency: inv.Currency})
			for _, l := range inv.LineItems {
				wl := wireLine{InvoiceExternalID: inv.ExternalID, Type: l.Type, SubscriptionExternalID: l.SubscriptionExternalID,
					PlanExternalID: l.PlanUUID, ServicePeriodStart: l.ServicePeriodStart.Format(day),
					ServicePeriodEnd: l.ServicePeriodEnd.Format(day), AmountInCents: l.AmountInCents, Quantity: l.Quantity}
				if l.CancelledAt != nil {
					wl.CancelledAt = l.CancelledAt.Format(day)
				}
				req.LineItems = append(req.LineItems, wl)
			}
			for _, t := range inv.Transactions {
				req.Transactions = append(req.Transactions, wireTransaction{InvoiceExternalID: inv.ExternalID, Type: t.Type,
					Result: t.Result, Date: t.Date.Format(day)})
			}
		}
	}
	if len(req.Customers) > 0 {
		if err := flush(); err != nil {
			return nil, 0, err
		}
	}
	return bodies, invoices, nil
}
