package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// steppedHistory is a customer joining some day of 2022–2024 and then,
// month after month, changing price, churning (MRR 0) and coming back,
// with the movements rule 12 gives those steps and now and then an
// exchange-rate revaluation (rule 20).
func steppedHistory(rng *rand.Rand) History {
	var h History
	at := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(3*365*24)) * time.Hour)
	mrr, paid := int64(0), false
	for range 1 + rng.IntN(8) {
		next := int64(0)
		if mrr == 0 || rng.IntN(4) > 0 {
			next = 1000 * int64(1+rng.IntN(9))
		}
		if next == mrr {
			next += 500
		}
		fx := int64(0)
		if mrr > 0 && next > 0 && rng.IntN(5) == 0 {
			fx = int64(rng.IntN(200)) - 100
		}
		p := Point{At: at, MRR: next, Active: next > 0, FX: fx}
		m := Movement{At: at, Amount: next - mrr - fx, MRRAfter: next}
		switch {
		case mrr == 0 && !paid:
			m.Type = NewBiz
		case mrr == 0:
			m.Type = Reactivation
		case next == 0:
			m.Type = Churn
		case m.Amount > 0:
			m.Type = Expansion
		default:
			m.Type = Contraction
		}
		h.Timeline = append(h.Timeline, p)
		if m.Amount != 0 {
			h.Movements = append(h.Movements, m)
		}
		paid = paid || next > 0
		mrr = next
		at = at.AddDate(0, 0, 1+rng.IntN(120)).Add(time.Duration(rng.IntN(24)) * time.Hour)
	}
	return h
}

// bookFigures are every figure a Book answers over some customers, to
// compare two ways of getting at them.
func bookFigures(t *testing.T, parts ...Part) string {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	req := SeriesRequest{Start: day("2022-03-10"), End: day("2025-02-20"), Interval: "month", Location: ny}
	series, err := SeriesOf(req, parts...)
	if err != nil {
		t.Fatal(err)
	}
	quarters, err := SeriesOf(SeriesRequest{Start: day("2021-12-01"), End: day("2025-06-30"), Interval: "quarter"}, parts...)
	if err != nil {
		t.Fatal(err)
	}
	mrr, customers, err := StockAtOf(day("2023-07-01"), parts...)
	if err != nil {
		t.Fatal(err)
	}
	asp, err := ASPBetweenOf(day("2022-06-01"), day("2023-06-01"), parts...)
	if err != nil {
		t.Fatal(err)
	}
	cohorts, err := SignupCohorts(CohortRequest{Start: day("2022-01-01"), End: day("2025-03-31"), Interval: "quarter", Location: ny}, parts...)
	if err != nil {
		t.Fatal(err)
	}
	members, err := SignupCohortMembers(CohortRequest{Start: day("2022-01-01"), End: day("2025-03-31"), Interval: "month"},
		day("2023-02-01"), 5, parts...)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(series, quarters, mrr, customers, asp, cohorts, members)
}

// A Book written customer by customer answers as one built afresh from
// the same histories, through its overlays, their merges and the merges
// into the base; so does a part of it through a Set.
func TestBookWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	hs := map[int64]History{}
	for id := range int64(400) {
		hs[id*3] = steppedHistory(rng) // keys with gaps
	}
	book := NewBook(hs)
	if len(book.levels) != 1 {
		t.Fatalf("a new book has %d layers", len(book.levels))
	}
	var layered, merged int
	for write := range 1500 {
		changed := map[int64]History{}
		for range 1 + rng.IntN(3) {
			id := int64(rng.IntN(450)) * 3 // now and then a new customer
			switch rng.IntN(10) {
			case 0:
				changed[id] = History{} // removed
				delete(hs, id)
			default:
				h := steppedHistory(rng)
				changed[id], hs[id] = h, h
			}
		}
		before := len(book.levels)
		book = book.With(changed)
		switch {
		case len(book.levels) > 2:
			layered++
		case len(book.levels) == 1 && before > 1:
			merged++
		}
		if len(book.levels) > 16 {
			t.Fatalf("write %d: %d layers", write, len(book.levels))
		}
		if write%100 != 99 {
			continue
		}
		if got, want := bookFigures(t, Part{Book: book}), bookFigures(t, Part{Book: NewBook(hs)}); got != want {
			t.Fatalf("write %d: the written book\n%s\ndiffers from a fresh one\n%s", write, got, want)
		}
		keep, kept := map[int64]bool{}, map[int64]History{}
		for id, h := range hs {
			if id%2 == 0 {
				keep[id], kept[id] = true, h
			}
		}
		if got, want := bookFigures(t, Part{Book: book, Keep: SetOf(keep)}), bookFigures(t, Part{Book: NewBook(kept)}); got != want {
			t.Fatalf("write %d: a part of the written book\n%s\ndiffers from a book of its customers\n%s", write, got, want)
		}
	}
	if layered == 0 || merged == 0 {
		t.Fatalf("writes went through %d layered books and %d merges into the base: the test misses a path", layered, merged)
	}
}

