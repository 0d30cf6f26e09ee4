package demo

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// newKey makes a key of the account for the test's own requests.
func newKey(t *testing.T, s *store.Store, account string, access billing.Access) string {
	t.Helper()
	acct, _, err := s.EnsureAccount(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	k := auth.NewKey()
	if err := s.CreateAPIKey(context.Background(), acct.ID, auth.Prefix(k), auth.Hash(k), access); err != nil {
		t.Fatal(err)
	}
	return k
}

// server is the API on a real loopback socket, and a client of it.
func server(t *testing.T, s *store.Store, key string) *Client {
	srv := httptest.NewServer(api.New(s, api.Options{}))
	t.Cleanup(srv.Close)
	return &Client{HTTP: srv.Client(), BaseURL: srv.URL, Key: key}
}

// TestInstallShowsInTheMetrics loads the whole demo the way `tally demo`
// does and reads it back through the Metrics API: every movement the
// generator made happen is there, one activity each, and the key metrics
// are those of a plausible small SaaS.
func TestInstallShowsInTheMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		start := time.Now()
		res, err := Install(ctx, s, "acme", Options{Seed: 1, Anchor: anchor})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("installed in %s with %d requests; %d rates; headline %+v", time.Since(start).Round(time.Millisecond), res.Requests, res.RatesSaved, res.Headline)
		if !res.AccountCreated || res.RatesSaved != len(res.Book.Rates) {
			t.Fatalf("account created %v, %d of %d rates saved", res.AccountCreated, res.RatesSaved, len(res.Book.Rates))
		}
		story := res.Book.Story
		c := server(t, s, newKey(t, s, "acme", billing.AccessRead))

		// Key metrics by month over the book's three years.
		q := url.Values{"start-date": {res.Book.Start.Format(time.DateOnly)}, "end-date": {anchor.AddDate(0, 0, -1).Format(time.DateOnly)}, "interval": {"month"}}
		var all struct {
			Entries []struct {
				Date         string  `json:"date"`
				MRR          int64   `json:"mrr"`
				ARR          int64   `json:"arr"`
				ARPA         int64   `json:"arpa"`
				ASP          int64   `json:"asp"`
				Customers    int64   `json:"customers"`
				CustomerRate float64 `json:"customer-churn-rate"`
				MRRRate      float64 `json:"mrr-churn-rate"`
				LTV          int64   `json:"ltv"`
			} `json:"entries"`
		}
		if err := c.Do(ctx, "GET", "/v1/metrics/all?"+q.Encode(), nil, &all); err != nil {
			t.Fatal(err)
		}
		if len(all.Entries) != 36 {
			t.Fatalf("%d monthly entries over three years", len(all.Entries))
		}
		first, last := all.Entries[0], all.Entries[35]
		t.Logf("first %+v", first)
		t.Logf("last  %+v", last)
		// A growing business: a couple of hundred customers at the end,
		// paying $30–$300 a month on average.
		if last.Customers < 150 || last.Customers > int64(len(res.Book.Customers)) {
			t.Errorf("customers at the end: %d", last.Customers)
		}
		if last.MRR < 1_000_000 || last.MRR > 10_000_000 || last.ARR != 12*last.MRR {
			t.Errorf("MRR at the end: %d (ARR %d)", last.MRR, last.ARR)
		}
		if last.ARPA != last.MRR/last.Customers || last.ARPA < 3_000 || last.ARPA > 30_000 {
			t.Errorf("ARPA at the end: %d for MRR %d and %d customers", last.ARPA, last.MRR, last.Customers)
		}
		if first.Customers >= last.Customers || first.MRR >= last.MRR {
			t.Errorf("no growth: %+v then %+v", first, last)
		}
		var churned, mrrChurned, withASP, withLTV int
		for _, e := range all.Entries[12:] {
			if e.CustomerRate > 0 && e.CustomerRate < 15 {
				churned++
			}
			if e.MRRRate != 0 && e.MRRRate > -50 && e.MRRRate < 50 {
				mrrChurned++
			}
			if e.ASP > 0 {
				withASP++
			}
			if e.LTV > 0 {
				withLTV++
			}
		}
		if churned < 12 || mrrChurned < 12 || withASP < 12 || withLTV < 12 {
			t.Errorf("of the last 24 months, %d have a sensible customer churn rate, %d an MRR churn rate, %d an ASP, %d an LTV",
				churned, mrrChurned, withASP, withLTV)
		}

		// Every activity, page by page: one per movement of the story.
		counts := map[string]int{}
		cursor := ""
		for {
			q := url.Values{"per_page": {"200"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var page struct {
				Entries []struct {
					Type string `json:"type"`
				} `json:"entries"`
				HasMore bool   `json:"has_more"`
				Cursor  string `json:"cursor"`
			}
			if err := c.Do(ctx, "GET", "/v1/activities?"+q.Encode(), nil, &page); err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entries {
				counts[e.Type]++
			}
			if !page.HasMore {
				break
			}
			cursor = page.Cursor
		}
		t.Logf("activities %v; story %+v", counts, story)
		for typ, want := range map[string]int{"new_biz": story.Paying, "churn": story.Churns, "reactivation": story.Reactivations,
			"expansion": story.Expansions(), "contraction": story.Contractions()} {
			if counts[typ] != want {
				t.Errorf("%d %s activities, want %d", counts[typ], typ, want)
			}
		}

		// A second run changes nothing, in this account or through the API.
		before := storetest.Snapshot(t, s)
		if _, err := Install(ctx, s, "acme", Options{Seed: 1, Anchor: anchor}); !errors.Is(err, ErrLoaded) {
			t.Fatalf("second install: %v, want ErrLoaded", err)
		}
		if storetest.Snapshot(t, s) != before {
			t.Fatal("a refused second install changed the database")
		}
		full := server(t, s, newKey(t, s, "acme", billing.AccessFull))
		before = storetest.Snapshot(t, s)
		if _, err := Load(ctx, full, res.Book); !errors.Is(err, ErrLoaded) {
			t.Fatalf("second load over HTTP: %v, want ErrLoaded", err)
		}
		if storetest.Snapshot(t, s) != before {
			t.Fatal("a refused second load changed the database")
		}
	})
}

