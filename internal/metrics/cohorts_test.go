package metrics

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// randomHistory is a customer's timeline and movements anywhere in
// 2018–2020, some steps at midnights: MRR up, down, to zero (churn) and
// back, now and then a customer at zero MRR; movements in any order.
func randomHistory(rng *rand.Rand) History {
	var h History
	at := day("2018-01-01").Add(time.Duration(rng.IntN(2*365*24)) * time.Hour)
	var mrr int64
	active := false
	for range rng.IntN(7) {
		if rng.IntN(3) == 0 {
			at = at.Truncate(24 * time.Hour)
		}
		next := int64(rng.IntN(5)) * 1000
		if rng.IntN(4) == 0 {
			next = 0
		}
		p := Point{At: at, MRR: next, Active: next > 0 || (rng.IntN(5) == 0 && active)}
		typ := Expansion
		switch {
		case next < mrr && next == 0:
			typ = Churn
		case next < mrr:
			typ = Contraction
		case mrr == 0:
			typ = NewBiz
		}
		h.Timeline = append(h.Timeline, p)
		h.Movements = append(h.Movements, Movement{At: at, Type: typ, Amount: next - mrr})
		mrr, active = next, p.Active
		at = at.Add(time.Duration(1+rng.IntN(200*24)) * time.Hour)
	}
	if rng.IntN(3) == 0 {
		rng.Shuffle(len(h.Movements), func(i, j int) { h.Movements[i], h.Movements[j] = h.Movements[j], h.Movements[i] })
	}
	return h
}

func cohortCustomers(m map[int64]CohortCustomer) iter.Seq2[string, History] {
	return func(yield func(string, History) bool) {
		for _, c := range m {
			if !yield(c.Country, c.History) {
				return
			}
		}
	}
}

// Cohorts give Retention's entries for any book, time zone, interval and
// geo filter, after any sequence of changes to its customers; Retention,
// one walk over every customer's timeline, is the reference.
func FuzzCohorts(f *testing.F) {
	for seed := range uint64(12) {
		f.Add(seed)
	}
	locs := []*time.Location{time.UTC, mustLoad("Europe/Berlin"), mustLoad("America/Los_Angeles"), mustLoad("Asia/Kathmandu")}
	intervals := []string{"day", "week", "month", "quarter", "year"}
	geos := []map[string]bool{nil, {"GB": true}, {"US": true, "": true}}
	f.Fuzz(func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 11))
		loc := locs[rng.IntN(len(locs))]
		co := NewCohorts()
		state := map[int64]CohortCustomer{}
		var asked []SeriesRequest
		for step := range 8 {
			old, changed := map[int64]CohortCustomer{}, map[int64]CohortCustomer{}
			for range 1 + rng.IntN(20) {
				id := int64(rng.IntN(50))
				if _, ok := changed[id]; ok {
					continue
				}
				if c, ok := state[id]; ok {
					old[id] = c
				}
				c := CohortCustomer{Country: []string{"US", "GB", ""}[rng.IntN(3)], History: randomHistory(rng)}
				changed[id] = c
				if len(c.History.Timeline) == 0 && rng.IntN(2) == 0 {
					delete(state, id)
				} else {
					state[id] = c
				}
			}
			co = co.With(old, changed)
			check := func(r SeriesRequest, geo map[string]bool) {
				t.Helper()
				got, ok, err := co.Retention(r, geo)
				if !ok && err == nil {
					t.Fatalf("step %d %+v: windows missing", step, r)
				}
				var hs []History
				for _, id := range slices.Sorted(maps.Keys(state)) {
					if geo == nil || geo[state[id].Country] {
						hs = append(hs, state[id].History)
					}
				}
				want, wantErr := Retention(hs, r)
				if (err == nil) != (wantErr == nil) || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("step %d %+v geo %v:\n cohorts %v %+v\n want    %v %+v", step, r, geo, err, got, wantErr, want)
				}
			}
			// Windows held since earlier steps, kept up by With.
			for _, r := range asked {
				check(r, geos[rng.IntN(len(geos))])
			}
			for range 3 {
				start := day("2018-01-01").AddDate(0, 0, rng.IntN(3*365))
				r := SeriesRequest{Start: start, End: start.AddDate(0, 0, rng.IntN(400)), Interval: intervals[rng.IntN(len(intervals))],
					Location: loc, WeekStart: time.Weekday(rng.IntN(7))}
				next, err := co.Add(r, cohortCustomers(state))
				if err != nil {
					t.Fatal(err)
				}
				if _, ok, _ := co.Retention(r, nil); ok != (next == co) {
					t.Fatalf("Add gave a new Cohorts %v when the windows were held %v", next != co, ok)
				}
				co = next
				check(r, geos[rng.IntN(len(geos))])
				asked = append(asked, r)
			}
		}
	})
}

