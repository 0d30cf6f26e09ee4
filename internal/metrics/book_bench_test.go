package metrics

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchBook is a book like tally bench's: customers starting anywhere in
// 2021–2023, paying monthly for twenty months, some changing price, a
// quarter of them churning at the end; in five countries.
func benchBook(n int) (map[int64][]CashTransaction, map[int64]CohortCustomer) {
	rng := rand.New(rand.NewPCG(1, 2))
	cash, hs := map[int64][]CashTransaction{}, map[int64]CohortCustomer{}
	base := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	plans := []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7"}
	for c := range int64(n) {
		country := []string{"US", "GB", "DE", "FR", "NL"}[rng.IntN(5)]
		at := base.AddDate(0, rng.IntN(36), rng.IntN(28))
		plan, price := plans[rng.IntN(7)], int64(2900+rng.IntN(5)*2000)
		var h History
		for range 20 {
			if rng.IntN(10) == 0 {
				plan, price = plans[rng.IntN(7)], int64(2900+rng.IntN(5)*2000)
			}
			cash[c] = append(cash[c], CashTransaction{Customer: c, Country: country, At: at.Add(time.Hour), Type: TransactionPayment,
				Successful: true, Currency: "USD", Lines: []CashLine{{Amount: price, Plan: plan}}})
			if n := len(h.Timeline); n == 0 || h.Timeline[n-1].MRR != price {
				h.Timeline = append(h.Timeline, Point{At: at, MRR: price, Active: true})
			}
			at = at.AddDate(0, 1, 0)
		}
		if rng.IntN(4) == 0 {
			h.Timeline = append(h.Timeline, Point{At: at})
			h.Movements = append(h.Movements, Movement{At: at, Type: Churn, Amount: -h.Timeline[len(h.Timeline)-2].MRR})
		}
		hs[c] = CohortCustomer{Country: country, History: h}
	}
	return cash, hs
}

