// Package bench generates a seeded synthetic subscription book and
// measures Tally on it: full recompute, incremental recompute after one
// customer's import, and the Metrics API, unfiltered and filtered. It is
// what `tally bench` runs; its figures are the ones issue notes report.
package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// Options size the book.
type Options struct {
	Customers           int
	InvoicesPerCustomer int
	Seed                uint64
	Samples             int // incremental and unfiltered metrics samples
	FilteredSamples     int
	PageSamples         int // samples of each dashboard page
	Out                 io.Writer
	// Reuse measures the book an earlier run generated in the store
	// instead of generating one (the import is then not measured).
	Reuse bool
	// Reopen opens the store afresh, as a new server process would; the
	// cold starts are measured only when it is set.
	Reopen func(context.Context) (*store.Store, error)
	// IngestCustomers are the customers a run ends by sending through the
	// API, IngestClients clients at once, into an account of their own
	// (see Ingest); none when 0.
	IngestCustomers, IngestClients int
}

// Run builds the book in s (an empty, migrated store), or with o.Reuse
// takes the one an earlier run left there, and prints figures.
func Run(ctx context.Context, s *store.Store, o Options) error {
	out := o.Out
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	b, err := prepare(ctx, s, o, rng)
	if err != nil {
		return err
	}
	acct, plans, customers, invoiceCount := b.acct, b.plans, b.customers, b.invoices
	base := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	// A reused book already holds earlier runs' samples: this run's
	// external ids carry its start time.
	run := time.Now().UnixNano()
	var sum summary

	// Full recompute.
	rates := recompute.NewStoreRates(ctx, s)
	t0 := time.Now()
	rep, err := recompute.All(ctx, s, acct.ID, rates)
	n := rep.Recomputed
	if err != nil {
		return err
	}
	full := time.Since(t0)
	fmt.Fprintf(out, "full recompute: %d customers, %d invoices in %s (%.0f invoices/s)\n", n, invoiceCount,
		full.Round(time.Millisecond), float64(invoiceCount)/full.Seconds())
	sum.add("full recompute", full, "")

	// Incremental: one customer's new invoice, then the recomputation that
	// runs before the response.
	var inc []time.Duration
	for i := range o.Samples {
		cus := customers[rng.IntN(len(customers))]
		inv := billing.Invoice{ExternalID: fmt.Sprintf("inc-%d-%d", run, i), Date: base.AddDate(4, 11, 0), Currency: "USD",
			LineItems: []billing.LineItem{{Type: billing.LineOneTime, AmountInCents: 1000, Quantity: 1}}}
		p := plans[rng.IntN(len(plans))]
		start := base.AddDate(4, 11, 0)
		end := start.AddDate(0, p.months, 0)
		inv.LineItems = append(inv.LineItems, billing.LineItem{Type: billing.LineSubscription, SubscriptionExternalID: fmt.Sprintf("inc-sub-%d-%d", run, i),
			PlanUUID: p.uuid, ServicePeriodStart: &start, ServicePeriodEnd: &end, AmountInCents: p.price, Quantity: 1})
		if err := s.ImportInvoices(ctx, acct.ID, cus, acct.Currency, []billing.Invoice{inv}); err != nil {
			return err
		}
		t := time.Now()
		if _, err := recompute.Dirty(ctx, s, acct.ID, store.PendingFresh, rates); err != nil {
			return err
		}
		inc = append(inc, time.Since(t))
	}
	fmt.Fprintf(out, "incremental recompute after one customer's import: p50 %s p99 %s (%d samples)\n",
		pct(inc, 50), pct(inc, 99), len(inc))
	sum.add("incremental recompute, p50", pct(inc, 50), "")

	// The Metrics API over HTTP: five years by month.
	key := auth.NewKey()
	if err := s.CreateAPIKey(ctx, acct.ID, auth.Prefix(key), auth.Hash(key), billing.AccessRead); err != nil {
		return err
	}
	srv := httptest.NewServer(api.New(s, api.Options{}))
	defer srv.Close()
	get := func(path string) (time.Duration, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.SetBasicAuth(key, "")
		t := time.Now()
		res, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return 0, fmt.Errorf("%s: %d %s", path, res.StatusCode, body)
		}
		return time.Since(t), nil
	}
	const q = "?start-date=2021-01-01&end-date=2025-12-31&interval=month"
	const cq = "?start-date=2021-01-01&end-date=2025-12-31&cohort-interval=month"
	type metricCase struct {
		name, path string
		n          int
		target     string // issue 14's, for the summary; "" for none
	}
	var cases []metricCase
	// Each endpoint once before it is timed: the first answer loads the
	// account's cache (a cold start, measured elsewhere); these are warm.
	for _, ep := range []string{"all", "cash-flow", "retention", "cohorts"} {
		path := "/v1/metrics/" + ep + q
		if _, err := get(path); err != nil {
			return err
		}
		target := ""
		if ep == "cash-flow" || ep == "retention" {
			target = "≤ 20ms at 100,000 customers"
		}
		cases = append(cases, metricCase{"metrics/" + ep + ", 5 years by month, unfiltered", path, o.Samples, target},
			metricCase{"metrics/" + ep + ", 5 years by month, plans filter", path + "&plans=Plan+2,Plan+6", o.FilteredSamples, ""},
			metricCase{"metrics/" + ep + ", 5 years by month, geo filter", path + "&geo=US,DE", o.FilteredSamples, ""})
	}
	// Segments (issue 12): CFL filters, one and three conditions, and
	// signup cohorts, each asked once before it is timed.
	plan2 := url.QueryEscape("'" + plans[1].uuid + "'")
	for _, c := range []metricCase{
		{"metrics/all, 5 years by month, filter region", "/v1/metrics/all" + q + "&filters=" + url.QueryEscape("region~ANY~'US','DE'"), o.FilteredSamples, ""},
		{"metrics/all, 5 years by month, filter plan", "/v1/metrics/all" + q + "&filters=plan~ANY~" + plan2, o.FilteredSamples, ""},
		{"metrics/all, 5 years by month, filter mrr (now-dependent)", "/v1/metrics/all" + q + "&filters=" + url.QueryEscape("mrr~GT~50"), o.FilteredSamples, ""},
		{"metrics/all, 5 years by month, three filters", "/v1/metrics/all" + q + "&filters=" +
			url.QueryEscape("region~ANY~'US','GB','DE'~AND~tags~NONE~'enterprise'~AND~custom.seats~GT~10"), o.FilteredSamples, ""},
		{"metrics/cohorts, 5 years by month, filter region", "/v1/metrics/cohorts" + cq + "&filters=" + url.QueryEscape("region~ANY~'US','DE'"), o.FilteredSamples, ""},
	} {
		if _, err := get(c.path); err != nil {
			return err
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		var ds []time.Duration
		for range c.n {
			d, err := get(c.path)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		fmt.Fprintf(out, "%s: p50 %s p99 %s (%d samples)\n", c.name, pct(ds, 50), pct(ds, 99), len(ds))
		if c.target != "" {
			sum.add(strings.TrimSuffix(c.name, ", unfiltered")+", warm p99", pct(ds, 99), c.target)
		}
	}

	// The first answer after a write: one customer's paid invoice and its
	// recomputation, then each endpoint, which folds the change into what
	// it keeps in memory.
	endpoints := []string{"all", "cash-flow", "retention", "all" + q + "&filters=" + url.QueryEscape("region~ANY~'US','DE'"),
		"all" + q + "&filters=" + url.QueryEscape("region~ANY~'US','GB','DE'~AND~tags~NONE~'enterprise'~AND~custom.seats~GT~10"),
		"cohorts" + cq}
	after := make([][]time.Duration, len(endpoints))
	for i := range o.FilteredSamples {
		p := plans[rng.IntN(len(plans))]
		start := base.AddDate(4, 11, 0)
		end := start.AddDate(0, p.months, 0)
		inv := billing.Invoice{ExternalID: fmt.Sprintf("after-%d-%d", run, i), Date: start, Currency: "USD",
			LineItems: []billing.LineItem{{Type: billing.LineSubscription, SubscriptionExternalID: fmt.Sprintf("after-sub-%d-%d", run, i),
				PlanUUID: p.uuid, ServicePeriodStart: &start, ServicePeriodEnd: &end, AmountInCents: p.price, Quantity: 1}},
			Transactions: []billing.Transaction{{Type: "payment", Result: "successful", Date: start.Add(time.Hour)}}}
		if err := s.ImportInvoices(ctx, acct.ID, customers[rng.IntN(len(customers))], acct.Currency, []billing.Invoice{inv}); err != nil {
			return err
		}
		if _, err := recompute.Dirty(ctx, s, acct.ID, store.PendingFresh, rates); err != nil {
			return err
		}
		for k, ep := range endpoints {
			path := "/v1/metrics/" + ep
			if !strings.Contains(ep, "?") {
				path += q
			}
			d, err := get(path)
			if err != nil {
				return err
			}
			after[k] = append(after[k], d)
		}
	}
	for k, ep := range endpoints {
		name, filter, _ := strings.Cut(ep, "?")
		if filter != "" {
			if _, f, ok := strings.Cut(filter, "&filters="); ok {
				f, _ = url.QueryUnescape(f)
				name += " (" + f + ")"
			}
		}
		fmt.Fprintf(out, "metrics/%s, 5 years by month, first answer after one customer's import: p50 %s p99 %s (%d samples)\n",
			name, pct(after[k], 50), pct(after[k], 99), len(after[k]))
	}
	// What the server keeps in memory for the account (the results
	// cache, its Book, cash book, cohorts and the selections asked for
	// above), apart from the peak that import and recompute reach.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(out, "live heap after the metrics above: %d MiB\n", ms.HeapAlloc>>20)
	if err := Pages(ctx, s, acct, max(1, o.PageSamples), out); err != nil {
		return err
	}
	if o.Reopen != nil {
		if err := ColdStarts(ctx, o.Reopen, acct, out, &sum); err != nil {
			return err
		}
	}
	// The lists last: they add CRM objects, events and e-mails to the
	// book first (see Lists), which changes its metrics a little.
	slowest, p99, err := Lists(ctx, s, acct, max(1, min(o.PageSamples, 10)), out)
	if err != nil {
		return err
	}
	sum.add("lists, slowest case p99 ("+slowest+")", p99, "≤ 20ms at 100,000 customers")
	if o.IngestCustomers > 0 {
		ingestOpts := o
		ingestOpts.Customers = o.IngestCustomers
		var r IngestResult
		if err := ingest(ctx, s, IngestOptions{Options: ingestOpts, Clients: o.IngestClients, Account: fmt.Sprintf("bench-ingest-%d", run)}, &r); err != nil {
			return err
		}
		sum.addRate(fmt.Sprintf("ingestion, %d clients, one customer per request", max(1, o.IngestClients)), r, "≥ 10,000 invoices/s (SQLite)")
	}
	fmt.Fprintf(out, "peak memory: %s\n", peakMemory())
	sum.print(out, b)
	return nil
}

func ptr(s string) *string { return &s }

// customer makes the book's c-th customer.
func customer(rng *rand.Rand, c int, dsUUID string) billing.Customer {
	cus := billing.Customer{DataSourceUUID: dsUUID, ExternalID: fmt.Sprintf("c%d", c), Name: fmt.Sprintf("Customer %d", c),
		Country: ptr([]string{"US", "GB", "DE", "FR", "NL"}[rng.IntN(5)]),
		// Attributes for the segment filters: a tag on one in five,
		// a seat count on every customer.
		Custom: map[string]billing.CustomAttribute{"seats": {Type: "Integer", Value: int64(1 + rng.IntN(50))}}}
	if rng.IntN(5) == 0 {
		cus.Tags = []string{"enterprise"}
	}
	return cus
}

// benchPlans are the book's plans: interval and price.
var benchPlans = []struct {
	unit   string
	months int
	price  int64
}{{"month", 1, 2900}, {"month", 1, 4900}, {"month", 1, 9900}, {"month", 1, 19900}, {"month", 3, 27000}, {"year", 12, 99000}, {"year", 12, 199000}}

// book makes one customer's invoices: consecutive periods from a random
// start, each on a plan; a plan change now and then; some customers churn.
func book(rng *rand.Rand, c int, base time.Time, n int, pick func() (string, int, int64)) []billing.Invoice {
	plan, months, price := pick()
	at := base.AddDate(0, rng.IntN(36), rng.IntN(28))
	var invs []billing.Invoice
	sub := fmt.Sprintf("sub-%d", c)
	for i := range n {
		if rng.IntN(10) == 0 {
			plan, months, price = pick()
		}
		end := at.AddDate(0, months, 0)
		start := at
		l := billing.LineItem{Type: billing.LineSubscription, SubscriptionExternalID: sub, PlanUUID: plan, ServicePeriodStart: &start,
			ServicePeriodEnd: &end, AmountInCents: price, Quantity: 1}
		if i == n-1 && rng.IntN(4) == 0 {
			cancel := end
			l.CancelledAt = &cancel
		}
		invs = append(invs, billing.Invoice{ExternalID: fmt.Sprintf("inv-%d-%d", c, i), Date: at, Currency: "USD", LineItems: []billing.LineItem{l},
			Transactions: []billing.Transaction{{Type: "payment", Result: "successful", Date: at.Add(time.Hour)}}})
		at = end
	}
	return invs
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))].Round(10 * time.Microsecond)
}

// peakMemory is the process's peak resident set (VmHWM) where Linux tells
// it, else the Go runtime's view.
func peakMemory() string {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				return strings.Join(strings.Fields(line)[1:], " ") + " (VmHWM)"
			}
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return fmt.Sprintf("%d MiB (Go runtime)", m.Sys>>20)
}
