package api

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store"
)

// The cash book and the retention cohorts a server keeps follow every
// write: after each, a warm server answers exactly what a server started
// afresh on the same database answers.
func TestWarmCachesFollowWrites(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var rates []store.FXRate
		for d := time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2025; d = d.AddDate(0, 0, 1) {
			rates = append(rates, store.FXRate{Currency: "USD", Day: d, PerEUR: "1.0908"})
		}
		if err := e.store.SaveFXRates(t.Context(), rates); err != nil {
			t.Fatal(err)
		}
		b := newCashBook(t, e, "warm")
		queries := []string{
			"/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-12-31&as-of=2024-06-15",
			"/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-12-31&interval=week&geo=GB&as-of=2024-06-15",
			"/v1/metrics/retention?start-date=2024-01-01&end-date=2024-12-31",
			"/v1/metrics/retention?start-date=2024-01-01&end-date=2024-12-31&interval=day&geo=US",
		}
		same := func(step string) {
			t.Helper()
			fresh := httptest.NewServer(New(e.store, Options{}))
			defer fresh.Close()
			for _, q := range queries {
				warm := e.do(b.key, "GET", q, nil)
				cold := (&env{t: t, srv: fresh}).do(b.key, "GET", q, nil)
				if warm.status != 200 || string(warm.body) != string(cold.body) {
					t.Fatalf("%s: %s\n warm %d %s\n cold %d %s", step, q, warm.status, warm.body, cold.status, cold.body)
				}
			}
		}
		alice, bob, carol := b.customer("alice", "US"), b.customer("bob", "GB"), b.customer("carol", "US")
		basic, pro := b.plan("Basic", "month"), b.plan("Pro", "month")
		b.invoice(alice, "A1", "2024-01-01", "USD", []map[string]any{subLine(basic, "a", "2024-01-01", "2024-02-01", 5000)},
			txn("payment", "successful", "2024-01-02"))
		b.invoice(bob, "B1", "2024-01-10", "EUR", []map[string]any{subLine(pro, "b", "2024-01-10", "2024-02-10", 9000)},
			txn("payment", "failed", "2024-01-10"), txn("payment", "successful", "2024-01-12"))
		b.invoice(carol, "C1", "2024-02-01", "USD", []map[string]any{subLine(basic, "c", "2024-02-01", "2024-03-01", 3000)},
			txn("payment", "successful", "2024-02-01"))
		same("first")
		// Alice upgrades; her second payment fails first.
		a2 := b.invoice(alice, "A2", "2024-02-01", "USD", []map[string]any{subLine(pro, "a", "2024-02-01", "2024-03-01", 9000)},
			txn("payment", "failed", "2024-02-01"))
		same("an upgrade")
		b.ok(201, "POST", "/v1/import/invoices/"+a2+"/transactions", txn("payment", "successful", "2024-02-03"))
		same("a transaction")
		// Bob cancels; Carol renews.
		sub := b.ok(200, "GET", "/v1/import/customers/"+bob+"/subscriptions", nil)["subscriptions"].([]any)[0].(map[string]any)["uuid"].(string)
		b.ok(202, "PATCH", "/v1/import/subscriptions/"+sub, map[string]any{"cancelled_at": "2024-02-10"})
		b.invoice(carol, "C2", "2024-03-01", "USD", []map[string]any{subLine(basic, "c", "2024-03-01", "2024-04-01", 3000)},
			txn("payment", "successful", "2024-03-01"))
		same("a cancellation and a renewal")
		// The euro's rate moves (an fx import): Bob's payment is worth more.
		for i := range rates {
			rates[i].PerEUR = "1.10"
		}
		if err := e.store.SaveFXRates(t.Context(), rates); err != nil {
			t.Fatal(err)
		}
		same("new rates")
		// Carol moves to GB; the account's day moves to Los Angeles.
		b.ok(200, "PATCH", "/v1/customers/"+carol, map[string]any{"country": "GB"})
		same("a move")
		b.ok(200, "PATCH", "/v1/account/settings", map[string]any{"time_zone": "America/Los_Angeles"})
		same("a time zone")
		// Alice goes.
		b.ok(204, "DELETE", "/v1/customers/"+alice, nil)
		same("a deletion")
	})
}
