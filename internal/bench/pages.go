package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/config"
	"github.com/tally-analytics/tally/internal/server"
	"github.com/tally-analytics/tally/internal/store"
)

// Pages measures the dashboard's pages warm, server time (the handler
// from request to last byte, in process: no network, no browser), for
// the account's book: the overview by default and over five years, each
// metric page over five years by month, the lists and one customer.
func Pages(ctx context.Context, s *store.Store, acct billing.Account, samples int, out io.Writer) error {
	key := auth.NewKey()
	if err := s.CreateAPIKey(ctx, acct.ID, auth.Prefix(key), auth.Hash(key), billing.AccessRead); err != nil {
		return err
	}
	k, _, err := s.KeyByHash(ctx, auth.Hash(key))
	if err != nil {
		return err
	}
	token := auth.NewToken()
	if err := s.CreateUISession(ctx, k.ID, auth.Hash(token), time.Now().Add(time.Hour)); err != nil {
		return err
	}
	h := server.Handler(s, config.Config{RateLimit: 0, MaxInFlight: 64}, nil)
	get := func(path string, into any) (time.Duration, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		if into != nil {
			req.SetBasicAuth(key, "")
		} else {
			req.AddCookie(&http.Cookie{Name: "tally_session", Value: token})
		}
		rec := httptest.NewRecorder()
		t := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(t)
		if rec.Code != http.StatusOK {
			return 0, fmt.Errorf("%s: %d %.300s", path, rec.Code, rec.Body.String())
		}
		if into != nil {
			return d, json.Unmarshal(rec.Body.Bytes(), into)
		}
		return d, nil
	}
	var list struct {
		Entries []map[string]any `json:"entries"`
	}
	if _, err := get("/v1/customers?per_page=1", &list); err != nil || len(list.Entries) == 0 {
		return fmt.Errorf("bench pages: no customer: %v", err)
	}
	customer := list.Entries[0]["uuid"].(string)
	if _, err := get("/v1/activities?per_page=1&order=-date", &list); err != nil || len(list.Entries) == 0 {
		return fmt.Errorf("bench pages: no activity: %v", err)
	}
	activity := list.Entries[0]["uuid"].(string)
	five := "?" + url.Values{"start-date": {"2021-01-01"}, "end-date": {"2025-12-31"}, "interval": {"month"}}.Encode()
	pages := []string{"/", "/" + five}
	for _, m := range []string{"mrr", "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv", "all", "cash-flow", "retention", "cmrr"} {
		pages = append(pages, "/metrics/"+m+five)
	}
	pages = append(pages, "/metrics/mrr.csv"+five, "/customers", "/customers?sort=-mrr", "/customers?page=100", "/customers/"+customer,
		"/activities", "/activities?type=churn&start-date=2025-01-01&end-date=2025-12-31", "/activities/"+activity)
	fmt.Fprintf(out, "dashboard pages, warm, server time (%d samples each):\n", samples)
	var slowest string
	var worst time.Duration
	for _, p := range pages {
		if _, err := get(p, nil); err != nil { // the first is cold
			return err
		}
		var ds []time.Duration
		for range samples {
			d, err := get(p, nil)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		p99 := pct(ds, 99)
		if p99 > worst {
			worst, slowest = p99, p
		}
		fmt.Fprintf(out, "  %-70s p50 %-9s p99 %s\n", p, pct(ds, 50), p99)
	}
	fmt.Fprintf(out, "slowest page: %s, p99 %s\n", slowest, worst)
	return nil
}
