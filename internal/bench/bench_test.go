package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestRun runs the whole bench on a tiny book, then again with --reuse
// on the book it left, on both stores: every figure of issue 14's summary
// is printed, and a reused book is measured without importing it.
func TestRun(t *testing.T) {
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dsn := storetest.DSN(t, backend)
			open := func(ctx context.Context) (*store.Store, error) {
				s, err := store.Open(ctx, dsn)
				if err != nil {
					return nil, err
				}
				if err := s.Migrate(ctx); err != nil {
					s.Close()
					return nil, err
				}
				return s, nil
			}
			s, err := open(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, reuse := range []bool{false, true} {
				var out bytes.Buffer
				o := Options{Customers: 12, InvoicesPerCustomer: 4, Seed: 1, Samples: 2, FilteredSamples: 1, PageSamples: 1,
					Out: &out, Reuse: reuse, Reopen: open, IngestCustomers: 6, IngestClients: 1}
				if err := Run(t.Context(), s, o); err != nil {
					t.Fatalf("reuse %v: %v\n%s", reuse, err, &out)
				}
				text := out.String()
				for _, want := range []string{"full recompute", "incremental recompute, p50", "metrics/cash-flow, 5 years by month, warm p99",
					"metrics/retention, 5 years by month, warm p99", "cold start, slowest endpoint", "ingestion, 1 clients", "lists, slowest case p99",
					"cold start, first answer of a new server process", "metrics/cmrr"} {
					if !strings.Contains(text, want) {
						t.Fatalf("reuse %v: no %q in:\n%s", reuse, want, text)
					}
				}
				if imported := strings.Contains(text, "\n  import "); imported == reuse {
					t.Fatalf("reuse %v: import figure printed %v:\n%s", reuse, imported, text)
				}
			}
		})
	}
}
