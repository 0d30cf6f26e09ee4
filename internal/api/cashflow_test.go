package api

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// GET /v1/metrics/cash-flow (metrics.md rule 21) on both stores. Every
// expected figure is derived in the comment beside it.

// cashBook is one account's billing set up through the API.
type cashBook struct {
	e   *env
	key string
	ds  string
}

// newCashBook makes an account of its own with a data source, so that a
// scenario's account-wide cash flow sees only that scenario.
func newCashBook(t *testing.T, e *env, account string) *cashBook {
	t.Helper()
	b := &cashBook{e: e, key: e.newKey(account, billing.AccessFull)}
	b.ds = b.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
	return b
}

func (b *cashBook) ok(want int, method, path string, body any) map[string]any {
	b.e.t.Helper()
	r := b.e.do(b.key, method, path, body)
	if r.status != want {
		b.e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(b.e.t)
}

func (b *cashBook) customer(ext, country string) string {
	return b.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": b.ds, "external_id": ext, "name": ext,
		"country": country})["uuid"].(string)
}

func (b *cashBook) plan(name, unit string) string {
	return b.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": b.ds, "name": name, "interval_unit": unit,
		"interval_count": 1})["uuid"].(string)
}

// invoice imports one invoice and returns its uuid.
func (b *cashBook) invoice(cus, ext, date, currency string, lines []map[string]any, txs ...map[string]any) string {
	inv := map[string]any{"external_id": ext, "date": date, "currency": currency, "line_items": lines, "transactions": txs}
	return b.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(inv))["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
}

func subLine(plan, sub, start, end string, amount int) map[string]any {
	return map[string]any{"type": "subscription", "subscription_external_id": sub, "plan_uuid": plan,
		"service_period_start": start, "service_period_end": end, "amount_in_cents": amount, "quantity": 1}
}

func oneTimeLine(amount int) map[string]any {
	return map[string]any{"type": "one_time", "amount_in_cents": amount, "quantity": 1, "description": "setup"}
}

func txn(typ, result, date string, amount ...int) map[string]any {
	t := map[string]any{"type": typ, "result": result, "date": date}
	if len(amount) > 0 {
		t["amount_in_cents"] = amount[0]
	}
	return t
}

// cashRows renders a cash-flow answer's entries as
// "date gross net non-recurring refunds failed-charges failed-transactions
// successful-payments", and checks that they carry exactly rule 21's fields.
func cashRows(t *testing.T, body map[string]any) []string {
	t.Helper()
	var out []string
	for _, x := range body["entries"].([]any) {
		m := x.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if got := strings.Join(keys, " "); got != "date failed-charges failed-transactions gross-cash-flow net-cash-flow non-recurring-cash-flow refunds successful-payments" {
			t.Fatalf("entry fields: %s", got)
		}
		out = append(out, fmt.Sprintf("%s %v %v %v %v %v %v %v", m["date"], m["gross-cash-flow"], m["net-cash-flow"], m["non-recurring-cash-flow"],
			m["refunds"], m["failed-charges"], m["failed-transactions"], m["successful-payments"]))
	}
	return out
}

