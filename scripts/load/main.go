// Command load holds a steady rate of mixed reads and writes against a
// running Tally on loopback and reports errors and latency percentiles
// (issue 10's load script; not part of the suite). It makes its own data
// source, plans and customers in the key's account, then sends requests
// open-loop: one every 1/rate seconds whatever the answers take, so a
// slow server shows up as latency, not as a lower rate.
//
//	go run ./cmd/tally serve --db /tmp/load.db &   # with TALLY_API_KEY set
//	go run ./scripts/load --key "$TALLY_API_KEY" --rate 200 --duration 10m
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "Tally's base URL (loopback only)")
	key := flag.String("key", os.Getenv("TALLY_API_KEY"), "a full-access API key")
	rate := flag.Float64("rate", 200, "requests per second")
	duration := flag.Duration("duration", 10*time.Minute, "how long to hold the rate")
	customers := flag.Int("customers", 500, "customers to create first")
	inflight := flag.Int("max-in-flight", 512, "requests in flight at most; beyond it a request counts as dropped")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := loopbackOnly(*base); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	l := &loader{base: *base + "/v1", key: *key, rng: rand.New(rand.NewPCG(*seed, 2)), stats: map[string]*kind{},
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *inflight}}}
	if err := l.setup(*customers); err != nil {
		fmt.Fprintln(os.Stderr, "load: setup:", err)
		os.Exit(1)
	}
	fmt.Printf("holding %.0f requests/s for %s against %s\n", *rate, *duration, *base)
	l.run(*rate, *duration, *inflight)
	if l.report(os.Stdout) {
		os.Exit(1)
	}
}

// loopbackOnly keeps the load on this machine.
func loopbackOnly(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address", host)
}

type loader struct {
	base, key string
	client    *http.Client
	ds        string
	plans     []string
	cus       []string
	invoice   atomic.Int64

	mu    sync.Mutex
	rng   *rand.Rand
	stats map[string]*kind
}

type kind struct {
	n, errs, dropped int
	limited          int // 429: the server's own per-key limits, which a client retries
	statuses         map[int]int
	lat              []time.Duration
}

func (l *loader) do(method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(l.key, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(b, &out)
	return res.StatusCode, out, nil
}

// must sends a set-up request, waiting out the per-key rate limit.
func (l *loader) must(method, path string, body any) (int, map[string]any, error) {
	for {
		status, out, err := l.do(method, path, body)
		if err != nil || status != http.StatusTooManyRequests {
			return status, out, err
		}
		time.Sleep(time.Second)
	}
}

func (l *loader) setup(customers int) error {
	status, out, err := l.must("POST", "/data_sources", map[string]any{"name": fmt.Sprintf("load %d", time.Now().UnixNano())})
	if err != nil || status != 201 {
		return fmt.Errorf("data source: %d %v %v", status, out, err)
	}
	l.ds = out["uuid"].(string)
	for i, p := range []struct {
		unit  string
		count int
	}{{"month", 1}, {"month", 3}, {"year", 1}} {
		status, out, err := l.must("POST", "/plans", map[string]any{"data_source_uuid": l.ds, "name": fmt.Sprintf("Plan %d", i),
			"interval_unit": p.unit, "interval_count": p.count, "external_id": fmt.Sprintf("plan-%d", i)})
		if err != nil || status != 201 {
			return fmt.Errorf("plan: %d %v %v", status, out, err)
		}
		l.plans = append(l.plans, out["uuid"].(string))
	}
	for i := range customers {
		status, out, err := l.must("POST", "/customers", map[string]any{"data_source_uuid": l.ds, "external_id": fmt.Sprintf("load-%d", i),
			"name": fmt.Sprintf("Load customer %d", i), "email": fmt.Sprintf("load%d@example.com", i), "country": []string{"US", "DE", "GB", "FR"}[i%4]})
		if err != nil || status != 201 {
			return fmt.Errorf("customer: %d %v %v", status, out, err)
		}
		l.cus = append(l.cus, out["uuid"].(string))
	}
	return nil
}

// request picks the next request: two thirds reads, one third writes.
func (l *loader) request() (name, method, path string, body any) {
	l.mu.Lock()
	r, c, p, months := l.rng.IntN(100), l.cus[l.rng.IntN(len(l.cus))], l.plans[l.rng.IntN(len(l.plans))], l.rng.IntN(36)
	amount := 1000 * (1 + l.rng.IntN(20))
	l.mu.Unlock()
	switch {
	case r < 20:
		return "metrics/all", "GET", "/metrics/all?start-date=2022-01-01&end-date=2024-12-31&interval=month", nil
	case r < 30:
		return "metrics/mrr geo", "GET", "/metrics/mrr?start-date=2022-01-01&end-date=2024-12-31&interval=week&geo=US,DE", nil
	case r < 40:
		return "customers list", "GET", "/customers?data_source_uuid=" + l.ds + "&per_page=50", nil
	case r < 50:
		return "activities", "GET", "/activities?start-date=2022-01-01&per_page=100", nil
	case r < 57:
		return "reconciliation", "GET", "/customers/" + c + "/reconciliation", nil
	case r < 62:
		return "cash-flow", "GET", "/metrics/cash-flow?start-date=2022-01-01&end-date=2024-12-31&interval=quarter", nil
	case r < 67:
		return "customer", "GET", "/customers/" + c, nil
	case r < 90:
		n := l.invoice.Add(1)
		month := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, months, 0)
		return "import", "POST", "/import/customers/" + c + "/invoices", map[string]any{"invoices": []any{map[string]any{
			"external_id": fmt.Sprintf("load-inv-%d-%d", time.Now().UnixNano(), n), "date": month.Format(time.DateTime), "currency": "USD",
			"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": "sub-" + c, "plan_uuid": p,
				"service_period_start": month.Format(time.DateOnly), "service_period_end": month.AddDate(0, 1, 0).Format(time.DateOnly),
				"amount_in_cents": amount, "quantity": 1}},
			"transactions": []any{map[string]any{"date": month.Format(time.DateTime), "type": "payment", "result": "successful"}},
		}}}
	case r < 95:
		return "tags", "POST", "/customers/" + c + "/attributes/tags", map[string]any{"tags": []string{fmt.Sprintf("t%d", months)}}
	default:
		return "event", "POST", "/subscription_events", map[string]any{"subscription_event": map[string]any{
			"data_source_uuid": l.ds, "customer_external_id": "load-0", "event_type": "subscription_start_scheduled",
			"event_date": time.Now().UTC().Format(time.RFC3339), "effective_date": "2030-01-01", "subscription_external_id": fmt.Sprintf("ev-%d", l.invoice.Add(1)),
			"plan_external_id": "plan-0", "currency": "USD", "amount_in_cents": amount, "quantity": 1, "external_id": fmt.Sprintf("ev-%d", time.Now().UnixNano())}}
	}
}

