package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// dayRates is a Rates of one rate per currency and UTC day, as
// money.RateTable gives them; a day it lacks has no rate.
type dayRates map[string]map[int32]*big.Rat

func (d dayRates) Rate(from, to string, t time.Time) (*big.Rat, bool) {
	if to != "USD" {
		return nil, false
	}
	r, ok := d[from][utcDay(t.UnixMilli())]
	return r, ok && r != nil
}

// randomRates gives EUR and GBP a rate on every day of 2017–2021 but a few
// GBP days.
func randomRates(rng *rand.Rand) dayRates {
	d := dayRates{"EUR": {}, "GBP": {}}
	for n := utcDay(day("2017-06-01").UnixMilli()); n < utcDay(day("2021-06-01").UnixMilli()); n++ {
		d["EUR"][n] = big.NewRat(int64(10500+rng.IntN(1000)), 10000)
		if rng.IntN(25) != 0 {
			d["GBP"][n] = big.NewRat(int64(12000+rng.IntN(1000)), 9999)
		}
	}
	return d
}

// randomCashCustomer is one customer's transactions: anywhere in 2018–2020,
// at midnights (of several zones) as often as not, in USD, EUR, GBP or no
// currency; payments and refunds, some failed; invoices of zero to three
// lines on gold, silver, bronze or no plan, some one_time, some of zero or
// negative amounts.
func randomCashCustomer(rng *rand.Rand, id int64) []CashTransaction {
	countries := []string{"US", "GB", "DE", ""}
	country := countries[rng.IntN(len(countries))]
	n := rng.IntN(8)
	var out []CashTransaction
	base := day("2018-01-01")
	for range n {
		at := base.Add(time.Duration(rng.IntN(3*365*24)) * time.Hour)
		switch rng.IntN(4) {
		case 0:
			at = at.Add(time.Duration(rng.IntN(3600_000)) * time.Millisecond)
		case 1: // a midnight somewhere
			at = at.Truncate(24 * time.Hour).Add(time.Duration(rng.IntN(48)-24) * 30 * time.Minute)
		}
		tx := CashTransaction{Customer: id, Country: country, At: at,
			Type:       []string{TransactionPayment, TransactionPayment, TransactionRefund}[rng.IntN(3)],
			Successful: rng.IntN(4) != 0,
			Currency:   []string{"USD", "USD", "EUR", "GBP", ""}[rng.IntN(5)]}
		if rng.IntN(3) == 0 {
			tx.Amount = cents(int64(rng.IntN(20000) - 1000))
		}
		for range rng.IntN(4) {
			l := CashLine{Amount: int64(rng.IntN(30000) - 2000), Plan: []string{"gold", "silver", "bronze", ""}[rng.IntN(4)], OneTime: rng.IntN(4) == 0}
			if rng.IntN(10) == 0 {
				l.Amount = 0
			}
			tx.Lines = append(tx.Lines, l)
		}
		out = append(out, tx)
	}
	return out
}

// sameCash compares the book's answer with CashFlow's: the same entries,
// or errors of the same kind.
func sameCash[T any](t *testing.T, what string, got T, gotErr error, want T, wantErr error) {
	t.Helper()
	var gm, wm *MissingRateError
	switch {
	case wantErr == nil && gotErr == nil:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s:\n book %+v\n want %+v", what, got, want)
		}
	case errors.As(wantErr, &wm):
		if !errors.As(gotErr, &gm) || gm.From != wm.From || gm.To != wm.To {
			t.Fatalf("%s: book %v, want %v", what, gotErr, wantErr)
		}
	case wantErr != nil && gotErr != nil && errors.Is(wantErr, money.ErrOverflow) == errors.Is(gotErr, money.ErrOverflow):
	default:
		t.Fatalf("%s: book %v %+v, want %v %+v", what, gotErr, got, wantErr, want)
	}
}

