package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// newEnvAPI is newEnv that also returns the API behind the server.
func newEnvAPI(t testing.TB, s *store.Store, opts Options) (*env, *API) {
	t.Helper()
	e := &env{t: t, store: s}
	e.key = e.newKey("acme", billing.AccessFull)
	e.readKey = e.newKey("acme", billing.AccessRead)
	e.otherKey = e.newKey("globex", billing.AccessFull)
	a := newAPI(s, opts)
	e.srv = httptest.NewServer(a.handler())
	t.Cleanup(e.srv.Close)
	return e, a
}

// metricsPaths are every Metrics API endpoint: the nine of
// /v1/metrics/{name} and Tally's own three.
var metricsPaths = []string{"mrr", "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv", "all",
	"cash-flow", "retention", "cmrr"}

// TestMetricsEntryCap: a series longer than --max-entries is a 400 that
// names the limit, on every metrics endpoint, before anything is built;
// one at the cap is answered. The request (a daily series over
// 274 years) is refused by default.
func TestMetricsEntryCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{MaxEntries: 10})
		syncalytics(t, e)
		def := newEnv(t, s, Options{})
		for _, name := range metricsPaths {
			// 2024-01-01..2024-01-10 is ten days: at the cap.
			r := e.do(e.readKey, "GET", "/v1/metrics/"+name+"?start-date=2024-01-01&end-date=2024-01-10&interval=day", nil)
			if r.status != 200 {
				t.Errorf("%s at the cap: status %d, want 200; %s", name, r.status, r.body)
			} else if n := len(r.json(t)["entries"].([]any)); n != 10 {
				t.Errorf("%s at the cap: %d entries, want 10", name, n)
			}
			r = e.do(e.readKey, "GET", "/v1/metrics/"+name+"?start-date=2024-01-01&end-date=2024-01-11&interval=day", nil)
			if r.status != 400 {
				t.Errorf("%s over the cap: status %d, want 400; %s", name, r.status, r.body)
				continue
			}
			jsonEqual(t, r.body, `{"code":400,"param":"interval","message":"This request asks for more than 10 entries, the most one answer holds (--max-entries): use a longer interval or a shorter range."}`)

			r = def.do(def.readKey, "GET", "/v1/metrics/"+name+"?start-date=1900-01-01&end-date=2073-10-01&interval=day", nil)
			if r.status != 400 || !strings.Contains(string(r.body), "more than 5000 entries") {
				t.Errorf("%s daily over 174 years by default: status %d, want 400 naming 5000; %s", name, r.status, r.body)
			}
		}
	})
}

// TestMetricsDateRange: dates outside 1900-01-01..2199-12-31 are a 400
// naming the parameter, so a yearly series over millennia is not built
// either.
func TestMetricsDateRange(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		cases := []struct{ query, param string }{
			{"start-date=1800-01-01&end-date=2024-01-01&interval=year", "start-date"},
			{"start-date=0001-01-01&end-date=2024-01-01&interval=year", "start-date"},
			{"start-date=2024-01-01&end-date=9999-12-31&interval=year", "end-date"},
			{"start-date=2024-01-01&end-date=2200-01-01&interval=year", "end-date"},
			{"start-date=2024-01-01&end-date=2024-02-01&as-of=0001-01-01", "as-of"},
		}
		for _, name := range metricsPaths {
			for _, c := range cases {
				r := e.do(e.key, "GET", "/v1/metrics/"+name+"?"+c.query, nil)
				if r.status != 400 || r.json(t)["param"] != c.param {
					t.Errorf("%s?%s: status %d, want 400 naming %s; %s", name, c.query, r.status, c.param, r.body)
				}
			}
			r := e.do(e.key, "GET", "/v1/metrics/"+name+"?start-date=1900-01-01&end-date=2199-12-31&interval=year", nil)
			if r.status != 200 {
				t.Errorf("%s over the whole range by year: status %d, want 200; %s", name, r.status, r.body)
			}
		}
	})
}

