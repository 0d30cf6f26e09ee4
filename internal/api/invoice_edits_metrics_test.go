package api

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-analytics/tally/internal/store"
)

// Issue 13's metrics rule for edits: editing, deleting or disabling an
// invoice or a subscription event changes the numbers exactly as deleting
// and re-importing the changed data would, and enabling restores them. An
// account is edited step by step; after each step its numbers are compared
// with those of a second account into which the changed data was imported
// from the start, and checked against figures derived by hand.

// invoiceBook is what an account of this test holds: customer alpha on a
// monthly plan, billed USD 100 on 2024-01-01 (INV-1), 02-01 (INV-2) and
// 03-01 (INV-3), each invoice paid on its date; customer beta on a
// quarterly plan, USD 150 for 2024-01-01..04-01 (INV-B, paid on 01-01),
// whose subscription a subscription_cancelled event ends on 2024-02-15.
type invoiceBook struct {
	inv2Currency, inv2Date  string // INV-2's
	noInv2, noInv3, noEvent bool
}

// importInvoiceBook imports book into a new account and returns its handle and
// the public id of beta's cancellation event (0 without one).
func importInvoiceBook(t *testing.T, e *env, account string, book invoiceBook) (*cashBook, float64) {
	t.Helper()
	b := newCashBook(t, e, account)
	alpha, beta := b.customer("alpha", "US"), b.customer("beta", "US")
	plan := func(name string, months int) string {
		return b.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": b.ds, "name": name, "external_id": name,
			"interval_unit": "month", "interval_count": months})["uuid"].(string)
	}
	monthly, quarterly := plan("monthly", 1), plan("quarterly", 3)
	if book.inv2Currency == "" {
		book.inv2Currency, book.inv2Date = "USD", "2024-02-01"
	}
	b.invoice(alpha, "INV-1", "2024-01-01", "USD", []map[string]any{subLine(monthly, "s1", "2024-01-01", "2024-02-01", 10000)},
		txn("payment", "successful", "2024-01-01"))
	if !book.noInv2 {
		b.invoice(alpha, "INV-2", book.inv2Date, book.inv2Currency, []map[string]any{subLine(monthly, "s1", "2024-02-01", "2024-03-01", 10000)},
			txn("payment", "successful", "2024-02-01"))
	}
	if !book.noInv3 {
		b.invoice(alpha, "INV-3", "2024-03-01", "USD", []map[string]any{subLine(monthly, "s1", "2024-03-01", "2024-04-01", 10000)},
			txn("payment", "successful", "2024-03-01"))
	}
	b.invoice(beta, "INV-B", "2024-01-01", "USD", []map[string]any{subLine(quarterly, "s2", "2024-01-01", "2024-04-01", 15000)},
		txn("payment", "successful", "2024-01-01"))
	if book.noEvent {
		return b, 0
	}
	ev := b.ok(201, "POST", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{
		"data_source_uuid": b.ds, "customer_external_id": "beta", "subscription_external_id": "s2", "external_id": "ev-cancel",
		"event_type": "subscription_cancelled", "event_date": "2024-02-15", "effective_date": "2024-02-15"}})
	return b, ev["id"].(float64)
}

// editNumbers is everything an account's numbers show, in a form two
// accounts can share: metrics/all by month and cash flow by day as sent
// (one entry a line), and the activities without the ids a recomputation
// writes anew.
func editNumbers(t *testing.T, b *cashBook) []string {
	t.Helper()
	get := func(path string) []byte {
		r := b.e.do(b.key, "GET", path, nil)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		return r.body
	}
	var out []string
	for _, path := range []string{"/v1/metrics/all?start-date=2024-01-01&end-date=2024-06-30&interval=month",
		"/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-04-30&interval=day"} {
		out = append(out, strings.Split(string(get(path)), "},{")...)
	}
	var acts []string
	for _, x := range b.ok(200, "GET", "/v1/activities?start-date=2024-01-01&end-date=2024-12-31", nil)["entries"].([]any) {
		a := x.(map[string]any)
		acts = append(acts, fmt.Sprint(a["date"], " ", a["type"], " ", a["activity-mrr-movement"], " ", a["activity-mrr"], " ",
			a["customer-external-id"], " ", a["plan-external-id"], " ", a["subscription-external-id"], " ", a["description"]))
	}
	// Activities of one instant are listed in the order their rows were
	// written, which is no part of the numbers.
	slices.Sort(acts)
	return append(out, acts...)
}

// monthEnd reads one month-end entry of metrics/all and of the monthly
// cash flow: "mrr customers gross-cash-flow".
func monthEnd(t *testing.T, b *cashBook, day string) string {
	t.Helper()
	all := entryAt(t, b.ok(200, "GET", "/v1/metrics/all?start-date=2024-01-01&end-date=2024-06-30&interval=month", nil), day)
	cash := entryAt(t, b.ok(200, "GET", "/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-06-30&interval=month", nil), day)
	return fmt.Sprint(all["mrr"], " ", all["customers"], " ", cash["gross-cash-flow"])
}