func wantRows(t *testing.T, body map[string]any, want ...string) {
	t.Helper()
	got := cashRows(t, body)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// The refund guide's three cases (seeds: "Adding refunds using the Import
// API"), each in an account of its own, with the invoices the guide sends.
func TestCashFlowRefundGuide(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// Case 1: Alice's annual plan, $250 paid on 2016-01-01 (INV0004),
		// refunded in full on 2016-01-05 (INV0005, a refund transaction only).
		b := newCashBook(t, e, "alice-co")
		alice, annual := b.customer("alice", "US"), b.plan("Annual Plan", "year")
		b.invoice(alice, "INV0004", "2016-01-01 00:00:00", "USD", []map[string]any{subLine(annual, "sub_0002", "2016-01-01", "2017-01-01", 25000)},
			txn("payment", "successful", "2016-01-01 00:00:00"))
		b.invoice(alice, "INV0005", "2016-01-05 00:00:00", "USD", []map[string]any{subLine(annual, "sub_0002", "2016-01-01", "2017-01-01", 25000)},
			txn("refund", "successful", "2016-01-05 00:00:00"))
		wantRows(t, b.ok(200, "GET", "/v1/metrics/cash-flow?start-date=2016-01-01&end-date=2016-01-05&interval=day", nil),
			// "Gross Cash Flow and Net Cash Flow increasing by $250 on January 1st":
			// the invoice total, 25000.
			"2016-01-01 25000 25000 0 0 0 0 1",
			"2016-01-02 0 0 0 0 0 0 0", "2016-01-03 0 0 0 0 0 0 0", "2016-01-04 0 0 0 0 0 0 0",
			// "Net Cash Flow reducing by $250, and Refunds increasing by $250,
			// on January 5th".
			"2016-01-05 0 -25000 0 25000 0 0 0")
		// G9, by month: gross 25000, refunds 25000, net 0.
		wantRows(t, b.ok(200, "GET", "/v1/metrics/cash-flow?start-date=2016-01-01&end-date=2016-01-31", nil),
			"2016-01-31 25000 0 0 25000 0 0 1")

		// Case 2: Adam's Bronze month, $50 paid on 2016-01-01, refunded in
		// full on 2016-01-25 (INV0006, a refund transaction only).
		for _, tc := range []struct {
			account string
			refund  int
			want    string
		}{
			// "Net Cash Flow reducing by $50, and Refunds increasing by $50,
			// on January 25th".
			{"adam-co", 5000, "2016-01-25 0 -5000 0 5000 0 0 0"},
			// Case 3, the partial refund: INV0006's line is the refunded $10;
			// "Net Cash Flow reducing by $10, and Refunds increasing by $10".
			{"adam-partial-co", 1000, "2016-01-25 0 -1000 0 1000 0 0 0"},
		} {
			b := newCashBook(t, e, tc.account)
			adam, bronze := b.customer("adam", "US"), b.plan("Bronze Plan", "month")
			b.invoice(adam, "INV0001", "2016-01-01 00:00:00", "USD", []map[string]any{subLine(bronze, "sub_0001", "2016-01-01", "2016-02-01", 5000)},
				txn("payment", "successful", "2016-01-01 00:00:00"))
			b.invoice(adam, "INV0006", "2016-01-25 00:00:00", "USD", []map[string]any{subLine(bronze, "sub_0001", "2016-01-01", "2016-02-01", tc.refund)},
				txn("refund", "successful", "2016-01-25 00:00:00"))
			wantRows(t, b.ok(200, "GET", "/v1/metrics/cash-flow?start-date=2016-01-25&end-date=2016-01-25&interval=day", nil), tc.want)
			// January: 5000 in; net 5000 − the refund.
			wantRows(t, b.ok(200, "GET", "/v1/metrics/cash-flow?start-date=2016-01-01&end-date=2016-01-31&interval=month", nil),
				fmt.Sprintf("2016-01-31 5000 %d 0 %d 0 0 1", 5000-tc.refund, tc.refund))
			// A refund is no MRR movement (rule 5): MRR stays 5000 in January.
			if v := entryAt(t, b.ok(200, "GET", "/v1/metrics/mrr?start-date=2016-01-01&end-date=2016-01-31", nil), "2016-01-31")["mrr"]; v != 5000.0 {
				t.Errorf("%s: MRR %v", tc.account, v)
			}
		}
	})
}

func TestCashFlowAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := &cashBook{e: e, key: e.key}
		b.ds = b.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		consult, dora := b.customer("consult", "GB"), b.customer("dora", "US")
		bronze, silver := b.plan("Bronze Plan", "month"), b.plan("Silver Plan", "month")
		// G8: a $25 consultation (one_time) invoiced 2015-11-01, paid 11-05.
		b.invoice(consult, "C1", "2015-11-01", "USD", []map[string]any{oneTimeLine(2500)}, txn("payment", "successful", "2015-11-05"))
		// G12: $40/month from 2024-02-01, the payment fails on 02-01 and the
		// retry succeeds on 03-03.
		b.invoice(dora, "D1", "2024-02-01", "USD", []map[string]any{subLine(bronze, "dora-1", "2024-02-01", "2024-03-01", 4000)},
			txn("payment", "failed", "2024-02-01"), txn("payment", "successful", "2024-03-03"))
		// Partial payments and a partial refund: April's 5000 invoice
		// (Bronze 4000 + a 1000 setup fee) paid 2000 on import, 3000 later,
		// and 500 of it refunded.
		d2 := b.invoice(dora, "D2", "2024-04-01", "USD", []map[string]any{subLine(bronze, "dora-1", "2024-04-01", "2024-05-01", 4000), oneTimeLine(1000)},
			txn("payment", "successful", "2024-04-02", 2000))
		b.ok(201, "POST", "/v1/import/invoices/"+d2+"/transactions", txn("payment", "successful", "2024-04-20", 3000))
		b.ok(201, "POST", "/v1/import/invoices/"+d2+"/transactions", txn("refund", "successful", "2024-04-25", 500))
		// A Silver invoice with no transaction: MRR, but no cash.
		b.invoice(dora, "D3", "2024-04-01", "USD", []map[string]any{subLine(silver, "dora-2", "2024-04-01", "2024-05-01", 9900)})

		cf := func(q string) map[string]any { return b.ok(200, "GET", "/v1/metrics/cash-flow?"+q, nil) }
		// G8, Nov 2015: gross, net and non-recurring 2500; one payment.
		wantRows(t, cf("start-date=2015-11-01&end-date=2015-11-30"), "2015-11-30 2500 2500 2500 0 0 0 1")
		wantRows(t, cf("start-date=2024-02-01&end-date=2024-04-30&interval=month"),
			// G12, Feb: 1 customer with a failed transaction, of 4000; gross 0.
			"2024-02-29 0 0 0 0 4000 1 0",
			// Mar: the retry, 4000.
			"2024-03-31 4000 4000 0 0 0 0 1",
			// Apr: 2000 + 3000 = 5000 gross; non-recurring pro rata,
			// 2000 × 1000/5000 + 3000 × 1000/5000 = 400 + 600 = 1000;
			// refunds 500; net 5000 − 500 = 4500; two payments.
			"2024-04-30 5000 4500 1000 500 0 0 2")

		// Filters. Plans, pro rata by line amount: Bronze's 4000 of D2's
		// 5000 is 2000 × 4/5 + 3000 × 4/5 = 1600 + 2400 = 4000, refunds
		// 500 × 4/5 = 400, net 3600; the planless setup fee is in no plan.
		wantRows(t, cf("start-date=2024-04-01&end-date=2024-04-30&plans=Bronze%20Plan"), "2024-04-30 4000 3600 0 400 0 0 2")
		wantRows(t, cf("start-date=2024-04-01&end-date=2024-04-30&plans="+silver), "2024-04-30 0 0 0 0 0 0 0")
		// Geo, by the customer's country: the consultation is GB's.
		wantRows(t, cf("start-date=2015-11-01&end-date=2015-11-30&geo=GB"), "2015-11-30 2500 2500 2500 0 0 0 1")
		wantRows(t, cf("start-date=2015-11-01&end-date=2015-11-30&geo=us,FR"), "2015-11-30 0 0 0 0 0 0 0")
		wantRows(t, cf("start-date=2024-02-01&end-date=2024-02-29&geo=US"), "2024-02-29 0 0 0 0 4000 1 0")

		// The summary: the month up to as-of against the month before, as
		// for ASP. As of 2024-05-01: (04-01, 05-01] has April's 5000 gross,
		// 500 refunds, 4500 net, 1000 non-recurring, 2 payments; (03-01,
		// 04-01] has the 4000 retry. Changes: (5000 − 4000)/4000 = 25 %,
		// (4500 − 4000)/4000 = 12.5 %, (2 − 1)/1 = 100 %; from 0: 0.
		s := cf("start-date=2024-01-01&end-date=2024-12-31&as-of=2024-05-01")["summary"].(map[string]any)
		for k, v := range map[string]float64{
			"current-gross-cash-flow": 5000, "previous-gross-cash-flow": 4000, "gross-cash-flow-percentage-change": 25,
			"current-net-cash-flow": 4500, "previous-net-cash-flow": 4000, "net-cash-flow-percentage-change": 12.5,
			"current-refunds": 500, "previous-refunds": 0, "refunds-percentage-change": 0,
			"current-non-recurring-cash-flow": 1000, "previous-non-recurring-cash-flow": 0,
			"current-successful-payments": 2, "previous-successful-payments": 1, "successful-payments-percentage-change": 100,
			"current-failed-transactions": 0, "previous-failed-transactions": 0, "current-failed-charges": 0,
		} {
			if s[k] != v {
				t.Errorf("summary %s = %v, want %v", k, s[k], v)
			}
		}
		if len(s) != 21 { // 7 fields × current, previous, change
			t.Errorf("summary has %d keys: %v", len(s), s)
		}
		// As of 2024-03-01 (a leap February back is 2024-02-01): (02-01,
		// 03-01] holds nothing, since the failure at 02-01 00:00 is the
		// open end; (01-01, 02-01] holds it: 1 customer, 4000.
		s = cf("start-date=2024-01-01&end-date=2024-12-31&as-of=2024-03-01")["summary"].(map[string]any)
		if s["current-failed-transactions"] != 0.0 || s["previous-failed-transactions"] != 1.0 || s["previous-failed-charges"] != 4000.0 {
			t.Errorf("summary as of 2024-03-01: %v", s)
		}

		// A read-only key reads; another account sees none of it.
		if r := e.do(e.readKey, "GET", "/v1/metrics/cash-flow?start-date=2015-11-01&end-date=2015-11-30", nil); r.status != 200 {
			t.Errorf("read-only key: %d", r.status)
		}
		if r := e.do(e.otherKey, "GET", "/v1/metrics/cash-flow?start-date=2024-04-01&end-date=2024-04-30", nil); r.status != 200 ||
			strings.Join(cashRows(t, r.json(t)), "") != "2024-04-30 0 0 0 0 0 0 0" {
			t.Errorf("other account: %d %s", r.status, r.body)
		}

		// Rule 14 for cash: in Los Angeles (UTC−8) the failure of
		// 2024-02-01 00:00 UTC happened on January 31st.
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"time_zone": "America/Los_Angeles"})
		wantRows(t, cf("start-date=2024-01-01&end-date=2024-02-29"), "2024-01-31 0 0 0 0 4000 1 0", "2024-02-29 0 0 0 0 0 0 0")
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"time_zone": "UTC"})
	})
}

