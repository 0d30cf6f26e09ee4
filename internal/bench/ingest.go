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
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// IngestOptions size the ingestion measurement.
type IngestOptions struct {
	Options
	// Clients are the clients sending at once, each one customer at a time
	// (issue 14: 8).
	Clients int
	// Account is the account the book is sent into, made if need be
	// (default "bench"); it must hold no book yet.
	Account string
}

// createdCustomer is what POST /v1/customers answers that Ingest reads.
type createdCustomer struct {
	UUID string `json:"uuid"`
}

// IngestResult is what an ingestion measured.
type IngestResult struct {
	Invoices int
	Took     time.Duration
}

// Rate is the invoices per second.
func (r IngestResult) Rate() float64 { return float64(r.Invoices) / r.Took.Seconds() }

// Ingest measures issue 14's ingestion as clients send it: the book Run
// generates (the same customers, plans and invoices, seed for seed), one
// customer per request through POST /v1/customers, then its invoices in
// one POST /v1/import/customers/{uuid}/invoices, by Clients clients at
// once, each taking the next customer. Every invoice import is answered
// once its customer is recomputed (read-your-writes), so the metrics are
// current at the last answer: the time to it is the figure. The bodies are
// encoded before the clock starts (they are the client's work). At the
// end the metrics the API answers are checked against a full recompute's.
//
// With TALLY_BENCH_CPUPROFILE set to a file name, a CPU profile of the
// timed part (clients and server share the process) is written there.
func Ingest(ctx context.Context, s *store.Store, o IngestOptions) (IngestResult, error) {
	var res IngestResult
	if err := ingest(ctx, s, o, &res); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Out, "peak memory: %s\n", peakMemory())
	return res, nil
}

func ingest(ctx context.Context, s *store.Store, o IngestOptions, res *IngestResult) error {
	out := o.Out
	clients := max(1, o.Clients)
	if o.Account == "" {
		o.Account = "bench"
	}
	acct, ds, err := benchSource(ctx, s, o.Account)
	if err != nil {
		return err
	}
	key, err := fullKey(ctx, s, acct.ID)
	if err != nil {
		return err
	}
	// The plans exist before the clients start, as Run's do.
	made, err := createPlans(ctx, s, acct.ID, ds.UUID)
	if err != nil {
		return err
	}
	var plans []string
	for _, p := range made {
		plans = append(plans, p.uuid)
	}
	fmt.Fprintf(out, "generating %d customers × %d invoices, one customer per request, %d clients…\n",
		o.Customers, o.InvoicesPerCustomer, clients)
	bodies, invoices, err := ingestBodies(o.Options, ds.UUID, plans)
	if err != nil {
		return err
	}

	srv := httptest.NewServer(api.New(s, api.Options{RateLimit: 0}))
	defer srv.Close()
	client := srv.Client()
	// Every client keeps its connection: as many idle ones as clients.
	if t, ok := client.Transport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = clients
		client = &http.Client{Transport: t}
		defer t.CloseIdleConnections()
	}
	post := func(path string, body []byte, want int, answer any) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, bytes.NewReader(body))
		req.SetBasicAuth(key, "")
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		if res.StatusCode != want {
			return fmt.Errorf("POST %s: %d %.500s", path, res.StatusCode, b)
		}
		if answer != nil {
			if err := json.Unmarshal(b, answer); err != nil {
				return fmt.Errorf("POST %s: %w", path, err)
			}
		}
		return nil
	}
	if path := os.Getenv("TALLY_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	custTimes := make([]time.Duration, len(bodies))
	invTimes := make([]time.Duration, len(bodies))
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	// The answer's type is decoded once before the clients start: with
	// Go 1.26's race detector, encoding/json's first decodes of a type in
	// several goroutines at once are reported as a race inside its field
	// cache (a sync.Map), which the detector does not see synchronize.
	_ = json.Unmarshal([]byte(`{}`), &createdCustomer{})
	cpu0 := cpuTime()
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for failed.Load() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				t := time.Now()
				var cus createdCustomer
				if err := post("/v1/customers", bodies[i].customer, http.StatusCreated, &cus); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				t2 := time.Now()
				custTimes[i] = t2.Sub(t)
				if err := post("/v1/import/customers/"+cus.UUID+"/invoices", bodies[i].invoices, http.StatusCreated, nil); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				invTimes[i] = time.Since(t2)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	*res = IngestResult{Invoices: invoices, Took: took}
	cpu := cpuTime() - cpu0
	pprof.StopCPUProfile()
	if err := failed.Load(); err != nil {
		return *err
	}
	fmt.Fprintf(out, "ingest: %d customers, %d invoices in %s by %d clients, one customer per request, each answer read-your-writes "+
		"(%.0f invoices/s, %.0f customers/s)\n", len(bodies), invoices, took.Round(time.Millisecond), clients,
		float64(invoices)/took.Seconds(), float64(len(bodies))/took.Seconds())
	fmt.Fprintf(out, "process CPU (clients and server): %s, %.0f µs per invoice\n", cpu.Round(time.Millisecond),
		float64(cpu.Microseconds())/float64(max(1, invoices)))
	fmt.Fprintf(out, "POST /v1/customers: p50 %s p99 %s; POST /v1/import/customers/{uuid}/invoices (%d invoices): p50 %s p99 %s\n",
		pct(custTimes, 50), pct(custTimes, 99), o.InvoicesPerCustomer, pct(invTimes, 50), pct(invTimes, 99))

	// The answers came after their recomputations: nothing is left marked,
	// and what the API answers is what a full recompute gives.
	pending, err := s.DirtyAccounts(ctx, store.PendingAll, time.Now())
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("customers still wait for a recomputation after the last answer")
	}
	const month = "/v1/metrics/all?start-date=2024-06-01&end-date=2024-06-30&interval=month"
	get := func() ([]byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+month, nil)
		req.SetBasicAuth(key, "")
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %d %.500s", month, res.StatusCode, b)
		}
		return b, err
	}
	live, err := get()
	if err != nil {
		return err
	}
	if _, err := recompute.All(ctx, s, acct.ID, recompute.NewStoreRates(ctx, s)); err != nil {
		return err
	}
	full, err := get()
	if err != nil {
		return err
	}
	if !bytes.Equal(live, full) {
		return fmt.Errorf("metrics after ingestion differ from a full recompute's:\n%s\n%s", live, full)
	}
	fmt.Fprintf(out, "metrics current at the last answer: June 2024's metrics/all equals a full recompute's\n")
	return nil
}

