package metrics

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// Cash-flow tests (metrics.md rule 21). Every expected figure is derived
// in the comment beside it from the rule and the inputs.

// cashTx makes a transaction of a USD invoice of a US customer; lines are "amount" (a subscription line on
// plan "basic"), "amount/plan" or "amount/one_time" (a planless one_time
// line) or "amount/plan/one_time".
func cashTx(customer int64, at, typ, result string, amount *int64, lines ...string) CashTransaction {
	tx := CashTransaction{Customer: customer, Country: "US", At: day(at), Type: typ, Successful: result == "successful",
		Amount: amount, Currency: "USD"}
	for _, l := range lines {
		var cl CashLine
		parts := strings.Split(l, "/")
		if _, err := fmt.Sscan(parts[0], &cl.Amount); err != nil {
			panic(err)
		}
		cl.Plan = "basic"
		for _, p := range parts[1:] {
			if p == "one_time" {
				cl.OneTime = true
				if len(parts) == 2 {
					cl.Plan = ""
				}
			} else {
				cl.Plan = p
			}
		}
		tx.Lines = append(tx.Lines, cl)
	}
	return tx
}

func cents(n int64) *int64 { return &n }

var usdCash = CashFilter{Currency: "USD"}

func cashSeries(t *testing.T, txs []CashTransaction, start, end, interval string, f CashFilter, rates Rates) []CashEntry {
	t.Helper()
	es, err := CashFlow(txs, SeriesRequest{Start: day(start), End: day(end), Interval: interval}, f, rates)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// renderCash prints an entry as gross/net/nonrec/refunds/failed-charges/
// failed-transactions/successful-payments.
func renderCash(e CashEntry) string {
	return fmt.Sprintf("%s g=%d n=%d nr=%d r=%d fc=%d ft=%d sp=%d", e.Date.Format("2006-01-02"), e.Gross, e.Net(), e.NonRecurring,
		e.Refunds, e.FailedCharges, e.FailedTransactions, e.SuccessfulPayments)
}

func wantCash(t *testing.T, es []CashEntry, want ...string) {
	t.Helper()
	if len(es) != len(want) {
		t.Fatalf("%d entries, want %d", len(es), len(want))
	}
	for i, e := range es {
		if got := renderCash(e); got != want[i] {
			t.Errorf("entry %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}

// The refund guide (seeds: "Adding refunds using the Import API"), case 1:
// Alice pays $250 for an annual plan on 2016-01-01 (INV0004, payment) and
// is refunded in full on 2016-01-05 (INV0005: the same line, a refund
// transaction without an amount).
func TestCashFlowRefundGuidePastRefund(t *testing.T) {
	txs := []CashTransaction{
		cashTx(1, "2016-01-01", "payment", "successful", nil, "25000/annual"),
		cashTx(1, "2016-01-05", "refund", "successful", nil, "25000/annual"),
	}
	es := cashSeries(t, txs, "2016-01-01", "2016-01-05", "day", usdCash, nil)
	wantCash(t, es,
		// "Gross Cash Flow and Net Cash Flow increasing by $250 on January
		// 1st, 2016": the invoice total 25000, one payment.
		"2016-01-01 g=25000 n=25000 nr=0 r=0 fc=0 ft=0 sp=1",
		"2016-01-02 g=0 n=0 nr=0 r=0 fc=0 ft=0 sp=0",
		"2016-01-03 g=0 n=0 nr=0 r=0 fc=0 ft=0 sp=0",
		"2016-01-04 g=0 n=0 nr=0 r=0 fc=0 ft=0 sp=0",
		// "Net Cash Flow reducing by $250, and Refunds increasing by $250,
		// on January 5th, 2016": net 0 − 25000.
		"2016-01-05 g=0 n=-25000 nr=0 r=25000 fc=0 ft=0 sp=0")
	// G9 by month: gross 25000, refunds 25000, net 25000 − 25000 = 0.
	wantCash(t, cashSeries(t, txs, "2016-01-01", "2016-01-31", "month", usdCash, nil),
		"2016-01-31 g=25000 n=0 nr=0 r=25000 fc=0 ft=0 sp=1")
}

// Case 2: Adam paid $50 for January's Bronze month on 2016-01-01 and is
// refunded in full on 2016-01-25 (INV0006: only a refund transaction).
func TestCashFlowRefundGuideRealTimeRefund(t *testing.T) {
	txs := []CashTransaction{
		cashTx(2, "2016-01-01", "payment", "successful", nil, "5000/bronze"),
		cashTx(2, "2016-01-25", "refund", "successful", nil, "5000/bronze"),
	}
	es := cashSeries(t, txs, "2016-01-24", "2016-01-26", "day", usdCash, nil)
	wantCash(t, es,
		"2016-01-24 g=0 n=0 nr=0 r=0 fc=0 ft=0 sp=0",
		// "Net Cash Flow reducing by $50, and Refunds increasing by $50, on
		// January 25th, 2016".
		"2016-01-25 g=0 n=-5000 nr=0 r=5000 fc=0 ft=0 sp=0",
		"2016-01-26 g=0 n=0 nr=0 r=0 fc=0 ft=0 sp=0")
	// January as a whole: 5000 in, 5000 out, net 0.
	wantCash(t, cashSeries(t, txs, "2016-01-01", "2016-01-31", "month", usdCash, nil),
		"2016-01-31 g=5000 n=0 nr=0 r=5000 fc=0 ft=0 sp=1")
}

// Case 3: a partial refund of $10 of Adam's $50, sent as a refund invoice
// whose line is the refunded amount (1000) and whose transaction names no
// amount; and the same refund sent as a transaction with amount_in_cents
// 1000 on an invoice of the full 5000.
func TestCashFlowRefundGuidePartialRefund(t *testing.T) {
	for name, refund := range map[string]CashTransaction{
		"refund invoice of 1000":      cashTx(2, "2016-01-25", "refund", "successful", nil, "1000/bronze"),
		"refund amount_in_cents 1000": cashTx(2, "2016-01-25", "refund", "successful", cents(1000), "5000/bronze"),
		"amount_in_cents, two lines":  cashTx(2, "2016-01-25", "refund", "successful", cents(1000), "4000/bronze", "1000/addon"),
	} {
		txs := []CashTransaction{cashTx(2, "2016-01-01", "payment", "successful", nil, "5000/bronze"), refund}
		es := cashSeries(t, txs, "2016-01-25", "2016-01-25", "day", usdCash, nil)
		// "Net Cash Flow reducing by $10, and Refunds increasing by $10, on
		// January 25th, 2016".
		if got, want := renderCash(es[0]), "2016-01-25 g=0 n=-1000 nr=0 r=1000 fc=0 ft=0 sp=0"; got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
		// January: 5000 − 1000 = 4000 net.
		es = cashSeries(t, txs, "2016-01-01", "2016-01-31", "month", usdCash, nil)
		if got, want := renderCash(es[0]), "2016-01-31 g=5000 n=4000 nr=0 r=1000 fc=0 ft=0 sp=1"; got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
}

// G8: a $25 consultation (one_time, no plan) invoiced 2015-11-01 and paid
// 2015-11-05.
func TestCashFlowOneTimePayment(t *testing.T) {
	txs := []CashTransaction{cashTx(3, "2015-11-05", "payment", "successful", nil, "2500/one_time")}
	// Nov 2015: gross 2500, non-recurring 2500 (all of it pays the one_time
	// line), net 2500 − 0, refunds 0, one payment.
	wantCash(t, cashSeries(t, txs, "2015-11-01", "2015-11-30", "month", usdCash, nil),
		"2015-11-30 g=2500 n=2500 nr=2500 r=0 fc=0 ft=0 sp=1")
}

// G12: a $40/month invoice of 2024-02-01 whose payment fails on 02-01 and
// succeeds on the retry of 2024-03-03.
func TestCashFlowFailedPaymentThenRetry(t *testing.T) {
	txs := []CashTransaction{
		cashTx(4, "2024-02-01", "payment", "failed", nil, "4000"),
		cashTx(4, "2024-03-03", "payment", "successful", nil, "4000"),
	}
	wantCash(t, cashSeries(t, txs, "2024-02-01", "2024-03-31", "month", usdCash, nil),
		// Feb: 1 customer with a failed transaction; gross 0; the failed
		// attempt was for the invoice total, 4000.
		"2024-02-29 g=0 n=0 nr=0 r=0 fc=4000 ft=1 sp=0",
		// Mar: the retry brings 4000.
		"2024-03-31 g=4000 n=4000 nr=0 r=0 fc=0 ft=0 sp=1")
}

// Partial payments: a 10000 invoice (7000 subscription + 3000 one_time)
// paid 3333 then 6667; each payment's non-recurring part is pro rata.
func TestCashFlowPartialPayments(t *testing.T) {
	txs := []CashTransaction{
		cashTx(5, "2024-05-02", "payment", "successful", cents(3333), "7000", "3000/one_time"),
		cashTx(5, "2024-06-02", "payment", "successful", cents(6667), "7000", "3000/one_time"),
	}
	wantCash(t, cashSeries(t, txs, "2024-05-01", "2024-06-30", "month", usdCash, nil),
		// May: 3333 × 3000/10000 = 999.9 → 1000 non-recurring.
		"2024-05-31 g=3333 n=3333 nr=1000 r=0 fc=0 ft=0 sp=1",
		// Jun: 6667 × 3000/10000 = 2000.1 → 2000.
		"2024-06-30 g=6667 n=6667 nr=2000 r=0 fc=0 ft=0 sp=1")
	// G13: a 12000 line including 2000 tax is 12000 of cash (tax included).
	txs = []CashTransaction{cashTx(5, "2024-05-02", "payment", "successful", nil, "12000")}
	wantCash(t, cashSeries(t, txs, "2024-05-01", "2024-05-31", "month", usdCash, nil),
		"2024-05-31 g=12000 n=12000 nr=0 r=0 fc=0 ft=0 sp=1")
}

// failed-transactions counts customers, failed-charges sums failed
// payments only, successful-payments leaves out $0 payments.
func TestCashFlowCounts(t *testing.T) {
	txs := []CashTransaction{
		cashTx(6, "2024-05-02", "payment", "failed", nil, "4000"),
		cashTx(6, "2024-05-03", "payment", "failed", cents(1500), "4000"),
		cashTx(6, "2024-05-04", "refund", "failed", nil, "4000"),
		cashTx(7, "2024-05-05", "refund", "failed", cents(900), "900"),
		cashTx(8, "2024-05-06", "payment", "successful", nil, "0"),
		cashTx(8, "2024-05-07", "payment", "successful", cents(0), "2000"),
		cashTx(8, "2024-05-08", "payment", "successful", cents(2000), "2000"),
	}
	wantCash(t, cashSeries(t, txs, "2024-05-01", "2024-05-31", "month", usdCash, nil),
		// failed charges: 4000 (the invoice total) + 1500 (its amount); the
		// failed refunds move no money. Customers with a failed attempt: 6
		// and 7 = 2. Successful payments: only customer 8's 2000 (the
		// trial's 0 and the payment of 0 are left out); gross 0 + 0 + 2000.
		"2024-05-31 g=2000 n=2000 nr=0 r=0 fc=5500 ft=2 sp=1")
}

// Rule 21 with rule 14: transactions are bucketed into days of the
// account time zone.
func TestCashFlowTimeZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	la, _ := time.LoadLocation("America/Los_Angeles")
	txs := []CashTransaction{
		// 2024-01-31 23:30 UTC is 2024-02-01 00:30 in Berlin (UTC+1).
		cashTx(9, "2024-01-31 23:30", "payment", "successful", nil, "5000"),
		// 2024-02-01 05:00 UTC is 2024-01-31 21:00 in Los Angeles (UTC−8).
		cashTx(9, "2024-02-01 05:00", "refund", "successful", cents(700), "5000"),
	}
	for _, tc := range []struct {
		loc      *time.Location
		jan, feb string
	}{
		{time.UTC, "2024-01-31 g=5000 n=5000 nr=0 r=0 fc=0 ft=0 sp=1", "2024-02-29 g=0 n=-700 nr=0 r=700 fc=0 ft=0 sp=0"},
		{berlin, "2024-01-31 g=0 n=0 nr=0 r=0 fc=0 ft=0 sp=0", "2024-02-29 g=5000 n=4300 nr=0 r=700 fc=0 ft=0 sp=1"},
		{la, "2024-01-31 g=5000 n=4300 nr=0 r=700 fc=0 ft=0 sp=1", "2024-02-29 g=0 n=0 nr=0 r=0 fc=0 ft=0 sp=0"},
	} {
		es, err := CashFlow(txs, SeriesRequest{Start: day("2024-01-01"), End: day("2024-02-29"), Interval: "month", Location: tc.loc}, usdCash, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantCash(t, es, tc.jan, tc.feb)
	}
}

// Rule 20: cash converts at the rate of the transaction's date, not the
// service period's; a missing rate is an error naming it.
func TestCashFlowCurrency(t *testing.T) {
	rates := datedRates{"2017-05-01": big.NewRat(10908, 10000), "2017-06-01": big.NewRat(11200, 10000)}
	eur := func(tx CashTransaction) CashTransaction { tx.Currency = "EUR"; return tx }
	txs := []CashTransaction{
		// May's EUR 100 invoice paid on 2017-05-10: 10000 × 1.0908 = 10908.
		eur(cashTx(1, "2017-05-10", "payment", "successful", nil, "10000")),
		// Paid late, on 2017-06-10, at June's rate: 10000 × 1.12 = 11200;
		// its non-recurring 2500 × 1.12 = 2800.
		eur(cashTx(2, "2017-06-10", "payment", "successful", nil, "7500", "2500/one_time")),
		// EUR 33.33 refunded in June: 3333 × 1.12 = 3732.96 → 3733.
		eur(cashTx(1, "2017-06-11", "refund", "successful", cents(3333), "10000")),
		// A failed refund needs no rate (it moved nothing).
		func() CashTransaction {
			tx := cashTx(3, "2017-06-12", "refund", "failed", nil, "100")
			tx.Currency = "GBP"
			return tx
		}(),
	}
	wantCash(t, cashSeries(t, txs, "2017-05-01", "2017-06-30", "month", usdCash, rates),
		"2017-05-31 g=10908 n=10908 nr=0 r=0 fc=0 ft=0 sp=1",
		// net 11200 − 3733 = 7467.
		"2017-06-30 g=11200 n=7467 nr=2800 r=3733 fc=0 ft=1 sp=1")

	gbp := cashTx(3, "2017-06-12 10:00", "payment", "failed", nil, "100")
	gbp.Currency = "GBP"
	_, err := CashFlow([]CashTransaction{gbp}, SeriesRequest{Start: day("2017-06-01"), End: day("2017-06-30"), Interval: "month"}, usdCash, rates)
	var missing *MissingRateError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "GBP→USD") || !strings.Contains(err.Error(), "2017-06-12") {
		t.Errorf("a failed GBP charge without a rate: %v", err)
	}
	// Outside the range it is not needed.
	if _, err := CashFlow([]CashTransaction{gbp}, SeriesRequest{Start: day("2017-07-01"), End: day("2017-07-31"), Interval: "month"}, usdCash, rates); err != nil {
		t.Errorf("a transaction outside the range needed its rate: %v", err)
	}
}

// Rule 19 for cash: geo by the customer's country; plans by the invoice's
// lines, pro rata by line amount.
func TestCashFlowFilters(t *testing.T) {
	// A 10000 invoice: gold 6000, silver 3000, a planless one_time 1000,
	// paid 5000 of it; and a failed refund on a silver-only invoice of a
	// customer in GB.
	txs := []CashTransaction{
		cashTx(1, "2024-05-02", "payment", "successful", cents(5000), "6000/gold", "3000/silver", "1000/one_time"),
		func() CashTransaction {
			tx := cashTx(2, "2024-05-03", "refund", "failed", nil, "3000/silver")
			tx.Country = "GB"
			return tx
		}(),
	}
	req := "2024-05-01"
	for _, tc := range []struct {
		name string
		f    CashFilter
		want string
	}{
		// Everything: 5000, non-recurring 5000 × 1000/10000 = 500.
		{"none", usdCash, "2024-05-31 g=5000 n=5000 nr=500 r=0 fc=0 ft=1 sp=1"},
		// gold: 5000 × 6000/10000 = 3000; its lines are no one_time.
		{"gold", CashFilter{Currency: "USD", Plans: map[string]bool{"gold": true}}, "2024-05-31 g=3000 n=3000 nr=0 r=0 fc=0 ft=0 sp=1"},
		// silver: 5000 × 3000/10000 = 1500; customer 2's failed refund.
		{"silver", CashFilter{Currency: "USD", Plans: map[string]bool{"silver": true}}, "2024-05-31 g=1500 n=1500 nr=0 r=0 fc=0 ft=1 sp=1"},
		// gold and silver: 5000 × 9000/10000 = 4500.
		{"gold,silver", CashFilter{Currency: "USD", Plans: map[string]bool{"gold": true, "silver": true}}, "2024-05-31 g=4500 n=4500 nr=0 r=0 fc=0 ft=1 sp=1"},
		// a plan on no invoice: nothing.
		{"bronze", CashFilter{Currency: "USD", Plans: map[string]bool{"bronze": true}}, "2024-05-31 g=0 n=0 nr=0 r=0 fc=0 ft=0 sp=0"},
		// geo US: customer 1 only; GB: customer 2 only.
		{"US", CashFilter{Currency: "USD", Geo: map[string]bool{"US": true}}, "2024-05-31 g=5000 n=5000 nr=500 r=0 fc=0 ft=0 sp=1"},
		{"GB", CashFilter{Currency: "USD", Geo: map[string]bool{"GB": true}}, "2024-05-31 g=0 n=0 nr=0 r=0 fc=0 ft=1 sp=0"},
	} {
		es := cashSeries(t, txs, req, "2024-05-31", "month", tc.f, nil)
		if got := renderCash(es[0]); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// The summary's windows are (from, to], like ASPBetween's.
func TestCashFlowBetween(t *testing.T) {
	txs := []CashTransaction{
		cashTx(1, "2024-05-01", "payment", "successful", nil, "1000"),
		cashTx(1, "2024-05-15", "payment", "successful", nil, "2000"),
		cashTx(1, "2024-06-01", "payment", "successful", nil, "4000"),
	}
	e, err := CashFlowBetween(txs, day("2024-05-01"), day("2024-06-01"), usdCash, nil)
	// (05-01 00:00, 06-01 00:00]: 2000 + 4000, not the 1000 at the open end.
	if err != nil || e.Gross != 6000 || e.SuccessfulPayments != 2 {
		t.Errorf("between: %+v %v", e, err)
	}
}

// Properties: cash flows add up over any split of the range, whatever the
// interval, time zone and order of the transactions.
func FuzzCashFlowSplits(f *testing.F) {
	f.Add([]byte{3, 1, 2, 5, 0, 20, 1, 10, 40, 0, 0, 7, 2, 9, 33, 1, 0, 4, 8, 100, 3}, uint16(40), uint16(200), uint8(2))
	f.Add([]byte{7, 0, 1, 0, 0, 30, 3, 2, 1, 0, 9, 5, 5, 5, 1, 2, 3, 200, 17}, uint16(0), uint16(0), uint8(9))
	f.Add([]byte{255, 254, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, uint16(365), uint16(1), uint8(4))
	// Inputs with cash on both sides of the split and a failed
	// transaction: a plans filter by month, a geo filter by quarter, days
	// in Berlin, years in Tokyo (found by searching for those traits).
	f.Add([]byte{0x67, 0x9f, 0xcf, 0x95, 0xfc, 0xa4, 0x66, 0xac, 0x0, 0xf6, 0xe9, 0x6d, 0x86, 0xc4, 0xbf, 0x54, 0xff, 0xb, 0xb, 0x57, 0xe, 0xfe, 0x8f, 0x7d, 0x58, 0x9b, 0x1d, 0xd, 0x26, 0x2c, 0xc7, 0x4f, 0x2a, 0x68, 0x58, 0x58, 0xb2, 0x2b, 0x78, 0x25, 0xaf, 0x27, 0x80}, uint16(150), uint16(360), uint8(40))
	f.Add([]byte{0xb3, 0x16, 0x3, 0xaf, 0x5d, 0xfb, 0x99, 0x24, 0xb6, 0x45, 0x11, 0x45, 0x2e, 0x34, 0x75, 0x23, 0xdf, 0xe1, 0x55, 0x23, 0x29, 0x20, 0xc8, 0x81, 0x6f, 0xd3, 0x1e, 0x5b, 0x1b, 0x83, 0x68, 0xdd, 0xf2, 0xa2}, uint16(150), uint16(360), uint8(76))
	f.Add([]byte{0xee, 0x87, 0x85, 0x44, 0xb8, 0x8c, 0x29, 0x8f, 0xcd, 0x5f, 0x7c, 0x3c, 0x38, 0xf6, 0xb6, 0x62, 0xda, 0xed, 0x3b, 0xef, 0x9f, 0xad, 0xb3, 0x0, 0xdf, 0x95, 0x90, 0xf9, 0xfa, 0xc6, 0x29, 0xf6, 0xcf, 0x30, 0x59, 0xc7, 0xaf, 0x28, 0x36, 0x8c, 0x9f, 0x1f, 0x44, 0x8f, 0x25, 0x2c}, uint16(150), uint16(360), uint8(1))
	f.Add([]byte{0xf6, 0xed, 0x1b, 0xba, 0x76, 0x4, 0x27, 0xc7, 0x88, 0xa4, 0x4a, 0xa8, 0xed, 0xfb, 0xcd, 0x9e, 0x92, 0xe5, 0x98, 0xa0, 0x36, 0xb7, 0x8d, 0x31, 0x29, 0x5b, 0xd8, 0xee, 0xd0, 0xa3, 0x49, 0x6e, 0x3, 0x41, 0x27, 0x89, 0x61, 0xeb, 0x39, 0xa0, 0x99}, uint16(150), uint16(360), uint8(19))
	f.Fuzz(func(t *testing.T, data []byte, splitAt, length uint16, mode uint8) {
		txs := randomCash(data)
		locs := []*time.Location{time.UTC, mustLoad("Europe/Berlin"), mustLoad("America/Los_Angeles"), mustLoad("Asia/Tokyo")}
		intervals := []string{"day", "week", "month", "quarter", "year"}
		loc, interval := locs[int(mode)%len(locs)], intervals[int(mode/4)%len(intervals)]
		filters := []CashFilter{usdCash, {Currency: "USD", Plans: map[string]bool{"gold": true}}, {Currency: "USD", Geo: map[string]bool{"GB": true}}}
		fl := filters[int(mode/32)%len(filters)]
		a := day("2024-01-01")
		c := a.AddDate(0, 0, int(length%400))
		b := a.AddDate(0, 0, int(splitAt)%(int(length%400)+1)) // a ≤ b ≤ c
		req := func(from, to time.Time) SeriesRequest {
			return SeriesRequest{Start: from, End: to, Interval: interval, Location: loc, WeekStart: time.Monday}
		}
		sum := func(es []CashEntry) (s CashEntry) {
			for _, e := range es {
				s.Gross += e.Gross
				s.Refunds += e.Refunds
				s.NonRecurring += e.NonRecurring
				s.FailedCharges += e.FailedCharges
				s.FailedTransactions += e.FailedTransactions
				s.SuccessfulPayments += e.SuccessfulPayments
			}
			return s
		}
		run := func(from, to time.Time) CashEntry {
			es, err := CashFlow(txs, req(from, to), fl, fuzzRates)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if e.Net() != e.Gross-e.Refunds || e.Refunds < 0 || e.Gross < 0 || e.NonRecurring > e.Gross {
					t.Fatalf("entry %s", renderCash(e))
				}
			}
			return sum(es)
		}
		whole := run(a, c)
		left := run(a, b)
		var right CashEntry // [b+1, c] is empty when b = c
		if b.Before(c) {
			right = run(b.AddDate(0, 0, 1), c)
		}
		// Money and payment counts add up exactly (each transaction is
		// rounded on its own and falls in exactly one period).
		if whole.Gross != left.Gross+right.Gross || whole.Refunds != left.Refunds+right.Refunds ||
			whole.NonRecurring != left.NonRecurring+right.NonRecurring || whole.FailedCharges != left.FailedCharges+right.FailedCharges ||
			whole.SuccessfulPayments != left.SuccessfulPayments+right.SuccessfulPayments || whole.Net() != left.Net()+right.Net() {
			t.Fatalf("[%s,%s] %s ≠ [.., %s] %s + [.., ..] %s", a.Format("2006-01-02"), c.Format("2006-01-02"), renderCash(whole),
				b.Format("2006-01-02"), renderCash(left), renderCash(right))
		}
		// Distinct customers per period: a split period can count a
		// customer on both sides, never fewer than once.
		if ft := left.FailedTransactions + right.FailedTransactions; whole.FailedTransactions > ft {
			t.Fatalf("failed-transactions: whole %d > parts %d", whole.FailedTransactions, ft)
		}
		if interval == "day" && whole.FailedTransactions != left.FailedTransactions+right.FailedTransactions {
			t.Fatalf("daily failed-transactions: whole %d ≠ parts %d + %d", whole.FailedTransactions, left.FailedTransactions, right.FailedTransactions)
		}
		// The same flows over the range's instants as one window.
		from, to, err := req(a, c).Bounds()
		if err != nil {
			t.Fatal(err)
		}
		one, err := CashFlowBetween(txs, from.Add(-time.Millisecond), to.Add(-time.Millisecond), fl, fuzzRates)
		if err != nil {
			t.Fatal(err)
		}
		if one.Gross != whole.Gross || one.Refunds != whole.Refunds || one.FailedCharges != whole.FailedCharges ||
			one.SuccessfulPayments != whole.SuccessfulPayments {
			t.Fatalf("window %s ≠ series %s", renderCash(one), renderCash(whole))
		}
		// Order does not matter.
		shuffled := append([]CashTransaction(nil), txs...)
		rand.New(rand.NewSource(int64(len(data)))).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		es1, _ := CashFlow(txs, req(a, c), fl, fuzzRates)
		es2, _ := CashFlow(shuffled, req(a, c), fl, fuzzRates)
		for i := range es1 {
			if es1[i] != es2[i] {
				t.Fatalf("order changed entry %d: %s vs %s", i, renderCash(es1[i]), renderCash(es2[i]))
			}
		}
	})
}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// randomCash turns fuzz bytes into transactions around 2024, in USD and
// EUR (fuzzRates), on gold, silver and planless one_time lines, from
// customers in the US and GB, some of them with partial amounts.
func randomCash(data []byte) []CashTransaction {
	var out []CashTransaction
	for len(data) >= 5 {
		b := data[:5]
		data = data[5:]
		tx := CashTransaction{
			Customer: int64(b[0] % 4),
			Country:  []string{"US", "GB"}[b[0]%2],
			At:       day("2023-12-20").Add(time.Duration(b[1])*37*time.Hour + time.Duration(b[2])*time.Minute*7),
			Type:     []string{TransactionPayment, TransactionRefund}[b[2]%2],
			// Payments more often than not succeed.
			Successful: b[3]%3 != 0,
			Currency:   []string{"USD", "EUR"}[b[3]%2],
		}
		if b[4]%3 == 0 {
			tx.Amount = cents(int64(b[4]) * 13)
		}
		tx.Lines = append(tx.Lines, CashLine{Amount: int64(b[4]) * 101, Plan: []string{"gold", "silver"}[b[4]%2]})
		if b[1]%3 == 0 {
			tx.Lines = append(tx.Lines, CashLine{Amount: int64(b[1]) * 7, OneTime: true})
		}
		out = append(out, tx)
	}
	return out
}
