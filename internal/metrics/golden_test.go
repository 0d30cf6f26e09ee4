package metrics

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	layout := "2006-01-02"
	if len(s) > 10 {
		layout = "2006-01-02 15:04"
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		panic(err)
	}
	return t
}

var (
	monthly   = Interval{"month", 1}
	yearly    = Interval{"year", 1}
	quarterly = Interval{"month", 3}
	seq       int64
)

// line makes an ordinary subscription line; opts adjust it.
func line(invoice, start, end string, amount int64, iv Interval, opts ...func(*Line)) Line {
	seq++
	l := Line{ID: fmt.Sprintf("li-%d", seq), InvoiceID: invoice, Type: LineSubscription, Interval: iv,
		Start: day(start), End: day(end), Amount: amount, Currency: "USD", Seq: seq}
	for _, o := range opts {
		o(&l)
	}
	return l
}

func prorated(kind string) func(*Line) {
	return func(l *Line) { l.Prorated, l.ProrationType = true, kind }
}

func sub(id string, lines []Line, cancels ...string) Subscription {
	s := Subscription{ID: "sub-" + id, ExternalID: id, Lines: lines}
	for _, c := range cancels {
		s.Cancellations = append(s.Cancellations, day(c))
	}
	return s
}

var usd = Settings{Currency: "USD"}

