package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestIngest runs the ingestion measurement on a tiny book: every request
// answered as expected, nothing left to recompute, and the metrics the API
// answers at the end equal to a full recompute's (Ingest checks both).
func TestIngest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var out bytes.Buffer
		_, err := Ingest(t.Context(), s, IngestOptions{Options: Options{Customers: 20, InvoicesPerCustomer: 5, Seed: 1, Out: &out}, Clients: 2})
		if err != nil {
			t.Fatalf("%v\n%s", err, &out)
		}
		if !strings.Contains(out.String(), "ingest: 20 customers, 100 invoices") {
			t.Fatalf("no figure for the book sent:\n%s", &out)
		}
	})
}
