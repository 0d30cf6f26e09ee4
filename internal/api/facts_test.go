package api

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// facts is what the results cache loads of a customer for segments.
type facts struct {
	DataSources []string
	Tags        []string
	Custom      map[string]billing.CustomAttribute
	Currencies  []string
	Quantities  map[string]int64
}

// Every write that changes a fact segments select by (issue 12) gives the
// customer a new results version, so that the results cache, which
// reloads only the customers whose version moved, sees the change; each
// step checks the customer is among those changed since the version
// before the write, with the facts it has after it.
func TestFactsFollowWrites(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		acct, _, err := e.store.EnsureAccount(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		var rates []store.FXRate
		for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Month() < 4; d = d.AddDate(0, 0, 1) {
			rates = append(rates, store.FXRate{Currency: "USD", Day: d, PerEUR: "1.1"}, store.FXRate{Currency: "GBP", Day: d, PerEUR: "0.85"})
		}
		if err := e.store.SaveFXRates(ctx, rates); err != nil {
			t.Fatal(err)
		}
		ds1 := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Stripe"})["uuid"].(string)
		ds2 := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Paddle"})["uuid"].(string)
		pl := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds1, "name": "Seats",
			"interval_count": 1, "interval_unit": "month"})["uuid"].(string)
		customerID := map[string]int64{}
		version := func() int64 {
			v, _, err := e.store.ResultsState(ctx, acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		// step runs a write and checks what a cache at the version before
		// it reloads of the customer it names (the facts it should have
		// are read after the write, which makes the ids they name).
		step := func(name string, write func() string, wantAfter func() facts) {
			t.Helper()
			before := version()
			cus := write()
			if customerID[cus] == 0 {
				c, err := e.store.Customer(ctx, acct.ID, cus)
				if err != nil {
					t.Fatal(err)
				}
				customerID[cus] = c.ID
			}
			rs, err := e.store.ResultsSince(ctx, acct.ID, before)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(rs, func(r *store.CustomerResults) bool { return r.CustomerID == customerID[cus] })
			if i < 0 {
				t.Errorf("%s: the customer kept its results version %d", name, before)
				return
			}
			r := rs[i]
			got := facts{r.DataSources, r.Tags, r.Custom, r.Currencies, r.Quantities}
			if d := cmp.Diff(wantAfter(), got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("%s: facts (-want +got)\n%s", name, d)
			}
		}
		var cus, other, sub, eur string
		step("create", func() string {
			cus = e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds1, "external_id": "a", "country": "US",
				"attributes": map[string]any{"tags": []string{"vip"}}})["uuid"].(string)
			return cus
		}, func() facts { return facts{DataSources: []string{ds1}, Tags: []string{"vip"}} })
		step("add tags", func() string {
			e.ok(200, "POST", "/v1/customers/"+cus+"/attributes/tags", map[string]any{"tags": []string{"eu"}})
			return cus
		}, func() facts { return facts{DataSources: []string{ds1}, Tags: []string{"vip", "eu"}} })
		channel := map[string]billing.CustomAttribute{"channel": {Type: "String", Value: "ads"}}
		step("add custom", func() string {
			e.ok(200, "POST", "/v1/customers/"+cus+"/attributes/custom", map[string]any{"custom": []map[string]any{
				{"type": "String", "key": "channel", "value": "ads"}}})
			return cus
		}, func() facts { return facts{DataSources: []string{ds1}, Tags: []string{"vip", "eu"}, Custom: channel} })
		step("remove tags", func() string {
			e.ok(200, "DELETE", "/v1/customers/"+cus+"/attributes/tags", map[string]any{"tags": []string{"vip"}})
			return cus
		}, func() facts { return facts{DataSources: []string{ds1}, Tags: []string{"eu"}, Custom: channel} })
		step("import", func() string {
			e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(map[string]any{
				"external_id": "i1", "date": "2024-01-01", "currency": "USD", "line_items": []map[string]any{
					{"type": "subscription", "subscription_external_id": "s1", "plan_uuid": pl, "service_period_start": "2024-01-01",
						"service_period_end": "2024-02-01", "amount_in_cents": 3000, "quantity": 3}}}))
			if err := e.store.DB().QueryRowContext(ctx, `SELECT uuid FROM subscriptions WHERE external_id = 's1'`).Scan(&sub); err != nil {
				t.Fatal(err)
			}
			return cus
		}, func() facts {
			return facts{DataSources: []string{ds1}, Tags: []string{"eu"}, Custom: channel, Currencies: []string{"USD"},
				Quantities: map[string]int64{sub: 3}}
		})
		// February's seat increase: the charge for 5 seats, then the credit
		// for January's 3 (imported after it, at the same start): the
		// charge's 5 is the quantity. A one-time invoice in GBP adds its
		// currency.
		step("import in other currencies", func() string {
			body := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(map[string]any{
				"external_id": "i2", "date": "2024-02-01", "currency": "EUR", "line_items": []map[string]any{
					{"type": "subscription", "subscription_external_id": "s1", "plan_uuid": pl, "service_period_start": "2024-02-01",
						"service_period_end": "2024-03-01", "amount_in_cents": 5000, "quantity": 5},
					{"type": "subscription", "subscription_external_id": "s1", "plan_uuid": pl, "service_period_start": "2024-02-01",
						"service_period_end": "2024-03-01", "amount_in_cents": -3000, "quantity": 3, "prorated": true}}},
				map[string]any{"external_id": "i3", "date": "2024-02-02", "currency": "GBP", "line_items": []map[string]any{oneTimeLine(900)}}))
			eur = body["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
			return cus
		}, func() facts {
			return facts{DataSources: []string{ds1}, Tags: []string{"eu"}, Custom: channel, Currencies: []string{"EUR", "GBP", "USD"},
				Quantities: map[string]int64{sub: 5}}
		})
		step("delete an invoice", func() string {
			e.ok(204, "DELETE", "/v1/invoices/"+eur, nil)
			return cus
		}, func() facts {
			return facts{DataSources: []string{ds1}, Tags: []string{"eu"}, Custom: channel, Currencies: []string{"GBP", "USD"},
				Quantities: map[string]int64{sub: 3}}
		})
		step("create another", func() string {
			other = e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds2, "external_id": "b",
				"attributes": map[string]any{"tags": []string{"paddle"}}})["uuid"].(string)
			return other
		}, func() facts { return facts{DataSources: []string{ds2}, Tags: []string{"paddle"}} })
		step("merge", func() string {
			e.ok(202, "POST", "/v1/customers/merges", map[string]any{"from": map[string]any{"customer_uuid": other},
				"into": map[string]any{"customer_uuid": cus}})
			return cus
		}, func() facts {
			return facts{DataSources: []string{ds1, ds2}, Tags: []string{"eu", "paddle"}, Custom: channel, Currencies: []string{"GBP", "USD"},
				Quantities: map[string]int64{sub: 3}}
		})
		step("unmerge", func() string {
			e.ok(202, "POST", "/v1/customers/unmerges", map[string]any{"customer_uuid": cus, "data_source_uuid": ds2, "external_id": "b"})
			return cus
		}, func() facts {
			return facts{DataSources: []string{ds1}, Tags: []string{"eu", "paddle"}, Custom: channel, Currencies: []string{"GBP", "USD"},
				Quantities: map[string]int64{sub: 3}}
		})
		step("update", func() string {
			e.ok(200, "PATCH", "/v1/customers/"+cus, map[string]any{"attributes": map[string]any{"tags": []string{"gold"}}})
			return cus
		}, func() facts {
			return facts{DataSources: []string{ds1}, Tags: []string{"gold"}, Custom: channel, Currencies: []string{"GBP", "USD"},
				Quantities: map[string]int64{sub: 3}}
		})
		step("delete the customer's invoices", func() string {
			e.ok(204, "DELETE", "/v1/data_sources/"+ds1+"/customers/"+cus+"/invoices", nil)
			return cus
		}, func() facts { return facts{DataSources: []string{ds1}, Tags: []string{"gold"}, Custom: channel} })
	})
}
