package api_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
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
//     customer once;
//   - under random expressions, the series is that of a Book built afresh
//     of the customers the list gives for the expression.
func TestFilterPropertiesOnTheDemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, getBytes := demoAPI(t, s)
		get := func(path string) map[string]any {
			t.Helper()
			var m map[string]any
			if err := json.Unmarshal(getBytes(path), &m); err != nil {
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

		// Random expressions of one to three conditions: the series of
		// each is the series of a Book holding only the customers the
		// customer list gives for it, built afresh from the stored
		// results (not the account's Book and its Set of members).
		settings := get("/v1/account/settings")
		loc, err := time.LoadLocation(settings["time_zone"].(string))
		if err != nil {
			t.Fatal(err)
		}
		stored, err := s.ResultsSince(ctx, res.Account.ID, -1)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64]metrics.History{}
		for _, r := range stored {
			var h metrics.History
			for _, p := range r.Points {
				h.Timeline = append(h.Timeline, metrics.Point{At: p.At, MRR: p.MRR, Active: p.Active, FX: p.FX})
			}
			for _, m := range r.Activities {
				h.Movements = append(h.Movements, metrics.Movement{At: m.At, Type: m.Type, Amount: m.Amount, MRRAfter: m.MRRAfter})
			}
			byID[r.CustomerID] = h
		}
		req := metrics.SeriesRequest{Start: time.Date(2023, 1, 1, 0, 0, 0, 0, loc), End: time.Date(2025, 12, 31, 0, 0, 0, 0, loc),
			Interval: "month", Location: loc, MaxEntries: 5000}
		rng := rand.New(rand.NewPCG(12, 1))
		split := 0 // expressions selecting some customers but not all
		for range 25 {
			f := randomFilter(rng)
			var hs []metrics.History
			cursor := ""
			for {
				path := "/v1/customers?per_page=200&filters=" + url.QueryEscape(f)
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				page := get(path)
				for _, c := range page["entries"].([]any) {
					cus, err := s.Customer(ctx, res.Account.ID, c.(map[string]any)["uuid"].(string))
					if err != nil {
						t.Fatal(err)
					}
					hs = append(hs, byID[cus.ID])
				}
				if page["has_more"] != true {
					break
				}
				cursor = page["cursor"].(string)
			}
			if len(hs) > 0 && len(hs) < total {
				split++
			}
			want, err := metrics.Series(hs, req)
			if err != nil {
				t.Fatal(err)
			}
			got := entries("all", f)
			if len(got) != len(want) {
				t.Fatalf("%s: %d entries, want %d", f, len(got), len(want))
			}
			for i, w := range want {
				g := got[i]
				for k, v := range map[string]float64{"mrr": float64(w.MRR), "customers": float64(w.Customers), "arpa": float64(w.ARPA),
					"asp": float64(w.ASP), "customer-churn-rate": w.CustomerChurnRate, "mrr-churn-rate": w.MRRChurnRate, "ltv": float64(w.LTV)} {
					if g[k].(float64) != v {
						t.Errorf("%s, %s %s: %v, a Book of its %d customers says %v", f, g["date"], k, g[k], len(hs), v)
					}
				}
			}
		}
		if split < 10 {
			t.Errorf("only %d of 25 random expressions split the customers", split)
		}
	})
}

// randomFilter is an expression of one to three conditions over the demo
// book's attributes, without plan conditions (whose view changes the
// customers' histories rather than selecting them).
func randomFilter(rng *rand.Rand) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	some := func(xs ...string) string {
		var out []string
		for _, x := range xs {
			if rng.IntN(2) == 0 {
				out = append(out, "'"+x+"'")
			}
		}
		if len(out) == 0 {
			out = append(out, "'"+xs[0]+"'")
		}
		return strings.Join(out, ",")
	}
	conds := []func() string{
		func() string {
			return "region~" + pick("ANY", "NONE") + "~" + some("US", "GB", "DE", "FR", "NL", "CA", "AU")
		},
		func() string {
			return "tags~" + pick("ANY", "NONE", "ALL") + "~" + some("enterprise", "demo", "prospect")
		},
		func() string {
			return "custom.channel~" + pick("EQ", "NOT_EQ") + "~'" + pick("Organic search", "Referral", "Paid ads", "Partner") + "'"
		},
		func() string {
			return "customer_status~" + pick("ANY", "NONE") + "~" + some("Active", "Cancelled", "New Lead")
		},
		func() string { return "mrr~" + pick("GT", "LT", "GTE", "LTE") + "~" + strconv.Itoa(rng.IntN(400)) },
		func() string { return "currency~" + pick("ANY", "NONE") + "~" + some("USD", "EUR") },
		func() string {
			return "subscriber_since~" + pick("LT", "GTE") + "~" + time.Date(2022+rng.IntN(4), time.Month(1+rng.IntN(12)), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		},
		func() string { return "active_quantity~" + pick("GTE", "LT") + "~" + strconv.Itoa(1+rng.IntN(4)) },
	}
	n := 1 + rng.IntN(3)
	var parts []string
	for _, i := range rng.Perm(len(conds))[:n] {
		parts = append(parts, conds[i]())
	}
	return strings.Join(parts, "~AND~")
}