// TestLoadOverHTTP sends a small book over a real socket: it refuses an
// account with other data, and a failed load leaves nothing behind.
func TestLoadOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := Generate(3, anchor, 40)
		if _, err := EnsureRates(ctx, s, b.Rates); err != nil {
			t.Fatal(err)
		}
		// Saving again adds nothing: every day is covered.
		if n, err := EnsureRates(ctx, s, b.Rates); err != nil || n != 0 {
			t.Fatalf("second EnsureRates: %d, %v", n, err)
		}

		other := server(t, s, newKey(t, s, "other", billing.AccessFull))
		if err := other.Do(ctx, "POST", "/v1/data_sources", map[string]string{"name": "Stripe"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(ctx, other, b); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("load into an account with data: %v, want ErrNotEmpty", err)
		}

		// A book the API refuses half-way (a plan that does not exist)
		// leaves no data source behind.
		c := server(t, s, newKey(t, s, "acme", billing.AccessFull))
		bad := *b
		bad.Customers = append([]Customer(nil), b.Customers...)
		bad.Customers[5].Invoices = append([]Invoice(nil), bad.Customers[5].Invoices...)
		bad.Customers[5].Invoices[0].Currency = "XYZ"
		var status *StatusError
		if _, err := Load(ctx, c, &bad); !errors.As(err, &status) || status.Status != 422 {
			t.Fatalf("bad book: %v, want a 422", err)
		}
		if err := c.Check(ctx); err != nil {
			t.Fatalf("after a failed load: %v", err)
		}

		ds, err := Load(ctx, c, b)
		if err != nil {
			t.Fatal(err)
		}
		var customers struct {
			Entries []struct {
				ExternalID string `json:"external_id"`
			} `json:"entries"`
		}
		if err := c.Do(ctx, "GET", "/v1/customers?per_page=200&data_source_uuid="+ds, nil, &customers); err != nil {
			t.Fatal(err)
		}
		if len(customers.Entries) != len(b.Customers) {
			t.Fatalf("%d customers stored, %d sent", len(customers.Entries), len(b.Customers))
		}
		if _, err := Load(ctx, c, b); !errors.Is(err, ErrLoaded) {
			t.Fatalf("second load: %v, want ErrLoaded", err)
		}
	})
}
