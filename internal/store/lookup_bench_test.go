package store_test

import (
	"context"
	"testing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// BenchmarkCustomerLookup measures the lookup a client makes before an
// import, GET /v1/customers?data_source_uuid=…&external_id=…, at 10,000
// customers (issue 10: 17 s before the list filters could use indexes).
// Run:
//
//	go test ./internal/store -run '^$' -bench CustomerLookup -benchtime 200x
func BenchmarkCustomerLookup(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			s := storetest.Open(b, backend)
			acct, ds := seedScale(b, s, "acme", 10000)
			ctx := context.Background()
			f := store.CustomerFilter{DataSourceUUID: ds[1], ExternalID: "c4243"}
			for b.Loop() {
				l, err := s.ListCustomers(ctx, acct, f, store.Page{Limit: 200})
				if err != nil || len(l.Items) != 1 {
					b.Fatalf("lookup: %d customers, %v", len(l.Items), err)
				}
			}
		})
	}
}