// The book gives CashFlow's and CashFlowBetween's figures, to the cent,
// for any book, time zone, interval, filter and window, after any sequence
// of changes to its customers and to the rates. CashFlow, the
// straightforward computation over every transaction, is the reference.
func FuzzCashBook(f *testing.F) {
	for seed := range uint64(12) {
		f.Add(seed)
	}
	locs := []*time.Location{time.UTC, mustLoad("Europe/Berlin"), mustLoad("America/Los_Angeles"), mustLoad("Asia/Tokyo"),
		mustLoad("America/Sao_Paulo"), mustLoad("Asia/Kathmandu"), mustLoad("America/St_Johns")}
	intervals := []string{"day", "week", "month", "quarter", "year"}
	filters := []CashFilter{{}, {Geo: map[string]bool{"GB": true}}, {Plans: map[string]bool{"gold": true}},
		{Plans: map[string]bool{"gold": true, "silver": true}}, {Geo: map[string]bool{"US": true, "DE": true}, Plans: map[string]bool{"silver": true}},
		{Geo: map[string]bool{"": true}}}
	f.Fuzz(func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 7))
		loc := locs[rng.IntN(len(locs))]
		rates := randomRates(rng)
		book := NewCashBook("USD", loc)
		state := map[int64][]CashTransaction{}
		for step := range 6 {
			// Some customers added, changed or removed.
			old, changed := map[int64][]CashTransaction{}, map[int64][]CashTransaction{}
			for range 1 + rng.IntN(30) {
				id := int64(rng.IntN(60))
				if _, ok := changed[id]; ok {
					continue
				}
				if txs, ok := state[id]; ok {
					old[id] = txs
				}
				changed[id] = randomCashCustomer(rng, id)
				if len(changed[id]) == 0 {
					delete(state, id)
				} else {
					state[id] = changed[id]
				}
			}
			book = book.With(old, changed, rates)
			if step == 3 { // the rates move
				rates = randomRates(rng)
			}
			var all []CashTransaction
			for _, txs := range state {
				all = append(all, txs...)
			}
			for range 8 {
				start := day("2018-01-01").AddDate(0, 0, rng.IntN(3*365)-30)
				end := start.AddDate(0, 0, rng.IntN(500))
				r := SeriesRequest{Start: start, End: end, Interval: intervals[rng.IntN(len(intervals))], Location: loc,
					WeekStart: time.Weekday(rng.IntN(7))}
				f := filters[rng.IntN(len(filters))]
				f.Currency = "USD"
				from, to, err := r.Bounds()
				if err != nil {
					// periods cannot cut days across a midnight that does
					// not exist (São Paulo, 2018-11-04): both refuse.
					_, gotErr := book.Flow(r, f, rates)
					if _, wantErr := CashFlow(all, r, f, rates); gotErr == nil || wantErr == nil {
						t.Fatalf("%+v: book %v, CashFlow %v, periods %v", r, gotErr, wantErr, err)
					}
					continue
				}
				// Windows: the range's instants, and arbitrary ones.
				w1 := from.Add(time.Duration(rng.IntN(int(to.Sub(from)/time.Minute))) * time.Minute)
				w2 := w1.Add(time.Duration(rng.IntN(400*24*60)) * time.Minute).Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
				lo, hi := from, to
				lo, hi = minTime(lo, w1), maxTime(hi, w2)
				view := book.Revalue(rates, lo, hi)
				got, gotErr := view.Flow(r, f, rates)
				want, wantErr := CashFlow(all, r, f, rates)
				sameCash(t, fmt.Sprintf("step %d %+v %v", step, r, f), got, gotErr, want, wantErr)
				for _, w := range [][2]time.Time{{from.Add(-time.Millisecond), to.Add(-time.Millisecond)}, {w1, w2}, {w1, w1.Add(time.Hour)}} {
					got, gotErr := view.Between(w[0], w[1], f, rates)
					want, wantErr := CashFlowBetween(all, w[0], w[1], f, rates)
					sameCash(t, fmt.Sprintf("step %d (%s, %s] %v", step, w[0], w[1], f), got, gotErr, want, wantErr)
				}
			}
		}
		// Built at once, the book is the same as built step by step.
		whole := NewCashBook("USD", loc).With(nil, state, rates)
		r := SeriesRequest{Start: day("2017-12-01"), End: day("2021-01-31"), Interval: "day", Location: loc}
		a, errA := whole.Flow(r, CashFilter{Currency: "USD"}, rates)
		b, errB := book.Revalue(rates, day("2017-11-01"), day("2021-02-01")).Flow(r, CashFilter{Currency: "USD"}, rates)
		sameCash(t, "whole", a, errA, b, errB)
	})
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// A sum beyond ±MaxSum is an overflow, as for CashFlow, and one that a
// removal brings back within bounds is exact again.
func TestCashBookOverflow(t *testing.T) {
	big1 := []CashTransaction{cashTx(1, "2024-01-05", TransactionPayment, "successful", cents(4e17), "100")}
	big2 := []CashTransaction{cashTx(2, "2024-01-06", TransactionPayment, "successful", cents(4e17), "100")}
	book := NewCashBook("USD", time.UTC).With(nil, map[int64][]CashTransaction{1: big1, 2: big2}, nil)
	r := SeriesRequest{Start: day("2024-01-01"), End: day("2024-01-31"), Interval: "month"}
	if es, err := book.Flow(r, usdCash, nil); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("two payments of 4e17: %v %+v", err, es)
	}
	if e, err := book.Between(day("2024-01-01"), day("2024-02-01"), usdCash, nil); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("between: %v %+v", err, e)
	}
	// Customer 2 goes: 4e17 is within bounds.
	book = book.With(map[int64][]CashTransaction{2: big2}, map[int64][]CashTransaction{2: nil}, nil)
	es, err := book.Flow(r, usdCash, nil)
	if err != nil || es[0].Gross != 4e17 {
		t.Fatalf("after the removal: %v %+v", err, es)
	}
	// Many maximal payments in one day cannot wrap the sums around.
	many := map[int64][]CashTransaction{}
	for i := range int64(40) {
		many[i] = []CashTransaction{cashTx(i, "2024-01-05", TransactionPayment, "successful", cents(math.MaxInt64), "100")}
	}
	if es, err := NewCashBook("USD", time.UTC).With(nil, many, nil).Flow(r, usdCash, nil); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("40 payments of max int: %v %+v", err, es)
	}
}

// A day's index depends only on its transactions: removing every
// customer leaves no day behind.
func TestCashBookEmpties(t *testing.T) {
	txs := map[int64][]CashTransaction{
		1: {cashTx(1, "2024-01-05", TransactionPayment, "successful", nil, "100")},
		2: {cashTx(2, "2024-01-05", TransactionPayment, "failed", nil, "100"), cashTx(2, "2024-02-05", TransactionRefund, "successful", nil, "100")},
	}
	book := NewCashBook("USD", time.UTC).With(nil, txs, nil)
	if len(book.days) != 2 {
		t.Fatalf("%d days", len(book.days))
	}
	gone := book.With(txs, map[int64][]CashTransaction{1: nil, 2: nil}, nil)
	if len(gone.days) != 0 || len(book.days) != 2 {
		t.Fatalf("after removing everyone: %d days (the old book: %d)", len(gone.days), len(book.days))
	}
	if !slices.Equal([]int32{book.days[0].day, book.days[1].day}, []int32{civilDay(2024, 1, 5), civilDay(2024, 2, 5)}) {
		t.Fatalf("days %d %d", book.days[0].day, book.days[1].day)
	}
}