// cpuTime is the CPU time the process has used, user and system; the
// machine is shared, so the time per invoice says more than the rate alone.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ingestBody is one customer as a client sends it: the customer, then its
// invoices.
type ingestBody struct {
	customer, invoices []byte
}

type (
	wireCustomAttr struct {
		Type  string `json:"type"`
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
	wireNewCustomer struct {
		DataSourceUUID string  `json:"data_source_uuid"`
		ExternalID     string  `json:"external_id"`
		Name           string  `json:"name"`
		Country        *string `json:"country,omitempty"`
		Attributes     struct {
			Tags   []string         `json:"tags,omitempty"`
			Custom []wireCustomAttr `json:"custom,omitempty"`
		} `json:"attributes"`
	}
	wireImportLine struct {
		Type                   string `json:"type"`
		SubscriptionExternalID string `json:"subscription_external_id"`
		PlanUUID               string `json:"plan_uuid"`
		ServicePeriodStart     string `json:"service_period_start"`
		ServicePeriodEnd       string `json:"service_period_end"`
		CancelledAt            string `json:"cancelled_at,omitempty"`
		AmountInCents          int64  `json:"amount_in_cents"`
		Quantity               int64  `json:"quantity"`
	}
	wireImportTransaction struct {
		Type   string `json:"type"`
		Result string `json:"result"`
		Date   string `json:"date"`
	}
	wireImportInvoice struct {
		ExternalID   string                  `json:"external_id"`
		Date         string                  `json:"date"`
		Currency     string                  `json:"currency"`
		LineItems    []wireImportLine        `json:"line_items"`
		Transactions []wireImportTransaction `json:"transactions"`
	}
)

// ingestBodies encodes the book as Run generates it, customer by customer.
func ingestBodies(o Options, dsUUID string, plans []string) ([]ingestBody, int, error) {
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	base := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	const day = time.DateTime
	out := make([]ingestBody, 0, o.Customers)
	invoices := 0
	for c := range o.Customers {
		cus := customer(rng, c, dsUUID)
		wc := wireNewCustomer{DataSourceUUID: dsUUID, ExternalID: cus.ExternalID, Name: cus.Name, Country: cus.Country}
		wc.Attributes.Tags = cus.Tags
		for k, v := range cus.Custom {
			wc.Attributes.Custom = append(wc.Attributes.Custom, wireCustomAttr{Type: v.Type, Key: k, Value: v.Value})
		}
		invs := book(rng, c, base, o.InvoicesPerCustomer, func() (string, int, int64) {
			k := rng.IntN(len(plans))
			return plans[k], benchPlans[k].months, benchPlans[k].price
		})
		invoices += len(invs)
		var req struct {
			Invoices []wireImportInvoice `json:"invoices"`
		}
		for _, inv := range invs {
			wi := wireImportInvoice{ExternalID: inv.ExternalID, Date: inv.Date.Format(day), Currency: inv.Currency}
			for _, l := range inv.LineItems {
				wl := wireImportLine{Type: l.Type, SubscriptionExternalID: l.SubscriptionExternalID, PlanUUID: l.PlanUUID,
					ServicePeriodStart: l.ServicePeriodStart.Format(day), ServicePeriodEnd: l.ServicePeriodEnd.Format(day),
					AmountInCents: l.AmountInCents, Quantity: l.Quantity}
				if l.CancelledAt != nil {
					wl.CancelledAt = l.CancelledAt.Format(day)
				}
				wi.LineItems = append(wi.LineItems, wl)
			}
			for _, t := range inv.Transactions {
				wi.Transactions = append(wi.Transactions, wireImportTransaction{Type: t.Type, Result: t.Result, Date: t.Date.Format(day)})
			}
			req.Invoices = append(req.Invoices, wi)
		}
		cb, err := json.Marshal(wc)
		if err != nil {
			return nil, 0, err
		}
		ib, err := json.Marshal(req)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ingestBody{customer: cb, invoices: ib})
	}
	return out, invoices, nil
}
