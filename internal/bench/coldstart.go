package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// coldEndpoints are the metrics endpoints whose first answer a new server
// process pays for: the nine, cash flow, retention and committed MRR.
var coldEndpoints = []string{"mrr", "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv", "all",
	"cash-flow", "retention", "cmrr"}

// ColdStarts measures each metrics endpoint's first answer, five years by
// month, on a store opened afresh and an API with nothing in memory, as a
// server process just started has: one process per endpoint, since they
// share what the first loads.
func ColdStarts(ctx context.Context, reopen func(context.Context) (*store.Store, error), acct billing.Account, out io.Writer, sum *summary) error {
	fmt.Fprintf(out, "cold start, first answer of a new server process, 5 years by month:\n")
	var worst time.Duration
	var slowest string
	for _, ep := range coldEndpoints {
		d, err := coldStart(ctx, reopen, acct, "/v1/metrics/"+ep+"?start-date=2021-01-01&end-date=2025-12-31&interval=month")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  metrics/%-22s %s\n", ep, d.Round(10*time.Microsecond))
		if d > worst {
			worst, slowest = d, ep
		}
	}
	sum.add("cold start, slowest endpoint (metrics/"+slowest+")", worst, "≤ 1s at 100,000 customers")
	return nil
}

func coldStart(ctx context.Context, reopen func(context.Context) (*store.Store, error), acct billing.Account, path string) (time.Duration, error) {
	s, err := reopen(ctx)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	key := auth.NewKey()
	if err := s.CreateAPIKey(ctx, acct.ID, auth.Prefix(key), auth.Hash(key), billing.AccessRead); err != nil {
		return 0, err
	}
	h := api.New(s, api.Options{})
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	req.SetBasicAuth(key, "")
	rec := httptest.NewRecorder()
	t := time.Now()
	h.ServeHTTP(rec, req)
	d := time.Since(t)
	if rec.Code != http.StatusOK {
		return 0, fmt.Errorf("%s: %d %.300s", path, rec.Code, rec.Body.String())
	}
	return d, nil
}

// summary collects the figures issue 14 names, each beside its target,
// printed together at the end of a run.
type summary struct {
	rows []summaryRow
}

type summaryRow struct {
	name, target string
	value        string
}

func (s *summary) add(name string, d time.Duration, target string) {
	s.rows = append(s.rows, summaryRow{name, target, d.Round(10 * time.Microsecond).String()})
}

func (s *summary) addRate(name string, r IngestResult, target string) {
	s.rows = append(s.rows, summaryRow{name, target, fmt.Sprintf("%.0f invoices/s", r.Rate())})
}

func (s *summary) print(out io.Writer, b benchBook) {
	fmt.Fprintf(out, "\nsummary (%d customers, %d invoices):\n", len(b.customers), b.invoices)
	if b.imported > 0 {
		fmt.Fprintf(out, "  %-58s %s (%.0f invoices/s)\n", "import", b.imported.Round(time.Millisecond), float64(b.invoices)/b.imported.Seconds())
	}
	for _, r := range s.rows {
		line := fmt.Sprintf("  %-58s %s", r.name, r.value)
		if r.target != "" {
			line += strings.Repeat(" ", max(1, 18-len(r.value))) + "target " + r.target
		}
		fmt.Fprintln(out, line)
	}
}
