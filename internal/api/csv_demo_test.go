package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/demo"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// demoAPI installs a demo book of 150 customers anchored on 2026-01-01
// and serves the API over it; get answers a GET with a read key and fails
// the test on any status but 200.
func demoAPI(t *testing.T, s *store.Store) (demo.Result, func(path string) []byte) {
	t.Helper()
	ctx := context.Background()
	res, err := demo.Install(ctx, s, "acme", demo.Options{Seed: 1, Anchor: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Customers: 150})
	if err != nil {
		t.Fatal(err)
	}
	key := auth.NewKey()
	if err := s.CreateAPIKey(ctx, res.Account.ID, auth.Prefix(key), auth.Hash(key), billing.AccessRead); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(s, api.Options{}))
	t.Cleanup(srv.Close)
	return res, func(path string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.SetBasicAuth(key, "")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
}

// TestMetricsCSVOnTheDemo: on the demo book (movements of every kind,
// EUR customers at ECB rates, refunds, failed payments, scheduled
// events), every cell of every endpoint's CSV is the JSON's text, in the
// documented columns, by every interval and with each filter.
func TestMetricsCSVOnTheDemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, get := demoAPI(t, s)
		book := "start-date=2023-01-01&end-date=2025-12-31"
		queries := []string{book + "&interval=month", book + "&interval=quarter", book + "&interval=year",
			"start-date=2025-01-01&end-date=2025-12-31&interval=week", "start-date=2025-11-01&end-date=2025-12-31&interval=day",
			book + "&geo=DE,FR,NL,ES,IE", book + "&plans=demo-pro-monthly,demo-pro-annual",
			// cmrr's scheduled events take effect after the anchor.
			"start-date=2025-12-01&end-date=2026-12-31&interval=month"}
		endpoints := make([]string, 0, len(api.CSVColumns))
		for e := range api.CSVColumns {
			endpoints = append(endpoints, e)
		}
		slices.Sort(endpoints)
		var cells, nonZero, fractions int
		for _, endpoint := range endpoints {
			for _, q := range queries {
				what := api.MetricsURL(endpoint, q)
				rows := api.CSVRows(t, get(api.MetricsURL(endpoint, q+"&format=csv")))
				if !slices.Equal(rows[0], api.CSVColumns[endpoint]) {
					t.Errorf("%s: columns %q", what, rows[0])
				}
				api.SameNumbers(t, what, get(what), rows)
				for _, r := range rows[1:] {
					for _, c := range r[1:] {
						cells++
						if c != "0" {
							nonZero++
						}
						if strings.Contains(c, ".") {
							fractions++
						}
					}
				}
			}
		}
		// Not a comparison of zeros: most cells carry a figure, and rates
		// have decimals.
		if nonZero < cells/2 || fractions < 1000 {
			t.Errorf("%d of %d cells are not 0, %d have decimals", nonZero, cells, fractions)
		}
		t.Logf("%d cells, %d of them not 0, %d with decimals", cells, nonZero, fractions)
	})
}