func wantMonths(t *testing.T, b *cashBook, step string, want ...string) {
	t.Helper()
	for i, day := range []string{"2024-01-31", "2024-02-29", "2024-03-31"} {
		if got := monthEnd(t, b, day); got != want[i] {
			t.Errorf("%s: %s is %q, want %q", step, day, got, want[i])
		}
	}
}

func TestEditsChangeMetricsAsReimportWould(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// EUR 1 = USD 1.10 through 2024: EUR 100 is USD 110.00, 11000 cents.
		var rates []store.FXRate
		for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2024; d = d.AddDate(0, 0, 1) {
			rates = append(rates, store.FXRate{Currency: "USD", Day: d, PerEUR: "1.1000"})
		}
		if err := e.store.SaveFXRates(t.Context(), rates); err != nil {
			t.Fatal(err)
		}
		b, event := importInvoiceBook(t, e, "edited", invoiceBook{})
		same := func(step string, ref invoiceBook, account string) {
			t.Helper()
			r, _ := importInvoiceBook(t, e, account, ref)
			if diff := cmp.Diff(editNumbers(t, r), editNumbers(t, b)); diff != "" {
				t.Errorf("%s: the edited account's numbers differ from those of the data imported so (-imported +edited):\n%s", step, diff)
			}
		}
		same("as imported", invoiceBook{}, "ref-imported")
		// January: alpha 10000 + beta 15000/3 = 15000 MRR, 2 customers;
		// cash 10000 + 15000 = 25000. February: beta cancelled on the 15th,
		// alpha 10000; cash INV-2's 10000. March: alpha 10000; INV-3's 10000.
		wantMonths(t, b, "as imported", "15000 2 25000", "10000 1 10000", "10000 1 10000")

		inv2 := b.ok(200, "GET", "/v1/invoices?external_id=INV-2", nil)["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
		b.ok(200, "PATCH", "/v1/invoices/"+inv2, map[string]any{"date": "2024-02-05"})
		b.ok(200, "PATCH", "/v1/invoices?data_source_uuid="+b.ds+"&external_id=INV-2", map[string]any{"currency": "EUR"})
		same("INV-2 in EUR, dated 02-05", invoiceBook{inv2Currency: "EUR", inv2Date: "2024-02-05"}, "ref-eur")
		// February: INV-2's EUR 100 is 11000 (an expansion of 1000), and so
		// is its payment. March: INV-3's USD 100 is 10000 again.
		wantMonths(t, b, "INV-2 in EUR", "15000 2 25000", "11000 1 11000", "10000 1 10000")
		edited := editNumbers(t, b)

		b.ok(200, "PATCH", "/v1/invoices/"+inv2+"/disabled_state", map[string]any{"disabled": true})
		same("INV-2 disabled", invoiceBook{noInv2: true}, "ref-no-inv2")
		// February: alpha keeps January's 10000 (good faith, rule 8) and
		// pays nothing.
		wantMonths(t, b, "INV-2 disabled", "15000 2 25000", "10000 1 0", "10000 1 10000")
		b.ok(200, "PATCH", "/v1/invoices/disabled_state?data_source_uuid="+b.ds+"&external_id=INV-2", map[string]any{"disabled": false})
		if diff := cmp.Diff(edited, editNumbers(t, b)); diff != "" {
			t.Errorf("enabling INV-2 again changes the numbers (-before +after):\n%s", diff)
		}

		b.ok(200, "PATCH", fmt.Sprintf("/v1/subscription_events/%.0f/disabled_state", event), map[string]any{"disabled": true})
		same("event disabled", invoiceBook{inv2Currency: "EUR", inv2Date: "2024-02-05", noEvent: true}, "ref-no-event")
		// Beta is no longer cancelled: 11000 + 5000 in February, 10000 +
		// 5000 in March, two customers throughout.
		wantMonths(t, b, "event disabled", "15000 2 25000", "16000 2 11000", "15000 2 10000")
		b.ok(200, "PATCH", fmt.Sprintf("/v1/subscription_events/%.0f/disabled_state", event), map[string]any{"disabled": false})
		if diff := cmp.Diff(edited, editNumbers(t, b)); diff != "" {
			t.Errorf("enabling the event again changes the numbers (-before +after):\n%s", diff)
		}

		b.ok(204, "DELETE", "/v1/invoices?data_source_uuid="+b.ds+"&external_id=INV-3", nil)
		same("INV-3 deleted", invoiceBook{inv2Currency: "EUR", inv2Date: "2024-02-05", noInv3: true}, "ref-no-inv3")
		// March: alpha keeps February's 11000 and pays nothing.
		wantMonths(t, b, "INV-3 deleted", "15000 2 25000", "11000 1 11000", "11000 1 0")
	})
}
