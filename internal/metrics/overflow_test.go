package metrics

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Issue 10: sums of amounts wrapped around int64 into negative MRR and cash
// flow. The API bounds each amount, but the engine must not depend on it:
// every sum is checked and an overflow is an error, never a wrapped value.
func TestOverflowIsAnError(t *testing.T) {
	customers := []struct {
		name string
		c    Customer
	}{
		// Issue 10's repro: two lines of 9e18 on one invoice add up.
		{"two lines of 9e18", Customer{ID: "o1", Subscriptions: []Subscription{sub("s", []Line{
			line("i1", "2024-01-01", "2024-02-01", 9e18, monthly),
			line("i1", "2024-01-01", "2024-02-01", 9e18, monthly),
		})}}},
		// A tax of −2^63: amount − tax wraps.
		{"tax of -2^63", Customer{ID: "o2", Subscriptions: []Subscription{sub("s", []Line{
			line("i1", "2024-01-01", "2024-02-01", 1000, monthly, func(l *Line) { l.Tax = math.MinInt64 }),
		})}}},
		// Fees deducted beyond the edge.
		{"fees beyond the edge", Customer{ID: "o3", Subscriptions: []Subscription{sub("s", []Line{
			line("i1", "2024-01-01", "2024-02-01", -9e18, monthly, func(l *Line) { l.Fees = 9e18 }),
		})}}},
		// A prorated line of one second of a 100-year plan: the ratio is
		// beyond int64 once rounded.
		{"prorated ratio beyond int64", Customer{ID: "o4", Subscriptions: []Subscription{sub("s", []Line{
			line("i1", "2024-01-01", "2024-02-01", 1e13, Interval{"year", 100}, prorated(ProrationDifferential), func(l *Line) {
				l.End = l.Start.Add(time.Second)
			}),
		})}}},
		// A line's MRR is at most 10^15 cents; the sums of many such lines
		// must still be checked against money.MaxSum (2^59 ≈ 5.8e17):
		// 600 lines of one invoice and start add up to 6e17.
		{"ordinary lines add", Customer{ID: "o5", Subscriptions: []Subscription{sub("s", repeatLine(600, func(int) Line {
			return line("i1", "2024-01-01", "2024-02-01", 1e15, monthly)
		}))}}},
		// Differential lines add, one a day.
		{"differential adds", Customer{ID: "o6", Subscriptions: []Subscription{sub("s", repeatLine(600, func(i int) Line {
			return line(fmt.Sprint("i", i), "2024-01-01", "2024-02-01", 1e15, monthly, prorated(ProrationDifferentialMRR),
				func(l *Line) { l.Start = l.Start.Add(time.Duration(i) * time.Minute) })
		}))}}},
		// 600 subscriptions of one customer at 1e15 each.
		{"many subscriptions", Customer{ID: "o7", Subscriptions: func() []Subscription {
			var subs []Subscription
			for i := range 600 {
				subs = append(subs, sub(fmt.Sprint("s", i), []Line{line(fmt.Sprint("i", i), "2024-01-01", "2024-02-01", 1e15, monthly)}))
			}
			return subs
		}()}},
	}
	for _, tc := range customers {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Compute(tc.c, Settings{Currency: "USD", DeductFees: true}, nil)
			if !errors.Is(err, money.ErrOverflow) {
				t.Fatalf("err %v (%d points); want an overflow", err, len(res.Timeline))
			}
		})
	}

	// Two customers each at 3e17: the account's series.
	var hs []History
	for _, id := range []string{"a", "b"} {
		res, err := Compute(Customer{ID: id, Subscriptions: []Subscription{sub("s", repeatLine(300, func(int) Line {
			return line("i-"+id, "2024-01-01", "2024-02-01", 1e15, monthly)
		}))}}, usd, nil)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, History{Timeline: res.Timeline, Movements: res.Movements})
	}
	req := SeriesRequest{Start: day("2024-01-01"), End: day("2024-03-01"), Interval: "month", Location: time.UTC}
	if es, err := Series(hs, req); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("series of two 3e17 customers: %v %+v", err, es)
	}
	if _, _, err := NewBook(map[int64]History{1: hs[0], 2: hs[1]}).StockAt(day("2024-01-15")); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("stock of two 3e17 customers: %v", err)
	}
	if _, err := Retention(hs, req); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("retention of two 3e17 customers: %v", err)
	}

	// Issue 10's cash-flow repro: two payments of max int, and two
	// within the bound that add up beyond it.
	txs := []CashTransaction{
		cashTx(1, "2024-01-05", TransactionPayment, "successful", cents(math.MaxInt64), "100"),
		cashTx(2, "2024-01-06", TransactionPayment, "successful", cents(math.MaxInt64), "100"),
	}
	within := []CashTransaction{
		cashTx(1, "2024-01-05", TransactionPayment, "successful", cents(4e17), "100"),
		cashTx(2, "2024-01-06", TransactionPayment, "successful", cents(4e17), "100"),
	}
	if _, err := CashFlowBetween(within, day("2024-01-01"), day("2024-02-01"), usdCash, nil); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("two payments of 4e17: %v", err)
	}
	if es, err := CashFlow(txs, SeriesRequest{Start: day("2024-01-01"), End: day("2024-01-31"), Interval: "month"}, usdCash, nil); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("cash flow: %v %+v", err, es)
	}
	if e, err := CashFlowBetween(txs, day("2024-01-01"), day("2024-02-01"), usdCash, nil); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("cash flow between: %v %+v", err, e)
	}
	// An invoice whose lines add up beyond int64, paid whole.
	whole := []CashTransaction{cashTx(1, "2024-01-05", TransactionPayment, "successful", nil, "400000000000000000", "400000000000000000")}
	if _, err := CashFlowBetween(whole, day("2024-01-01"), day("2024-02-01"), usdCash, nil); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("lines beyond int64: %v", err)
	}
}

func repeatLine(n int, mk func(i int) Line) []Line {
	out := make([]Line, n)
	for i := range out {
		out[i] = mk(i)
	}
	return out
}
