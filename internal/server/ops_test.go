package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/config"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
	"github.com/tally-analytics/tally/internal/telemetry"
)

// get answers a request to srv with the key (none when ""), its status
// and body.
func get(t *testing.T, srv *httptest.Server, method, path, key, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// /healthz says the process is up; /readyz that the database answers, is
// migrated and the start-up recomputation is done. Neither needs a key nor
// names the account, and a request other than theirs waits for the start.
func TestHealthAndReadiness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		key := auth.NewKey()
		if _, err := Bootstrap(context.Background(), s, key); err != nil {
			t.Fatal(err)
		}
		started := make(startup)
		h, _ := handler(s, config.Config{MaxInFlight: 4}, nil, nil, started)
		srv := httptest.NewServer(h)
		defer srv.Close()

		code, body := get(t, srv, "GET", "/healthz", "", "")
		if code != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
			t.Fatalf("healthz while starting: %d %s", code, body)
		}
		code, body = get(t, srv, "GET", "/readyz", "", "")
		if code != 503 || !strings.Contains(body, `"startup":"recomputing"`) || !strings.Contains(body, `"database":"ok"`) {
			t.Fatalf("readyz while starting: %d %s", code, body)
		}
		// A request sent before the start is done is answered after it.
		pinged := make(chan int, 1)
		go func() { c, _ := get(t, srv, "GET", "/v1/ping", key, ""); pinged <- c }()
		close(started)
		if c := <-pinged; c != 200 {
			t.Fatalf("ping sent during the start: %d", c)
		}
		code, body = get(t, srv, "GET", "/readyz", "", "")
		var ready struct {
			Status string
			Checks map[string]string
		}
		if err := json.Unmarshal([]byte(body), &ready); err != nil || code != 200 || ready.Status != "ready" ||
			len(ready.Checks) != 3 || ready.Checks["database"] != "ok" || ready.Checks["migrations"] != "ok" || ready.Checks["startup"] != "ok" {
			t.Fatalf("readyz when started: %d %s", code, body)
		}
		if strings.Contains(body, DefaultAccount) {
			t.Fatalf("readyz names the account: %s", body)
		}
		if code, _ := get(t, srv, "POST", "/readyz", "", "{}"); code != 405 {
			t.Fatalf("POST /readyz: %d", code)
		}

		// The database goes away: the process is still up, not ready.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if code, _ := get(t, srv, "GET", "/healthz", "", ""); code != 200 {
			t.Fatalf("healthz without a database: %d", code)
		}
		code, body = get(t, srv, "GET", "/readyz", "", "")
		if code != 503 || !strings.Contains(body, `"database":"unreachable"`) {
			t.Fatalf("readyz without a database: %d %s", code, body)
		}
	})
}

// scrape reads the metrics' text format into "name{labels}" → value.
func scrape(t *testing.T, tel *telemetry.Metrics) map[string]float64 {
	t.Helper()
	srv := httptest.NewServer(tel.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// After known traffic the counters say exactly what was sent: requests by
// route pattern (a refused one under its route, an unknown path as
// unmatched) and status, the recomputation of the write, the cache's load,
// and the pools and runtime are there.
func TestPrometheusCountsKnownTraffic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		key := auth.NewKey()
		if _, err := Bootstrap(context.Background(), s, key); err != nil {
			t.Fatal(err)
		}
		tel := telemetry.New(s)
		h, _ := handler(s, config.Config{MaxInFlight: 4, MaxBodyBytes: 1 << 20, MaxInvoices: 100, MaxEntries: 5000}, nil, tel, nil)
		srv := httptest.NewServer(h)
		defer srv.Close()

		for range 3 {
			if code, _ := get(t, srv, "GET", "/v1/ping", key, ""); code != 200 {
				t.Fatalf("ping: %d", code)
			}
		}
		if code, _ := get(t, srv, "GET", "/v1/ping", "", ""); code != 401 {
			t.Fatalf("ping without a key: %d", code)
		}
		if code, _ := get(t, srv, "GET", "/v1/nowhere", key, ""); code != 404 {
			t.Fatalf("unknown route: %d", code)
		}
		_, ds := get(t, srv, "POST", "/v1/data_sources", key, `{"name":"Billing"}`)
		var made struct{ UUID string }
		_ = json.Unmarshal([]byte(ds), &made)
		code, cus := get(t, srv, "POST", "/v1/customers", key,
			`{"data_source_uuid":"`+made.UUID+`","external_id":"c1","name":"Ada","email":"ada@example.com"}`)
		if code != 201 {
			t.Fatalf("customer: %d %s", code, cus)
		}
		var customer struct{ UUID string }
		_ = json.Unmarshal([]byte(cus), &customer)
		code, inv := get(t, srv, "POST", "/v1/import/customers/"+customer.UUID+"/invoices", key,
			`{"invoices":[{"external_id":"i1","date":"2024-01-05","currency":"USD","customer_external_id":"c1","data_source_uuid":"`+made.UUID+
				`","line_items":[{"type":"one_time","amount_in_cents":1000,"description":"Setup"}]}]}`)
		if code != 201 {
			t.Fatalf("invoice: %d %s", code, inv)
		}
		if code, body := get(t, srv, "GET", "/v1/metrics/all?start-date=2024-01-01&end-date=2024-03-31", key, ""); code != 200 {
			t.Fatalf("metrics: %d %s", code, body)
		}
		if code, _ := get(t, srv, "GET", "/healthz", "", ""); code != 200 {
			t.Fatal("healthz")
		}

		got := scrape(t, tel)
		for name, want := range map[string]float64{
			`tally_http_requests_total{code="200",route="GET /v1/ping"}`:                              3,
			`tally_http_requests_total{code="401",route="GET /v1/ping"}`:                              1,
			`tally_http_requests_total{code="404",route="unmatched"}`:                                 1,
			`tally_http_requests_total{code="201",route="POST /v1/data_sources"}`:                     1,
			`tally_http_requests_total{code="201",route="POST /v1/customers"}`:                        1,
			`tally_http_requests_total{code="201",route="POST /v1/import/customers/{uuid}/invoices"}`: 1,
			`tally_http_requests_total{code="200",route="GET /v1/metrics/{name}"}`:                    1,
			`tally_http_requests_total{code="200",route="GET /healthz"}`:                              1,
			`tally_http_request_duration_seconds_count{route="GET /v1/ping"}`:                         4,
			// One pass per write (data source, customer, invoice); the
			// invoice's recomputes its customer.
			`tally_recompute_passes_total{trigger="write"}`:           3,
			`tally_recomputed_customers_total{trigger="write"}`:       1,
			`tally_recompute_failures_total{trigger="write"}`:         0,
			`tally_results_cache_accounts`:                            1,
			`tally_results_cache_customers`:                           1,
			`tally_results_cache_loads_total{kind="full"}`:            1,
			`tally_results_cache_customers_loaded_total`:              1,
			`tally_dirty_customers`:                                   0,
			`go_sql_open_connections{db_name="write"}`:                got[`go_sql_open_connections{db_name="write"}`], // present
			`tally_recompute_duration_seconds_count{trigger="write"}`: 3,
		} {
			v, ok := got[name]
			if !ok {
				t.Errorf("%s: not scraped", name)
				continue
			}
			if v != want {
				t.Errorf("%s = %v, want %v", name, v, want)
			}
		}
		if _, ok := got["go_goroutines"]; !ok {
			t.Error("no Go runtime metrics")
		}
	})
}