// Parts add up: a segment as the account's book with its members kept,
// beside a book of other customers, answers as one book of all of them;
// the customers of a book split in two parts answer as the whole book.
func TestSeriesOfParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	all, mixed, union := map[int64]History{}, map[int64]History{}, map[int64]History{}
	var members []int64
	for id := range int64(300) {
		h := steppedHistory(rng)
		all[id] = h
		switch id % 3 {
		case 0:
			members = append(members, id)
			union[id] = h
		case 1:
			// Seen through a plan view: another history of its own.
			mixed[id] = steppedHistory(rng)
			union[id] = mixed[id]
		}
	}
	book := NewBook(all)
	if got, want := bookFigures(t, Part{Book: book, Keep: NewSet(members...)}, Part{Book: NewBook(mixed)}),
		bookFigures(t, Part{Book: NewBook(union)}); got != want {
		t.Fatalf("a segment\n%s\ndiffers from the book of its customers\n%s", got, want)
	}
	even, odd := map[int64]bool{}, map[int64]bool{}
	for id := range all {
		if id%2 == 0 {
			even[id] = true
		} else {
			odd[id] = true
		}
	}
	if got, want := bookFigures(t, Part{Book: book, Keep: SetOf(even)}, Part{Book: book, Keep: SetOf(odd)}),
		bookFigures(t, Part{Book: book}); got != want {
		t.Fatalf("two halves\n%s\ndiffer from the whole\n%s", got, want)
	}
	// Nothing kept, and no book: nothing.
	empty := bookFigures(t, Part{Book: NewBook(nil)})
	if got := bookFigures(t, Part{Book: book, Keep: NewSet()}, Part{}); got != empty {
		t.Fatalf("an empty part\n%s\nwant\n%s", got, empty)
	}
	// Book's methods are the whole book's part.
	req := SeriesRequest{Start: day("2022-01-01"), End: day("2024-12-31"), Interval: "month"}
	a, _ := book.Series(req)
	b, _ := SeriesOf(req, Part{Book: book})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Series differs from SeriesOf of the whole book")
	}
}

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name string
		ids  []int64
		in   []int64
		out  []int64
	}{
		{"empty", nil, nil, []int64{0, 1, -1, math.MinInt64, math.MaxInt64}},
		{"dense", []int64{5, 6, 7, 70, 5}, []int64{5, 6, 7, 70}, []int64{4, 8, 69, 71, 133, -5, math.MinInt64, math.MaxInt64}},
		{"negative", []int64{-3, 0, 2}, []int64{-3, 0, 2}, []int64{-4, -2, 1, 3, 63}},
		// Keys too far apart for a bitmap: kept in a map.
		{"sparse", []int64{math.MinInt64, 0, math.MaxInt64}, []int64{math.MinInt64, 0, math.MaxInt64},
			[]int64{1, -1, math.MinInt64 + 1, math.MaxInt64 - 1}},
		// The bitmap's offset wraps for these if the range is not checked.
		{"extremes", []int64{math.MaxInt64 - 1, math.MaxInt64}, []int64{math.MaxInt64 - 1, math.MaxInt64},
			[]int64{math.MinInt64, math.MinInt64 + 1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[int64]struct{}{}
			for _, id := range tc.ids {
				m[id] = struct{}{}
			}
			for _, s := range []*Set{NewSet(tc.ids...), SetOf(m)} {
				if s.Len() != len(m) {
					t.Errorf("Len %d, want %d", s.Len(), len(m))
				}
				for _, id := range tc.in {
					if !s.Has(id) {
						t.Errorf("%d missing", id)
					}
				}
				for _, id := range tc.out {
					if s.Has(id) {
						t.Errorf("%d found", id)
					}
				}
			}
		})
	}
	var none *Set
	if none.Has(0) || none.Len() != 0 {
		t.Error("the nil Set is not empty")
	}
}