// An empty history takes a customer out; an overflow of the sums is an
// error, as for Retention, and goes when the customer does.
func TestCohortsOverflow(t *testing.T) {
	whale := func(id string) History {
		res, err := Compute(Customer{ID: id, Subscriptions: []Subscription{sub("s", repeatLine(300, func(int) Line {
			return line("i-"+id, "2024-01-01", "2024-02-01", 1e15, monthly)
		}))}}, usd, nil)
		if err != nil {
			t.Fatal(err)
		}
		return History{Timeline: res.Timeline, Movements: res.Movements}
	}
	req := SeriesRequest{Start: day("2024-01-01"), End: day("2024-03-01"), Interval: "month", Location: time.UTC}
	book := map[int64]CohortCustomer{1: {"US", whale("a")}, 2: {"US", whale("b")}}
	co, err := NewCohorts().Add(req, cohortCustomers(book))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := co.Retention(req, nil); !errors.Is(err, money.ErrOverflow) {
		t.Fatalf("two 3e17 customers: %v", err)
	}
	co = co.With(map[int64]CohortCustomer{2: book[2]}, map[int64]CohortCustomer{2: {}})
	es, ok, err := co.Retention(req, nil)
	// February's cohort: one customer at 3e17, all of it kept.
	if err != nil || !ok || es[1].NetMRRRetention != 100 || es[1].CustomerRetention != 100 {
		t.Fatalf("one 3e17 customer: %v %v %+v", ok, err, es)
	}
}

// A pass over the book split in parts gives the cohorts of one pass.
func TestCohortsInParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	type cust struct {
		country string
		h       History
	}
	var book []cust
	for i := range 500 {
		book = append(book, cust{[]string{"US", "DE", "", "FR"}[i%4], steppedHistory(rng)})
	}
	all := func(yield func(string, History) bool) {
		for _, c := range book {
			if !yield(c.country, c.h) {
				return
			}
		}
	}
	req := SeriesRequest{Start: day("2022-01-01"), End: day("2024-12-31"), Interval: "month"}
	defer func(f func(int) int) { cohortParts = f }(cohortParts)
	var got []string
	for _, parts := range []int{1, 3, 7} {
		cohortParts = func(int) int { return parts }
		co, err := NewCohorts().Add(req, all)
		if err != nil {
			t.Fatal(err)
		}
		var out []any
		for _, geo := range []map[string]bool{nil, {"DE": true}, {"": true, "FR": true}} {
			e, ok, err := co.Retention(req, geo)
			if !ok || err != nil || len(e) != 36 {
				t.Fatalf("%d parts, geo %v: %d entries, held %v, %v", parts, geo, len(e), ok, err)
			}
			out = append(out, e)
		}
		// The book's customers are in the cohorts: some month keeps
		// some of its starting customers.
		if e, _, _ := co.Retention(req, nil); !slices.ContainsFunc(e, func(x RetentionEntry) bool { return x.CustomerRetention > 0 }) {
			t.Fatalf("%d parts: no customer retained in any month", parts)
		}
		got = append(got, fmt.Sprint(out...))
	}
	if got[0] != got[1] || got[0] != got[2] {
		t.Fatal("the cohorts of a book in parts differ from those of one pass")
	}
}
