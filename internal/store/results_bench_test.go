package store_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// BenchmarkResultsSince measures what the results cache loads on first
// use or after customers were removed, ResultsSince(all), and after a
// write to one customer, ResultsSince(version before it), on a book of
// BENCH_CUSTOMERS customers (100,000) with six monthly invoices each
// (issue 12: the customer facts for filters are loaded with the results).
// Run:
//
//	go test ./internal/store -run '^$' -bench ResultsSince -benchtime 5x
func BenchmarkResultsSince(b *testing.B) {
	n := 100_000
	if v := os.Getenv("BENCH_CUSTOMERS"); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil || n < 100 {
			b.Fatalf("BENCH_CUSTOMERS=%q: a number of at least 100 (%v)", v, err)
		}
	}
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			s := storetest.Open(b, backend)
			acct := seedResultsBook(b, s, n)
			ctx := context.Background()
			for _, c := range []struct {
				name  string
				since int64
				want  int
			}{{"all", -1, n}, {"one changed", 1, 1}} {
				b.Run(c.name, func(b *testing.B) {
					cpu := cpuTime()
					for b.Loop() {
						rs, err := s.ResultsSince(ctx, acct, c.since)
						if err != nil || len(rs) != c.want {
							b.Fatalf("%d customers, %v", len(rs), err)
						}
					}
					// The process's CPU time (PostgreSQL's own is not in
					// it): on a machine shared with other work it varies
					// less than the wall time.
					b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
				})
			}
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// seedResultsBook fills an account with n customers straight through SQL,
// with what a recomputation leaves behind: results version 1 (one
// customer 2), six monthly invoices of one subscription line each (every
// 20th customer's last one in EUR), their currencies and quantities as
// the recomputation keeps them, six MRR points and steps, two
// activities; every 10th customer has tags and a custom attribute, every
// 50th a merged identity in a second data source.
func seedResultsBook(t testing.TB, s *store.Store, n int) int64 {
	t.Helper()
	ctx := context.Background()
	a, _, err := s.EnsureAccount(ctx, "book")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := s.CreateDataSource(ctx, a.ID, fmt.Sprint("source ", i), "Custom"); err != nil {
			t.Fatal(err)
		}
	}
	const month = 2_592_000_000
	six := `k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 6)`
	for _, q := range []string{
		`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $2)
		INSERT INTO customers (account_id, data_source_id, uuid, external_id, name, country, tags, custom, created_at, results_version)
			SELECT $1, (SELECT min(id) FROM data_sources WHERE account_id = $1), 'cus_book_' || x, 'c' || x, 'Customer ' || x,
			CASE WHEN x % 10 = 0 THEN 'GB' ELSE 'US' END,
			CASE WHEN x % 10 = 3 THEN '["vip","eu"]' ELSE '[]' END,
			CASE WHEN x % 10 = 7 THEN '{"channel":{"type":"String","value":"ads","source":"api"}}' ELSE '{}' END,
			0, CASE WHEN x = $2 / 2 THEN 2 ELSE 1 END FROM n`,
		`INSERT INTO customer_identities (account_id, customer_id, data_source_id, external_id)
			SELECT account_id, id, data_source_id, external_id FROM customers WHERE account_id = $1`,
		`INSERT INTO customer_identities (account_id, customer_id, data_source_id, external_id)
			SELECT account_id, id, (SELECT max(id) FROM data_sources WHERE account_id = $1), 'm' || external_id
			FROM customers WHERE account_id = $1 AND id % 50 = 0`,
		`INSERT INTO plans (account_id, data_source_id, uuid, external_id, name, interval_count, interval_unit, created_at)
			SELECT $1, id, 'pl_book_' || id, 'p' || id, 'Plan', 1, 'month', 0 FROM data_sources WHERE account_id = $1`,
		`INSERT INTO subscriptions (account_id, data_source_id, customer_id, identity_id, uuid, external_id, created_at)
			SELECT c.account_id, c.data_source_id, c.id, ci.id, 'sub_book_' || c.id, 's' || c.id, 0
			FROM customers c JOIN customer_identities ci ON ci.customer_id = c.id AND ci.data_source_id = c.data_source_id
			WHERE c.account_id = $1`,
		`WITH RECURSIVE ` + six + `
		INSERT INTO invoices (account_id, data_source_id, customer_id, identity_id, uuid, external_id, date, currency, created_at)
			SELECT s.account_id, s.data_source_id, s.customer_id, s.identity_id, 'inv_book_' || s.id || '_' || k.j,
			'i' || s.id || '_' || k.j, k.j * ` + fmt.Sprint(month) + `, CASE WHEN s.customer_id % 20 = 0 AND k.j = 6 THEN 'EUR' ELSE 'USD' END, 0
			FROM subscriptions s, k WHERE s.account_id = $1`,
		`INSERT INTO line_items (account_id, invoice_id, data_source_id, uuid, position, type, subscription_id, plan_id,
			service_period_start, service_period_end, amount_in_cents, quantity)
			SELECT i.account_id, i.id, i.data_source_id, 'li_' || i.uuid, 0, 'subscription', s.id,
			(SELECT min(id) FROM plans WHERE data_source_id = i.data_source_id), i.date, i.date + ` + fmt.Sprint(month) + `,
			4900, 1 + (i.id % 5)
			FROM invoices i JOIN subscriptions s ON s.customer_id = i.customer_id WHERE i.account_id = $1`,
		`WITH RECURSIVE ` + six + `
		INSERT INTO mrr_points (customer_id, account_id, at, mrr, active)
			SELECT c.id, c.account_id, k.j * ` + fmt.Sprint(month) + `, 4900 * k.j, 1 FROM customers c, k WHERE c.account_id = $1`,
		`WITH RECURSIVE ` + six + `
		INSERT INTO subscription_steps (customer_id, account_id, subscription_uuid, external_id, group_key, at, mrr, live, plan_uuid)
			SELECT c.id, c.account_id, 'sub_book_' || c.id, 's' || c.id, '', k.j * ` + fmt.Sprint(month) + `, 4900 * k.j, 1,
			'pl_book_' || c.data_source_id FROM customers c, k WHERE c.account_id = $1`,
		`INSERT INTO activities (account_id, customer_id, uuid, at, type, amount, mrr_after, subscription_external_ids, causes)
			SELECT account_id, id, 'act_book_' || id, ` + fmt.Sprint(month) + `, 'new_biz', 4900, 4900, '[]', '[]'
			FROM customers WHERE account_id = $1`,
		`INSERT INTO activities (account_id, customer_id, uuid, at, type, amount, mrr_after, subscription_external_ids, causes)
			SELECT account_id, id, 'act_book2_' || id, ` + fmt.Sprint(2*month) + `, 'expansion', 4900, 9800, '[]', '[]'
			FROM customers WHERE account_id = $1`,
		// What the recomputation keeps beside each customer (00013).
		`UPDATE customers SET currencies = CASE WHEN id % 20 = 0 THEN '["EUR","USD"]' ELSE '["USD"]' END,
			quantities = '{"sub_book_' || id || '":' || (1 + id % 5) || '}' WHERE account_id = $1`,
	} {
		args := []any{a.ID}
		if strings.Contains(q, "$2") {
			args = append(args, n)
		}
		if _, err := s.DB().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("seed: %v\n%s", err, q)
		}
	}
	if s.Dialect() == store.Postgres {
		if _, err := s.DB().ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}
	return a.ID
}