// TestInFlightPerKey: a key may have --max-in-flight requests to an
// expensive endpoint at once; the next is a 429 with Retry-After, while
// another key and a cheap endpoint go through. A finished request frees
// its place.
func TestInFlightPerKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a := newAPI(s, Options{MaxInFlight: 2})
		e := &env{t: t, store: s}
		e.key = e.newKey("acme", billing.AccessFull)
		e.readKey = e.newKey("acme", billing.AccessRead)
		entered, release := make(chan struct{}), make(chan struct{})
		block := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("hold") {
				entered <- struct{}{}
				<-release
			}
			w.WriteHeader(204)
		})
		e.srv = httptest.NewServer(a.edge(a.authenticate(a.expensive(block))))
		defer e.srv.Close()
		defer close(release) // first: no held handler outlives a failure
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if r := e.do(e.key, "GET", "/v1/metrics/all?hold", nil); r.status != 204 {
					t.Errorf("held request: %d %s", r.status, r.body)
				}
			})
			<-entered
		}
		r := e.do(e.key, "GET", "/v1/metrics/all", nil)
		if r.status != 429 || r.header.Get("Retry-After") != "1" {
			t.Errorf("third request: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		jsonEqualNow(t, r.body, `{"code":429,"message":"This API key already has 2 requests in flight, the most it may have (--max-in-flight): retry when one has finished.","param":null}`)
		// Another key has places of its own.
		if r := e.do(e.readKey, "GET", "/v1/metrics/all", nil); r.status != 204 {
			t.Errorf("another key: %d %s", r.status, r.body)
		}
		release <- struct{}{}
		release <- struct{}{}
		wg.Wait()
		if r := e.do(e.key, "GET", "/v1/metrics/all", nil); r.status != 204 {
			t.Errorf("after the held requests finished: %d %s", r.status, r.body)
		}
	})
}

// TestExpensiveRoutesAreLimited: metrics, activities and exports count
// against --max-in-flight; other routes do not.
func TestExpensiveRoutesAreLimited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e, a := newEnvAPI(t, s, Options{MaxInFlight: 1})
		_, cus, _ := e.fixture()
		x := e.ok(200, "POST", "/v1/activities_export", map[string]any{})["id"].(string)
		k, _, err := s.KeyByHash(t.Context(), auth.Hash(e.key))
		if err != nil {
			t.Fatal(err)
		}
		if !a.inFlight.acquire(k.ID, 1) { // the key's one place is taken
			t.Fatal("could not take the key's place")
		}
		defer a.inFlight.release(k.ID)
		q := "?start-date=2024-01-01&end-date=2024-01-31"
		limited := []struct{ method, path string }{{"POST", "/v1/activities_export"}, {"GET", "/v1/activities_export/" + x + "/file"},
			{"GET", "/v1/activities"}, {"GET", "/v1/customers/" + cus + "/activities"}}
		for _, name := range metricsPaths {
			limited = append(limited, struct{ method, path string }{"GET", "/v1/metrics/" + name + q})
		}
		for _, c := range limited {
			if r := e.do(e.key, c.method, c.path, map[string]any{}); r.status != 429 {
				t.Errorf("%s %s with no place left: %d, want 429", c.method, c.path, r.status)
			}
		}
		for _, p := range []string{"/v1/ping", "/v1/customers", "/v1/activities_export/" + x, "/v1/customers/" + cus} {
			if r := e.do(e.key, "GET", p, nil); r.status != 200 {
				t.Errorf("GET %s: %d, want 200", p, r.status)
			}
		}
	})
}

// jsonEqualNow is jsonEqual reporting with Errorf, for tests that must
// carry on to release what they hold.
func jsonEqualNow(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	_ = json.Unmarshal(got, &g)
	_ = json.Unmarshal([]byte(want), &w)
	if gb, wb := mustJSON(g), mustJSON(w); gb != wb {
		t.Errorf("body\n got %s\nwant %s", gb, wb)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