// Five years by month, as tally bench asks, on the engine alone: the
// reference computations over every customer against the indexes. Run:
//
//	go test ./internal/metrics -run '^$' -bench 'CashFlowBook|RetentionBook' -benchtime 2s
func BenchmarkCashFlowBook(b *testing.B) {
	req := SeriesRequest{Start: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
		Interval: "month", Location: time.UTC}
	for _, n := range []int{10_000, 100_000} {
		cash, _ := benchBook(n)
		var all []CashTransaction
		for _, txs := range cash {
			all = append(all, txs...)
		}
		f := CashFilter{Currency: "USD"}
		b.Run(fmt.Sprintf("%d/reference", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := CashFlow(all, req, f, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		book := NewCashBook("USD", time.UTC).With(nil, cash, nil)
		b.Run(fmt.Sprintf("%d/book", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := book.Flow(req, f, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%d/book-geo", n), func(b *testing.B) {
			f := CashFilter{Currency: "USD", Geo: map[string]bool{"US": true, "DE": true}}
			for b.Loop() {
				if _, err := book.Flow(req, f, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		// One customer's change, as after a write.
		b.Run(fmt.Sprintf("%d/with-one", n), func(b *testing.B) {
			i := int64(0)
			for b.Loop() {
				id := i % int64(n)
				i++
				book.With(map[int64][]CashTransaction{id: cash[id]}, map[int64][]CashTransaction{id: cash[id]}, nil)
			}
		})
	}
}

func BenchmarkRetentionBook(b *testing.B) {
	req := SeriesRequest{Start: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
		Interval: "month", Location: time.UTC}
	for _, n := range []int{10_000, 100_000} {
		_, hs := benchBook(n)
		var all []History
		for _, c := range hs {
			all = append(all, c.History)
		}
		b.Run(fmt.Sprintf("%d/reference", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Retention(all, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		co, err := NewCohorts().Add(req, cohortCustomers(hs))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%d/cohorts", n), func(b *testing.B) {
			for b.Loop() {
				if _, ok, err := co.Retention(req, nil); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(fmt.Sprintf("%d/with-one", n), func(b *testing.B) {
			i := int64(0)
			for b.Loop() {
				id := i % int64(n)
				i++
				co.With(map[int64]CohortCustomer{id: hs[id]}, map[int64]CohortCustomer{id: hs[id]})
			}
		})
	}
}

// benchHistories are benchBook's customers with the movements of their
// timelines: new business at the first point, then expansion,
// contraction and churn.
func benchHistories(n int) map[int64]History {
	_, cs := benchBook(n)
	hs := make(map[int64]History, len(cs))
	for id, c := range cs {
		h := History{Timeline: c.History.Timeline}
		prev := int64(0)
		for i, p := range h.Timeline {
			m := Movement{At: p.At, Amount: p.MRR - prev, MRRAfter: p.MRR}
			switch {
			case i == 0:
				m.Type = NewBiz
			case p.MRR == 0:
				m.Type = Churn
			case p.MRR > prev:
				m.Type = Expansion
			default:
				m.Type = Contraction
			}
			h.Movements = append(h.Movements, m)
			prev = p.MRR
		}
		hs[id] = h
	}
	return hs
}

// The Book at 100,000 customers over five years by month: the whole
// book, half of its customers through a Set, and a write of one customer
// after another (each on the Book the previous one returned, so merges of
// the overlay into the base are paid for as they come). Run:
//
//	go test ./internal/metrics -run '^$' -bench 'BookSeries|BookWith' -benchtime 2s
func BenchmarkBookSeries(b *testing.B) {
	req := SeriesRequest{Start: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
		Interval: "month", Location: time.UTC}
	const n = 100_000
	hs := benchHistories(n)
	book := NewBook(hs)
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			if _, err := book.Series(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Every other customer, in a random order of keys (no run of kept
	// customers for the branch predictor to learn).
	rng := rand.New(rand.NewPCG(3, 4))
	var half []int64
	for id := range int64(n) {
		if rng.IntN(2) == 0 {
			half = append(half, id)
		}
	}
	keep := NewSet(half...)
	b.Run("half", func(b *testing.B) {
		for b.Loop() {
			if _, err := SeriesOf(req, Part{Book: book, Keep: keep}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// After 1,000 writes of one customer each: the overlay read beside
	// the base.
	written := book
	for id := range int64(1000) {
		written = written.With(map[int64]History{id * 97 % n: hs[id*97%n]})
	}
	b.Run("all-after-writes", func(b *testing.B) {
		for b.Loop() {
			if _, err := written.Series(req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBookWith(b *testing.B) {
	const n = 100_000
	hs := benchHistories(n)
	book := NewBook(hs)
	b.Run("one", func(b *testing.B) {
		i := int64(0)
		for b.Loop() {
			id := i * 7919 % n
			i++
			book = book.With(map[int64]History{id: hs[id]})
		}
	})
}

// Signup cohorts at 100,000 customers over five years by month (60 rows,
// 1,830 cells), of the whole book and of half of it through a Set, and
// the customers behind one cell. Run:
//
//	go test ./internal/metrics -run '^$' -bench 'SignupCohorts' -benchtime 2s
func BenchmarkSignupCohorts(b *testing.B) {
	req := CohortRequest{Start: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
		Interval: "month", Location: time.UTC}
	const n = 100_000
	book := NewBook(benchHistories(n))
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			if _, err := SignupCohorts(req, Part{Book: book}); err != nil {
				b.Fatal(err)
			}
		}
	})
	var half []int64
	for id := range int64(n) {
		if id%2 == 0 {
			half = append(half, id)
		}
	}
	keep := NewSet(half...)
	b.Run("half", func(b *testing.B) {
		for b.Loop() {
			if _, err := SignupCohorts(req, Part{Book: book, Keep: keep}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("members", func(b *testing.B) {
		for b.Loop() {
			if _, err := SignupCohortMembers(req, time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC), 12, Part{Book: book}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A whole book at once, as the results cache builds it on first use.
func BenchmarkNewBook(b *testing.B) {
	hs := benchHistories(100_000)
	for b.Loop() {
		NewBook(hs)
	}
}