// Rule 20 for cash: converted at the transaction date's rate; a missing
// rate is a 422 naming it, never a 500.
func TestCashFlowCurrencyAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var rates []store.FXRate
		for d := time.Date(2017, 5, 1, 0, 0, 0, 0, time.UTC); d.Month() < 7; d = d.AddDate(0, 0, 1) {
			perEUR := "1.0908" // May
			if d.Month() == 6 {
				perEUR = "1.12"
			}
			rates = append(rates, store.FXRate{Currency: "USD", Day: d, PerEUR: perEUR})
		}
		if err := e.store.SaveFXRates(t.Context(), rates); err != nil {
			t.Fatal(err)
		}
		b := newCashBook(t, e, "euro-co")
		cus, pl := b.customer("euro", "DE"), b.plan("Euro Plan", "month")
		// May's EUR 100 paid late, on 2017-06-10: at June's rate,
		// 10000 × 1.12 = 11200 (MRR converts at May's: 10908).
		b.invoice(cus, "E1", "2017-05-01", "EUR", []map[string]any{subLine(pl, "e", "2017-05-01", "2017-06-01", 10000)},
			txn("payment", "successful", "2017-06-10"))
		// EUR 33.33 refunded on 2017-06-11: 3333 × 1.12 = 3732.96 → 3733.
		b.invoice(cus, "E2", "2017-06-11", "EUR", []map[string]any{subLine(pl, "e", "2017-05-01", "2017-06-01", 3333)},
			txn("refund", "successful", "2017-06-11"))
		wantRows(t, b.ok(200, "GET", "/v1/metrics/cash-flow?start-date=2017-05-01&end-date=2017-06-30", nil),
			"2017-05-31 0 0 0 0 0 0 0",
			// net 11200 − 3733 = 7467.
			"2017-06-30 11200 7467 0 3733 0 0 1")
		// A EUR one-time invoice paid on a day with no rate: cash flow
		// could not convert it, so the import refuses it (rule 20) and
		// stores nothing; the month then has no cash.
		r := e.do(b.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(map[string]any{"external_id": "E3",
			"date": "2019-01-10", "currency": "EUR", "line_items": []map[string]any{oneTimeLine(5000)},
			"transactions": []map[string]any{txn("payment", "successful", "2019-01-10")}}))
		if r.status != 422 || !strings.Contains(string(r.body), "EUR→USD exchange rate for 2019-01-10") {
			t.Errorf("missing rate at import: %d %s", r.status, r.body)
		}
		wantRows(t, b.ok(200, "GET", "/v1/metrics/cash-flow?start-date=2019-01-01&end-date=2019-01-31", nil), "2019-01-31 0 0 0 0 0 0 0")
		// A transaction added later on such a day is refused the same way.
		e1 := b.ok(200, "GET", "/v1/import/customers/"+cus+"/invoices", nil)["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
		r = e.do(b.key, "POST", "/v1/import/invoices/"+e1+"/transactions", txn("refund", "successful", "2019-01-12"))
		if r.status != 422 || r.json(t)["errors"].(map[string]any)["currency"] == nil {
			t.Errorf("missing rate for a transaction: %d %s", r.status, r.body)
		}
	})
}

