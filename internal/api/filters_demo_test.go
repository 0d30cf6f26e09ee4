package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/demo"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestFilterPropertiesOnTheDemo checks, on the demo book, what must hold
// for any filter that selects customers whole (no plan view):
//   - a filter and its negation partition the customers, so their MRR,
//     customer counts, movements and cash flow add up to the unfiltered
//     ones, entry by entry;
//   - a filtered movement equals the sum of the activities the activity
//     list gives for the same filter, period and type (the list reads
//     the stored activities, not the Book: two paths);
//   - the customers list under a filter and its negation count every
//     customer once.
func TestFilterPropertiesOnTheDemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, err := demo.Install(ctx, s, "acme", demo.Options{Seed: 1, Anchor: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		key := auth.NewKey()
		if err := s.CreateAPIKey(ctx, res.Account.ID, auth.Prefix(key), auth.Hash(key), billing.AccessRead); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(api.New(s, api.Options{}))
		t.Cleanup(srv.Close)
		get := func(path string) map[string]any {
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
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		const q = "?start-date=2023-01-01&end-date=2025-12-31&interval=month"
		entries := func(endpoint, filters string) []map[string]any {
			path := "/v1/metrics/" + endpoint + q
			if filters != "" {
				path += "&filters=" + url.QueryEscape(filters)
			}
			var out []map[string]any
			for _, e := range get(path)["entries"].([]any) {
				out = append(out, e.(map[string]any))
			}
			return out
		}
		customers := func(filters string) int {
			n, cursor := 0, ""
			for {
				path := "/v1/customers?per_page=200&filters=" + url.QueryEscape(filters)
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				page := get(path)
				n += len(page["entries"].([]any))
				if page["has_more"] != true {
					return n
				}
				cursor = page["cursor"].(string)
			}
		}
		additive := map[string][]string{
			"mrr":       {"mrr", "mrr-new-business", "mrr-expansion", "mrr-contraction", "mrr-churn", "mrr-reactivation"},
			"all":       {"customers"},
			"cash-flow": {"gross-cash-flow", "refunds", "failed-charges"},
		}
		all := map[string][]map[string]any{}
		for endpoint := range additive {
			all[endpoint] = entries(endpoint, "")
		}
		total := customers("")
		for _, pair := range [][2]string{
			{"region~ANY~'US','GB'", "region~NONE~'US','GB'"},
			{"tags~ANY~'enterprise'", "tags~NONE~'enterprise'"},
			{"custom.channel~EQ~'Referral'", "custom.channel~NOT_EQ~'Referral'"},
			{"currency~ANY~'EUR'", "currency~NONE~'EUR'"},
			{"customer_status~ANY~'Active'", "customer_status~NONE~'Active'"},
			{"mrr~GT~100", "mrr~LTE~100"},
			// Leads have no subscriber-since date, so neither side holds
			// them; they have no MRR either, so the figures still add up.
			{"subscriber_since~LT~2024-06-01", "subscriber_since~GTE~2024-06-01"},
		} {
			f, not := pair[0], pair[1]
			nonZero := 0
			for endpoint, keys := range additive {
				in, out := entries(endpoint, f), entries(endpoint, not)
				for i, whole := range all[endpoint] {
					for _, k := range keys {
						a, b, w := in[i][k].(float64), out[i][k].(float64), whole[k].(float64)
						if a+b != w {
							t.Errorf("%s %s %s: %v + %v (negation) ≠ %v", endpoint, whole["date"], k, a, b, w)
						}
						if a != 0 && b != 0 {
							nonZero++
						}
					}
				}
			}
			if nonZero == 0 {
				t.Errorf("%s: never splits a figure, so it proves nothing", f)
			}
			if f == "subscriber_since~LT~2024-06-01" {
				continue // the leads are on neither side, and the list counts them
			}
			if a, b := customers(f), customers(not); a+b != total || a == 0 || b == 0 {
				t.Errorf("%s: %d customers + %d (negation), want %d in all, both sides some", f, a, b, total)
			}
		}

		// Each filtered movement is its activities' sum.
		f := "region~NONE~'US'~AND~tags~ANY~'enterprise'"
		for _, e := range entries("mrr", f)[24:30] {
			date := e["date"].(string)
			end, _ := time.Parse("2006-01-02", date)
			start := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
			for typ, k := range map[string]string{"new_biz": "mrr-new-business", "expansion": "mrr-expansion",
				"contraction": "mrr-contraction", "churn": "mrr-churn", "reactivation": "mrr-reactivation"} {
				acts := get("/v1/activities?with_total=true&type=" + typ + "&start-date=" + start + "&end-date=" + date +
					"&filters=" + url.QueryEscape(f))
				sum := acts["total"].(map[string]any)["activity-mrr-movement"].(float64)
				if sum != e[k].(float64) {
					t.Errorf("%s %s: activities sum to %v, the series says %v", date, k, sum, e[k])
				}
			}
		}
	})
}