func (l *loader) run(rate float64, d time.Duration, maxInFlight int) {
	sem := make(chan struct{}, maxInFlight)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	end := time.After(d)
	var wg sync.WaitGroup
	progress := time.NewTicker(time.Minute)
	defer progress.Stop()
	start := time.Now()
	for {
		select {
		case <-end:
			wg.Wait()
			return
		case <-progress.C:
			fmt.Printf("  %s elapsed\n", time.Since(start).Round(time.Second))
			continue
		case <-tick.C:
		}
		name, method, path, body := l.request()
		select {
		case sem <- struct{}{}:
		default:
			l.record(name, 0, 0, true)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			t := time.Now()
			status, _, err := l.do(method, path, body)
			if err != nil {
				status = -1
			}
			l.record(name, status, time.Since(t), false)
		})
	}
}

func (l *loader) record(name string, status int, d time.Duration, dropped bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.stats[name]
	if k == nil {
		k = &kind{statuses: map[int]int{}}
		l.stats[name] = k
	}
	k.n++
	if dropped {
		k.dropped++
		return
	}
	k.statuses[status]++
	switch {
	case status == http.StatusTooManyRequests:
		k.limited++
	case status < 200 || status >= 300:
		k.errs++
	}
	k.lat = append(k.lat, d)
}

// report prints one line per kind and the total, and says whether any
// request failed.
func (l *loader) report(w io.Writer) (failed bool) {
	names := make([]string, 0, len(l.stats))
	for n := range l.stats {
		names = append(names, n)
	}
	sort.Strings(names)
	var all []time.Duration
	total, errs, dropped, limited := 0, 0, 0, 0
	fmt.Fprintf(w, "%-16s %8s %7s %6s %8s %9s %9s %9s  statuses\n", "request", "count", "errors", "429", "dropped", "p50", "p99", "max")
	for _, n := range names {
		k := l.stats[n]
		slices.Sort(k.lat)
		all = append(all, k.lat...)
		total, errs, dropped, limited = total+k.n, errs+k.errs, dropped+k.dropped, limited+k.limited
		fmt.Fprintf(w, "%-16s %8d %7d %6d %8d %9s %9s %9s  %v\n", n, k.n, k.errs, k.limited, k.dropped, pct(k.lat, 50), pct(k.lat, 99), pct(k.lat, 100), k.statuses)
	}
	slices.Sort(all)
	fmt.Fprintf(w, "%-16s %8d %7d %6d %8d %9s %9s %9s\n", "all", total, errs, limited, dropped, pct(all, 50), pct(all, 99), pct(all, 100))
	return errs > 0 || dropped > 0
}

func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := min(len(sorted)-1, (len(sorted)*p+99)/100-1)
	return sorted[max(0, i)].Round(100 * time.Microsecond).String()
}