// movements renders movements as "date type amount" lines for comparison.
func movements(t *testing.T, c Customer, s Settings) string {
	t.Helper()
	res, err := Compute(c, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range res.Movements {
		at := m.At.Format("2006-01-02")
		if m.At.Hour() != 0 || m.At.Minute() != 0 {
			at = m.At.Format("2006-01-02 15:04")
		}
		out = append(out, fmt.Sprintf("%s %s %+d", at, m.Type, m.Amount))
	}
	return strings.Join(out, "\n")
}

func want(t *testing.T, got string, lines ...string) {
	t.Helper()
	if w := strings.Join(lines, "\n"); got != w {
		t.Errorf("movements\n got:\n%s\nwant:\n%s", got, w)
	}
}

// G2, the Syncalytics lifecycle (metrics-reference.md §9).
func TestGoldenSyncalytics(t *testing.T) {
	c := Customer{ID: "syncalytics", Subscriptions: []Subscription{
		// 4 × Gold yearly, $2,000: 200000 / 12 months = 16666.67 → 16667.
		sub("gold-yearly", []Line{line("i1", "2024-01-01", "2025-01-01", 200000, yearly)}, "2025-01-01"),
		// 2 × Silver monthly, $60: 6000 / 1 = 6000; cancelled on 01-19.
		sub("silver", []Line{line("i2", "2024-01-05", "2024-02-05", 6000, monthly)}, "2024-01-19"),
		// 3 × Gold monthly, $150 = 15000, after the churn: a reactivation.
		sub("gold-monthly", []Line{line("i3", "2025-03-01", "2025-04-01", 15000, monthly)}),
	}}
	want(t, movements(t, c, usd),
		"2024-01-01 new_biz +16667",
		"2024-01-05 expansion +6000",
		"2024-01-19 contraction -6000", // still has Gold: contraction, not churn
		"2025-01-01 churn -16667",
		"2025-03-01 reactivation +15000")
	// End-of-period recognition: Silver's loss waits for its period end,
	// max(01-19, 02-05) = 02-05; Gold's cancellation is at its end already.
	want(t, movements(t, c, Settings{Currency: "USD", ChurnRecognition: ChurnEndOfPeriod}),
		"2024-01-01 new_biz +16667",
		"2024-01-05 expansion +6000",
		"2024-02-05 contraction -6000",
		"2025-01-01 churn -16667",
		"2025-03-01 reactivation +15000")
}

// G3: a plan switch at the period's end, not prorated, same subscription.
func TestGoldenPlanSwitch(t *testing.T) {
	c := Customer{ID: "wayne", Subscriptions: []Subscription{sub("s", []Line{
		line("i1", "2019-01-01", "2019-02-01", 10000, monthly), // Bronze $100
		line("i2", "2019-02-01", "2019-03-01", 25000, monthly), // Gold $250 replaces it
	})}}
	// 25000 − 10000 = +15000 on 02-01.
	want(t, movements(t, c, usd), "2019-01-01 new_biz +10000", "2019-02-01 expansion +15000")
}

// G4: a prorated mid-period plan switch, netted into one movement.
func TestGoldenProratedSwitch(t *testing.T) {
	c := Customer{ID: "metropolis", Subscriptions: []Subscription{sub("s", []Line{
		line("i1", "2019-06-01", "2019-07-01", 10000, monthly),
		// Full period: one month back from 07-01 = 06-01, 30 days; the lines
		// cover 15 days: factor 30/15 = 2. Gold +12500 × 2 = +25000, Bronze
		// credit −5000 × 2 = −10000; both add to 10000: 25000.
		line("i2", "2019-06-16", "2019-07-01", 12500, monthly, prorated(ProrationDifferential)),
		line("i2", "2019-06-16", "2019-07-01", -5000, monthly, prorated("")),
		line("i3", "2019-07-01", "2019-08-01", 25000, monthly), // renewal at 25000: no movement
	})}}
	want(t, movements(t, c, usd), "2019-06-01 new_biz +10000", "2019-06-16 expansion +15000")
}

// G5: a prorated extra seat, then the renewal's rounding step.
func TestGoldenProratedSeat(t *testing.T) {
	c := Customer{ID: "adam", Subscriptions: []Subscription{sub("s", []Line{
		line("i1", "2016-01-01", "2016-02-01", 5000, monthly),
		line("i2", "2016-02-01", "2016-03-01", 5000, monthly),
		line("i3", "2016-03-01", "2016-04-01", 5000, monthly),
		// Full period 03-01→04-01 = 31 days = 2,678,400 s; the line covers
		// 03-16→04-01 = 16 days = 1,382,400 s; 2500 × 2678400/1382400 =
		// 2500 × 1.9375 = 4843.75 → 4844. MRR 5000 + 4844 = 9844.
		line("i4", "2016-03-16", "2016-04-01", 2500, monthly, prorated(ProrationDifferential)),
		// Renewal for two seats at 10000: 10000 − 9844 = +156.
		line("i5", "2016-04-01", "2016-05-01", 10000, monthly),
	})}}
	want(t, movements(t, c, usd), "2016-01-01 new_biz +5000", "2016-03-16 expansion +4844", "2016-04-01 expansion +156")
}

// G6: a prorated quantity decrease.
func TestGoldenProratedDecrease(t *testing.T) {
	c := Customer{ID: "g6", Subscriptions: []Subscription{sub("s", []Line{
		line("i1", "2024-06-01", "2024-07-01", 15000, monthly), // 5 seats × $30
		// Credit −2000 for 06-21→07-01 (10 days) of a 30-day June: factor 3:
		// −6000; MRR 15000 − 6000 = 9000.
		line("i2", "2024-06-21", "2024-07-01", -2000, monthly, prorated(ProrationDifferential)),
		line("i3", "2024-07-01", "2024-08-01", 9000, monthly), // renewal at 3 seats: no movement
	})}}
	want(t, movements(t, c, usd), "2024-06-01 new_biz +15000", "2024-06-21 contraction -6000")
}

// G7: a prorated first invoice.
func TestGoldenProratedFirstInvoice(t *testing.T) {
	c := Customer{ID: "g7", Subscriptions: []Subscription{sub("s", []Line{
		// Full period: one month back from 02-01 = 01-01, 31 days; the line
		// covers 17 days: 1700 × 31/17 = 3100.
		line("i1", "2024-01-15", "2024-02-01", 1700, monthly, prorated("")),
	})}}
	want(t, movements(t, c, usd), "2024-01-15 new_biz +3100")
}

// G10: editing the churn history.
func TestGoldenChurnHistory(t *testing.T) {
	lines := []Line{
		line("i1", "2016-12-01", "2017-01-01", 5000, monthly),
		line("i2", "2017-01-15", "2017-02-15", 5000, monthly),
	}
	cancelled := Customer{ID: "g10", Subscriptions: []Subscription{sub("s", lines, "2017-01-01")}}
	want(t, movements(t, cancelled, usd), "2016-12-01 new_biz +5000", "2017-01-01 churn -5000", "2017-01-15 reactivation +5000")
	res, _ := Compute(cancelled, usd, nil)
	if p := pointAt(res.Timeline, day("2017-01-10")); p.MRR != 0 || p.Active {
		t.Errorf("MRR on 2017-01-10 while cancelled: %+v", p)
	}
	// cancellation_dates: [] — good faith carries 5000 through January.
	cleared := Customer{ID: "g10", Subscriptions: []Subscription{sub("s", lines)}}
	want(t, movements(t, cleared, usd), "2016-12-01 new_biz +5000")
}

// G11: several subscriptions; Smart Activity Classification.
func TestGoldenActivityGrouping(t *testing.T) {
	c := Customer{ID: "g11", Subscriptions: []Subscription{
		sub("A", []Line{line("i1", "2024-03-01 10:00", "2024-04-01 10:00", 3000, monthly)}, "2024-04-10"),
		sub("B", []Line{line("i2", "2024-03-01 10:30", "2024-04-01 10:30", 5000, monthly)}, "2024-05-10"),
	}}
	want(t, movements(t, c, usd),
		"2024-03-01 10:00 new_biz +3000",
		"2024-03-01 10:30 expansion +5000",
		"2024-04-10 contraction -3000", // B is still active
		"2024-05-10 churn -5000")
	// With a 60-minute window the 10:30 purchase joins the 10:00 one.
	want(t, movements(t, c, Settings{Currency: "USD", ActivityGroupingMinutes: 60}),
		"2024-03-01 10:00 new_biz +8000",
		"2024-04-10 contraction -3000",
		"2024-05-10 churn -5000")
}

// G14: a downgrade to a free plan is a contraction; the customer stays.
func TestGoldenFreePlan(t *testing.T) {
	c := Customer{ID: "g14", Subscriptions: []Subscription{sub("s", []Line{
		line("i1", "2024-06-01", "2024-07-01", 5000, monthly),
		line("i2", "2024-07-01", "2024-08-01", 0, monthly),
	}, "2024-09-01")}}
	want(t, movements(t, c, usd), "2024-06-01 new_biz +5000", "2024-07-01 contraction -5000")
	res, _ := Compute(c, usd, nil)
	if p := pointAt(res.Timeline, day("2024-07-15")); p.MRR != 0 || !p.Active {
		t.Errorf("on the free plan: %+v, want an active customer at 0", p)
	}
	// Cancelling the free plan ends the customer without a movement.
	if p := pointAt(res.Timeline, day("2024-09-15")); p.Active {
		t.Errorf("after cancelling the free plan: %+v", p)
	}
}

func pointAt(tl []Point, t time.Time) Point {
	var p Point
	for _, q := range tl {
		if q.At.After(t) {
			break
		}
		p = q
	}
	return p
}

type fixedRates map[string]*big.Rat

func (f fixedRates) Rate(from, to string, _ time.Time) (*big.Rat, bool) {
	r, ok := f[from+to]
	return r, ok
}

// G15: normalisation and foreign currency.
func TestGoldenNormalisationAndCurrency(t *testing.T) {
	// $90 on a 3-month plan: 9000 / 3 = 3000.
	if v, _ := lineMRR(line("i", "2024-01-01", "2024-04-01", 9000, quarterly), usd, nil); v != 3000 {
		t.Errorf("3-month plan: %d", v)
	}
	// EUR 10000 (quantity 10: not a multiplier) at 1.0908 USD/EUR on the
	// service start: 10908; EUR 11000 → 11998.8 → 11999.
	rates := fixedRates{"EURUSD": big.NewRat(10908, 10000)}
	eur := func(l *Line) { l.Currency = "EUR" }
	for amount, wantMRR := range map[int64]int64{10000: 10908, 11000: 11999} {
		v, err := lineMRR(line("i", "2017-05-01", "2017-05-31", amount, monthly, eur), usd, rates)
		if err != nil || v != wantMRR {
			t.Errorf("EUR %d: %d %v, want %d", amount, v, err, wantMRR)
		}
	}
	_, err := lineMRR(line("i", "2017-05-01", "2017-05-31", 100, monthly, func(l *Line) { l.Currency = "GBP" }), usd, rates)
	if err == nil || !strings.Contains(err.Error(), "GBP→USD") || !strings.Contains(err.Error(), "2017-05-01") {
		t.Errorf("missing rate: %v", err)
	}
}

// datedRates holds EUR→USD by the first day a rate applies.
type datedRates map[string]*big.Rat

func (d datedRates) Rate(from, to string, t time.Time) (*big.Rat, bool) {
	if from != "EUR" || to != "USD" {
		return nil, false
	}
	var best string
	for k := range d {
		if k <= t.Format("2006-01-02") && k > best {
			best = k
		}
	}
	r, ok := d[best]
	return r, ok
}

// G15, second half: an exchange-rate move is no movement (rule 20).
func TestExchangeRateMovesAreNoMovements(t *testing.T) {
	rates := datedRates{"2017-05-01": big.NewRat(10908, 10000), "2017-06-01": big.NewRat(11200, 10000), "2017-07-01": big.NewRat(11000, 10000)}
	eur := func(l *Line) { l.Currency = "EUR" }
	c := Customer{ID: "c", Subscriptions: []Subscription{sub("s", []Line{
		// May: EUR 100 at 1.0908 → 10908, new business.
		line("i1", "2017-05-01", "2017-06-01", 10000, monthly, eur),
		// June: the same EUR 100 at 1.12 → 11200: MRR +292, all revaluation.
		line("i2", "2017-06-01", "2017-07-01", 10000, monthly, eur),
		// July: EUR 150 at 1.10 → 16500. The old price at the new rate is
		// 10000 × 1.10 = 11000, so revaluation 11000 − 11200 = −200 and the
		// price change 16500 − 11000 = +5500 is the expansion.
		line("i3", "2017-07-01", "2017-08-01", 15000, monthly, eur),
	}, "2017-08-15")}}
	res, err := Compute(c, usd, rates)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range res.Movements {
		got = append(got, fmt.Sprintf("%s %s %d", m.At.Format("2006-01-02"), m.Type, m.Amount))
	}
	// Churn takes the MRR it finds: −16500.
	want := []string{"2017-05-01 new_biz 10908", "2017-07-01 expansion 5500", "2017-08-15 churn -16500"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("movements:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var mrrs, fxs []int64
	var sum int64
	for _, p := range res.Timeline {
		mrrs, fxs = append(mrrs, p.MRR), append(fxs, p.FX)
		sum += p.FX
	}
	for _, m := range res.Movements {
		sum += m.Amount
	}
	if fmt.Sprint(mrrs) != "[10908 11200 16500 0]" || fmt.Sprint(fxs) != "[0 292 -200 0]" || sum != 0 {
		t.Errorf("timeline MRR %v FX %v; movements + FX sum to %d, want 0 after the churn", mrrs, fxs, sum)
	}
	// In a plans view that holds the plan, the same holds; outside it, nothing.
	steps, err := Steps(c, usd, rates)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := Aggregate("c", steps, Settings{Currency: "USD", Plans: map[string]bool{"": true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seg.Movements) != 3 || seg.Movements[1].Amount != 5500 {
		t.Errorf("plans view movements: %+v", seg.Movements)
	}
}

// G8: a one-time payment with no subscription is no MRR and no customer.
func TestGoldenOneTimePayment(t *testing.T) {
	c := Customer{ID: "consult", Subscriptions: []Subscription{sub("consultation", []Line{
		line("c1", "2015-11-01", "2015-11-01", 2500, monthly, func(l *Line) { l.Type = LineOneTime }),
	})}}
	h := history(t, c, usd)
	if len(h.Timeline) != 0 || len(h.Movements) != 0 {
		t.Fatalf("a one-time line moved MRR: %+v", h)
	}
	es, err := Series([]History{h}, SeriesRequest{Start: day("2015-11-01"), End: day("2015-11-30"), Interval: "month"})
	if err != nil {
		t.Fatal(err)
	}
	// Nov 2015: MRR 0, customers 0 (a lead), ASP 0.
	if e := es[0]; e.MRR != 0 || e.Customers != 0 || e.ASP != 0 || e.NewBiz != 0 {
		t.Errorf("Nov 2015: %+v", e)
	}
}

// G9: a refund document carries no MRR, and only a cancellation churns.
func TestGoldenFullRefund(t *testing.T) {
	refundDoc := func(l *Line) { l.RefundDocument = true }
	alice := func(cancels ...string) Customer {
		return Customer{ID: "alice", Subscriptions: []Subscription{sub("annual", []Line{
			// The paid invoice: 25000 / 12 = 2083.33 → 2083.
			line("paid", "2016-01-01", "2017-01-01", 25000, yearly),
			// The second record: the same line on an invoice with only a
			// refund transaction (rule 5) — no MRR of its own.
			line("refund", "2016-01-01", "2017-01-01", 25000, yearly, refundDoc),
		}, cancels...)}}
	}
	want(t, movements(t, alice(), usd), "2016-01-01 new_biz +2083")
	want(t, movements(t, alice("2016-01-05"), usd), "2016-01-01 new_biz +2083", "2016-01-05 churn -2083")
	want(t, movements(t, alice("2016-01-05"), Settings{Currency: "USD", ChurnRecognition: ChurnEndOfPeriod}),
		"2016-01-01 new_biz +2083", "2017-01-01 churn -2083")

	// With a customer active since December as the churn rate's base, Alice
	// joining and churning in January is left out: January's customer churn
	// is 0 / 1 = 0 %, not 1 / 1. Without the cancellation, MRR stays 2083.
	bob := Customer{ID: "bob", Subscriptions: []Subscription{sub("b", []Line{line("b1", "2015-12-01", "2016-01-01", 1000, monthly)})}}
	req := SeriesRequest{Start: day("2016-01-01"), End: day("2016-02-29"), Interval: "month"}
	es, err := Series([]History{history(t, alice("2016-01-05"), usd), history(t, bob, usd)}, req)
	if err != nil {
		t.Fatal(err)
	}
	// Jan: MRR = Bob's 1000 (good faith); customers 1; churned 0.
	if e := es[0]; e.MRR != 1000 || e.Customers != 1 || e.ChurnedCustomers != 0 || e.CustomerChurnRate != 0 || e.Churn != -2083 {
		t.Errorf("Jan 2016 with the cancellation: %+v", e)
	}
	es, _ = Series([]History{history(t, alice(), usd)}, req)
	if es[0].MRR != 2083 || es[1].MRR != 2083 {
		t.Errorf("without a cancellation MRR must stay 2083: %d, %d", es[0].MRR, es[1].MRR)
	}
}

// Rule 14: movements are bucketed into days of the account time zone.
func TestMovementsBucketedInAccountTimeZone(t *testing.T) {
	// 2024-01-31 23:30 UTC is already 2024-02-01 00:30 in Berlin (UTC+1).
	c := Customer{ID: "late", Subscriptions: []Subscription{sub("s", []Line{
		line("i", "2024-01-31 23:30", "2024-02-29 23:30", 5000, monthly)})}}
	h := history(t, c, usd)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc            *time.Location
		janMRR, febNew int64
		janCustomers   int64
		firstEntryDate string
	}{
		{time.UTC, 5000, 0, 1, "2024-01-31"}, // in UTC it is January's new business
		{berlin, 0, 5000, 0, "2024-01-31"},   // in Berlin, February's
	} {
		es, err := Series([]History{h}, SeriesRequest{Start: day("2024-01-01"), End: day("2024-02-29"), Interval: "month", Location: tc.loc})
		if err != nil {
			t.Fatal(err)
		}
		if es[0].Date.Format("2006-01-02") != tc.firstEntryDate || es[0].MRR != tc.janMRR || es[0].Customers != tc.janCustomers ||
			es[1].NewBiz != tc.febNew || es[1].MRR != 5000 {
			t.Errorf("%s: Jan %+v, Feb %+v", tc.loc, es[0], es[1])
		}
	}
}
