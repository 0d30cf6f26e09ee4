package store_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// BenchmarkListsOfCustomerSet measures a page of the lists a segment
// restricts to its members (issue 12: CustomerFilter.CustomerIDs and
// ActivityFilter.CustomerIDs) at BENCH_CUSTOMERS customers (100,000),
// for sets of every customer, half of them, 1 in 100 and ten: the
// customer list's first page of 20 in creation order, by MRR and by name,
// a page by cursor from the middle of the book, the activities' first page
// and their total, and an export page of 1,000. It reports p50 and p99.
// Run:
//
//	go test ./internal/store -run '^$' -bench ListsOfCustomerSet -benchtime 50x
func BenchmarkListsOfCustomerSet(b *testing.B) {
	n := 100_000
	if v := os.Getenv("BENCH_CUSTOMERS"); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil || n < 1000 {
			b.Fatalf("BENCH_CUSTOMERS=%q: a number of at least 1,000 (%v)", v, err)
		}
	}
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			s := storetest.Open(b, backend)
			acct, _ := seedScale(b, s, "acme", n)
			ctx := context.Background()
			if s.Dialect() == store.Postgres {
				if _, err := s.DB().ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			var all []int64
			if err := scanIDs(ctx, s, acct, &all); err != nil {
				b.Fatal(err)
			}
			every := func(k int) []int64 {
				var out []int64
				for i := 0; i < len(all); i += k {
					out = append(out, all[i])
				}
				return out
			}
			sets := []struct {
				name string
				ids  []int64
			}{{"all", all}, {"half", every(2)}, {"1 in 100", every(100)}, {"ten", every(len(all) / 10)}}
			mid := all[len(all)/2]
			for _, set := range sets {
				for _, c := range []struct {
					name string
					call func() error
				}{
					{"customers", func() error {
						_, err := s.ListCustomers(ctx, acct, store.CustomerFilter{CustomerIDs: set.ids}, store.Page{Limit: 20})
						return err
					}},
					{"customers by -mrr", func() error {
						_, err := s.ListCustomers(ctx, acct, store.CustomerFilter{CustomerIDs: set.ids, Sort: store.SortMRRDesc}, store.Page{Limit: 20})
						return err
					}},
					{"customers by name", func() error {
						_, err := s.ListCustomers(ctx, acct, store.CustomerFilter{CustomerIDs: set.ids, Sort: store.SortName}, store.Page{Limit: 20})
						return err
					}},
					{"customers by -mrr from the middle", func() error {
						f := store.CustomerFilter{CustomerIDs: set.ids, Sort: store.SortMRRDesc, After: &store.CustomerKey{ID: mid, MRR: 100}}
						_, err := s.ListCustomers(ctx, acct, f, store.Page{Limit: 20})
						return err
					}},
					{"activities", func() error {
						_, err := s.ListActivities(ctx, acct, store.ActivityFilter{CustomerIDs: set.ids}, store.Page{Limit: 20})
						return err
					}},
					{"activity total", func() error {
						_, _, err := s.ActivityTotal(ctx, acct, store.ActivityFilter{CustomerIDs: set.ids})
						return err
					}},
					{"export page", func() error {
						_, err := s.ExportActivities(ctx, acct, store.ActivityFilter{CustomerIDs: set.ids}, nil, 1000)
						return err
					}},
				} {
					b.Run(set.name+"/"+c.name, func(b *testing.B) {
						var ds []time.Duration
						for b.Loop() {
							t := time.Now()
							if err := c.call(); err != nil {
								b.Fatal(err)
							}
							ds = append(ds, time.Since(t))
						}
						slices.Sort(ds)
						p := func(q float64) float64 {
							return float64(ds[int(math.Ceil(q*float64(len(ds))))-1]) / float64(time.Millisecond)
						}
						b.ReportMetric(p(0.5), "p50-ms")
						b.ReportMetric(p(0.99), "p99-ms")
					})
				}
			}
		})
	}
}

// scanIDs reads the account's customer ids in id order.
func scanIDs(ctx context.Context, s *store.Store, acct int64, ids *[]int64) error {
	rows, err := s.DB().QueryContext(ctx, `SELECT id FROM customers WHERE account_id = $1 ORDER BY id`, acct)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		*ids = append(*ids, id)
	}
	return rows.Err()
}