// Bad parameters answer 400 naming them, as the other metrics do.
func TestCashFlowBadInput(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		for q, param := range map[string]string{
			"end-date=2024-01-31":                                          "start-date",
			"start-date=2024-01-01":                                        "end-date",
			"start-date=2024-13-01&end-date=2024-12-31":                    "start-date",
			"start-date=2024-02-01&end-date=2024-01-31":                    "end-date",
			"start-date=2024-01-01&end-date=2024-01-31&interval=fortnight": "interval",
			"start-date=2024-01-01&end-date=2024-01-31&geo=USA":            "geo",
			"start-date=2024-01-01&end-date=2024-01-31&plans=Nope":         "plans",
			"start-date=2024-01-01&end-date=2024-01-31&as-of=soon":         "as-of",
			"start-date=0001-01-01&end-date=9999-12-31&interval=day":       "start-date",
			"start-date=1970-01-01&end-date=2999-12-31&interval=day":       "interval",
		} {
			r := e.do(e.key, "GET", "/v1/metrics/cash-flow?"+q, nil)
			if r.status != 400 {
				t.Errorf("%s: %d %s", q, r.status, r.body)
				continue
			}
			if m := r.json(t); m["code"] != 400.0 || m["param"] != param {
				t.Errorf("%s: %s", q, r.body)
			}
		}
		if r := e.do("", "GET", "/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-01-31", nil); r.status != 401 {
			t.Errorf("no key: %d", r.status)
		}
		if r := e.do(e.key, "POST", "/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-01-31", nil); r.status != 405 {
			t.Errorf("POST: %d", r.status)
		}
	})
}

// Cash flow reads a cache of the account's transactions: every kind of
// write shows in the very next answer. Columns: gross net non-recurring
// refunds failed-charges failed-transactions successful-payments.
func TestCashFlowCurrentAtOnce(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := newCashBook(t, e, "cash-cache")
		alice, bob := b.customer("alice", "US"), b.customer("bob", "GB")
		pl := b.plan("Basic", "month")
		q := "/v1/metrics/cash-flow?start-date=2024-03-01&end-date=2024-03-31"
		wantRows(t, b.ok(200, "GET", q, nil), "2024-03-31 0 0 0 0 0 0 0")
		// An import: Alice pays 5000 on 03-02.
		inv := b.invoice(alice, "A1", "2024-03-01", "USD", []map[string]any{subLine(pl, "a", "2024-03-01", "2024-04-01", 5000)},
			txn("payment", "successful", "2024-03-02"))
		wantRows(t, b.ok(200, "GET", q, nil), "2024-03-31 5000 5000 0 0 0 0 1")
		// Bob's one-time 1000, paid: 6000 gross, 1000 of it non-recurring.
		b.invoice(bob, "B1", "2024-03-05", "USD", []map[string]any{oneTimeLine(1000)}, txn("payment", "successful", "2024-03-05"))
		wantRows(t, b.ok(200, "GET", q, nil), "2024-03-31 6000 6000 1000 0 0 0 2")
		// A refund added to Alice's invoice: 2000 back, net 4000.
		b.ok(201, "POST", "/v1/import/invoices/"+inv+"/transactions", txn("refund", "successful", "2024-03-20", 2000))
		wantRows(t, b.ok(200, "GET", q, nil), "2024-03-31 6000 4000 1000 2000 0 0 2")
		// Bob moves to the US: a US view now holds both.
		wantRows(t, b.ok(200, "GET", q+"&geo=US", nil), "2024-03-31 5000 3000 0 2000 0 0 1")
		b.ok(200, "PATCH", "/v1/customers/"+bob, map[string]any{"country": "US"})
		wantRows(t, b.ok(200, "GET", q+"&geo=US", nil), "2024-03-31 6000 4000 1000 2000 0 0 2")
		// Alice's invoice deleted: only Bob's cash is left.
		e.do(b.key, "DELETE", "/v1/invoices/"+inv, nil)
		wantRows(t, b.ok(200, "GET", q, nil), "2024-03-31 1000 1000 1000 0 0 0 1")
		// Bob deleted: nothing.
		e.do(b.key, "DELETE", "/v1/customers/"+bob, nil)
		wantRows(t, b.ok(200, "GET", q, nil), "2024-03-31 0 0 0 0 0 0 0")
	})
}
