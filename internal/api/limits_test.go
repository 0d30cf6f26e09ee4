package api

import (
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

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
