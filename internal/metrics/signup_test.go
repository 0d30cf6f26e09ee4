package metrics

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// stepHistory is a customer whose MRR is each step's from its instant
// (RFC 3339) on, with rule 12's movements: new business from nothing the
// first time, reactivation after, churn to nothing, expansion and
// contraction in between.
func stepHistory(steps ...any) History {
	var h History
	var mrr int64
	paid := false
	for i := 0; i < len(steps); i += 2 {
		at, err := time.Parse(time.RFC3339, steps[i].(string))
		if err != nil {
			panic(err)
		}
		next := int64(steps[i+1].(int))
		m := Movement{At: at, Amount: next - mrr, MRRAfter: next}
		switch {
		case mrr == 0 && !paid:
			m.Type = NewBiz
		case mrr == 0:
			m.Type = Reactivation
		case next == 0:
			m.Type = Churn
		case next > mrr:
			m.Type = Expansion
		default:
			m.Type = Contraction
		}
		h.Timeline = append(h.Timeline, Point{At: at, MRR: next, Active: next > 0})
		h.Movements = append(h.Movements, m)
		mrr, paid = next, paid || next > 0
	}
	return h
}

// The customers of the hand-computed tables (keys 1 to 6):
//
//	A (1) new business 100 on 5 Jan 2024, expansion to 150 on 10 Mar
//	B (2) new business 200 on 10 Jan, churn on 20 Jan, reactivation at 200 on 3 Mar
//	C (3) new business 300 on 31 Jan 23:00 UTC (18:00 in New York), contraction to 100 on 15 Feb
//	D (4) new business 50 on 1 Feb 00:00 UTC (31 Jan 19:00 in New York), churn on 30 Apr 12:00 UTC
//	E (5) new business 500 on 20 Dec 2023, never leaves
//	G (6) new business 1000 on 1 Aug 2024
func signupBook() *Book {
	return NewBook(map[int64]History{
		1: stepHistory("2024-01-05T10:00:00Z", 100, "2024-03-10T10:00:00Z", 150),
		2: stepHistory("2024-01-10T10:00:00Z", 200, "2024-01-20T10:00:00Z", 0, "2024-03-03T10:00:00Z", 200),
		3: stepHistory("2024-01-31T23:00:00Z", 300, "2024-02-15T10:00:00Z", 100),
		4: stepHistory("2024-02-01T00:00:00Z", 50, "2024-04-30T12:00:00Z", 0),
		5: stepHistory("2023-12-20T10:00:00Z", 500),
		6: stepHistory("2024-08-01T10:00:00Z", 1000),
	})
}

type cellWant struct {
	date      string
	customers int64
	pct       float64
	mrr       int64
	mrrPct    float64
}

type rowWant struct {
	cohort    string
	customers int64
	mrr       int64
	cells     []cellWant
}

func checkCohorts(t *testing.T, got []CohortRow, want []rowWant) {
	t.Helper()
	var g []rowWant
	for _, r := range got {
		w := rowWant{cohort: r.Cohort.Format(time.DateOnly), customers: r.Customers, mrr: r.MRR}
		for k, c := range r.Cells {
			if c.Age != k {
				t.Errorf("cohort %s: cell %d has age %d", w.cohort, k, c.Age)
			}
			w.cells = append(w.cells, cellWant{c.Date.Format(time.DateOnly), c.Customers, c.CustomersPercentage, c.MRR, c.MRRPercentage})
		}
		g = append(g, w)
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("cohorts\n got %+v\nwant %+v", g, want)
	}
}

func TestSignupCohortsByMonth(t *testing.T) {
	rows, err := SignupCohorts(CohortRequest{Start: day("2024-01-01"), End: day("2024-04-30"), Interval: "month", Location: time.UTC},
		Part{Book: signupBook()})
	if err != nil {
		t.Fatal(err)
	}
	checkCohorts(t, rows, []rowWant{
		// January: A, B and C (size 3; E came before the range). The row's
		// MRR is January's: A 100 + C 300 = 400 (B churned in its first
		// period, so age 0 is 2/3 = 66.67 %).
		{"2024-01-01", 3, 400, []cellWant{
			{"2024-01-31", 2, 66.67, 400, 100},
			// February: A 100 + C contracted to 100 = 200, 200/400 = 50 %.
			{"2024-02-29", 2, 66.67, 200, 50},
			// March: A expanded to 150, B reactivated at 200 (counts again),
			// C 100: 3/3 = 100 %, 450/400 = 112.5 %.
			{"2024-03-31", 3, 100, 450, 112.5},
			{"2024-04-30", 3, 100, 450, 112.5},
		}},
		// February: D alone, 50, until its churn on 30 April (before the
		// end of end-date).
		{"2024-02-01", 1, 50, []cellWant{
			{"2024-02-29", 1, 100, 50, 100},
			{"2024-03-31", 1, 100, 50, 100},
			{"2024-04-30", 0, 0, 0, 0},
		}},
		{"2024-03-01", 0, 0, []cellWant{{"2024-03-31", 0, 0, 0, 0}, {"2024-04-30", 0, 0, 0, 0}}},
		{"2024-04-01", 0, 0, []cellWant{{"2024-04-30", 0, 0, 0, 0}}},
	})
}

// In New York (UTC−5, UTC−4 from 10 March) C's and D's first movements
// both fall on 31 January, and each cell is taken at the end of its day
// there.
func TestSignupCohortsTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := SignupCohorts(CohortRequest{Start: day("2024-01-01"), End: day("2024-04-30"), Interval: "month", Location: ny},
		Part{Book: signupBook()})
	if err != nil {
		t.Fatal(err)
	}
	checkCohorts(t, rows, []rowWant{
		// January: A, B, C, D (size 4). 31 Jan ends at 1 Feb 05:00 UTC:
		// A 100 + C 300 + D 50 = 450, 3/4 = 75 %.
		{"2024-01-01", 4, 450, []cellWant{
			{"2024-01-31", 3, 75, 450, 100},
			// February: A 100 + C 100 + D 50 = 250; 250/450 = 55.555… → 55.56 %.
			{"2024-02-29", 3, 75, 250, 55.56},
			// March: A 150 + B 200 + C 100 + D 50 = 500, 4/4; 500/450 = 111.11 %.
			{"2024-03-31", 4, 100, 500, 111.11},
			// April ends at 1 May 04:00 UTC, after D's churn: 450, 3/4, 100 %.
			{"2024-04-30", 3, 75, 450, 100},
		}},
		{"2024-02-01", 0, 0, []cellWant{{"2024-02-29", 0, 0, 0, 0}, {"2024-03-31", 0, 0, 0, 0}, {"2024-04-30", 0, 0, 0, 0}}},
		{"2024-03-01", 0, 0, []cellWant{{"2024-03-31", 0, 0, 0, 0}, {"2024-04-30", 0, 0, 0, 0}}},
		{"2024-04-01", 0, 0, []cellWant{{"2024-04-30", 0, 0, 0, 0}}},
	})
}

func TestSignupCohortsByQuarterAndYear(t *testing.T) {
	rows, err := SignupCohorts(CohortRequest{Start: day("2024-01-01"), End: day("2024-12-31"), Interval: "quarter"},
		Part{Book: signupBook()})
	if err != nil {
		t.Fatal(err)
	}
	checkCohorts(t, rows, []rowWant{
		// Q1: A, B, C, D (size 4). End of March: 150 + 200 + 100 + 50 = 500.
		{"2024-01-01", 4, 500, []cellWant{
			{"2024-03-31", 4, 100, 500, 100},
			// D churned in April: 450, 3/4 = 75 %, 450/500 = 90 %.
			{"2024-06-30", 3, 75, 450, 90},
			{"2024-09-30", 3, 75, 450, 90},
			{"2024-12-31", 3, 75, 450, 90},
		}},
		{"2024-04-01", 0, 0, []cellWant{{"2024-06-30", 0, 0, 0, 0}, {"2024-09-30", 0, 0, 0, 0}, {"2024-12-31", 0, 0, 0, 0}}},
		// Q3: G, 1000.
		{"2024-07-01", 1, 1000, []cellWant{{"2024-09-30", 1, 100, 1000, 100}, {"2024-12-31", 1, 100, 1000, 100}}},
		{"2024-10-01", 0, 0, []cellWant{{"2024-12-31", 0, 0, 0, 0}}},
	})
	// By year from mid-2023 to March 2025: the periods are those of the
	// Metrics API (rule 15), so the first starts on start-date and the
	// last ends on end-date.
	rows, err = SignupCohorts(CohortRequest{Start: day("2023-06-15"), End: day("2025-03-31"), Interval: "year"},
		Part{Book: signupBook()})
	if err != nil {
		t.Fatal(err)
	}
	checkCohorts(t, rows, []rowWant{
		// From 15 June 2023: E, 500, for good.
		{"2023-06-15", 1, 500, []cellWant{{"2023-12-31", 1, 100, 500, 100}, {"2024-12-31", 1, 100, 500, 100},
			{"2025-03-31", 1, 100, 500, 100}}},
		// 2024: A, B, C, D, G (size 5); at the end of 2024 A 150 + B 200 +
		// C 100 + G 1000 = 1450, 4/5 = 80 %.
		{"2024-01-01", 5, 1450, []cellWant{{"2024-12-31", 4, 80, 1450, 100}, {"2025-03-31", 4, 80, 1450, 100}}},
		{"2025-01-01", 0, 0, []cellWant{{"2025-03-31", 0, 0, 0, 0}}},
	})
}

func TestSignupCohortMembers(t *testing.T) {
	req := CohortRequest{Start: day("2024-01-01"), End: day("2024-04-30"), Interval: "month"}
	book := signupBook()
	for _, tc := range []struct {
		cohort string
		age    int
		want   []int64
		err    error
	}{
		{"2024-01-01", 0, []int64{1, 3}, nil},    // B churned in January
		{"2024-01-01", 2, []int64{1, 2, 3}, nil}, // and came back in March
		{"2024-02-01", 1, []int64{4}, nil},
		{"2024-02-01", 2, nil, nil}, // D churned on 30 April
		{"2024-04-01", 0, nil, nil},
		{"2024-01-15", 0, nil, ErrNotACohort},
		{"2023-12-01", 0, nil, ErrNotACohort},
		{"2024-05-01", 0, nil, ErrNotACohort},
		{"2024-01-01", 4, nil, ErrCohortAge},
		{"2024-04-01", 1, nil, ErrCohortAge},
		{"2024-01-01", -1, nil, ErrCohortAge},
	} {
		got, err := SignupCohortMembers(req, day(tc.cohort), tc.age, Part{Book: book})
		if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
			t.Errorf("%s age %d: %v %v, want %v %v", tc.cohort, tc.age, got, err, tc.want, tc.err)
		}
	}
	// Through a Set and another part: A kept from the book, B from another.
	got, err := SignupCohortMembers(req, day("2024-01-01"), 2, Part{Book: book, Keep: NewSet(1)},
		Part{Book: NewBook(map[int64]History{2: stepHistory("2024-01-10T10:00:00Z", 200)})})
	if err != nil || !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("through parts: %v %v", got, err)
	}
}

func TestSignupCohortsRequests(t *testing.T) {
	book := signupBook()
	for _, tc := range []struct {
		name string
		r    CohortRequest
	}{
		{"week", CohortRequest{Start: day("2024-01-01"), End: day("2024-04-30"), Interval: "week"}},
		{"backwards", CohortRequest{Start: day("2024-04-01"), End: day("2024-01-30"), Interval: "month"}},
	} {
		if _, err := SignupCohorts(tc.r, Part{Book: book}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	// Four months make 4 + 3 + 2 + 1 = 10 cells.
	r := CohortRequest{Start: day("2024-01-01"), End: day("2024-04-30"), Interval: "month", MaxCells: 9}
	if _, err := SignupCohorts(r, Part{Book: book}); !errors.As(err, new(*TooManyEntriesError)) {
		t.Errorf("10 cells over 9: %v", err)
	}
	if _, err := SignupCohortMembers(r, day("2024-01-01"), 0, Part{Book: book}); !errors.As(err, new(*TooManyEntriesError)) {
		t.Errorf("members of 10 cells over 9: %v", err)
	}
	r.MaxCells = 10
	if _, err := SignupCohorts(r, Part{Book: book}); err != nil {
		t.Errorf("10 cells: %v", err)
	}
}

// referenceCohorts is SignupCohorts customer by customer: each one's
// first new_biz movement, and its MRR at each cell's end from its
// timeline.
func referenceCohorts(hs map[int64]History, r CohortRequest) ([]CohortRow, map[[2]int][]int64) {
	ps, err := cohortPeriods(r)
	if err != nil {
		panic(err)
	}
	out := make([]CohortRow, len(ps))
	members := map[[2]int][]int64{}
	for i, p := range ps {
		out[i] = CohortRow{Cohort: p.from, Cells: make([]CohortCell, len(ps)-i)}
		for k := range out[i].Cells {
			out[i].Cells[k] = CohortCell{Age: k, Date: ps[i+k].date}
		}
	}
	for id, h := range hs {
		first := time.Time{}
		for _, m := range h.Movements {
			if m.Type == NewBiz && (first.IsZero() || m.At.Before(first)) {
				first = m.At
			}
		}
		row := slices.IndexFunc(ps, func(p period) bool { return !first.Before(p.from) && first.Before(p.to) })
		if first.IsZero() || row < 0 {
			continue
		}
		out[row].Customers++
		for k := range out[row].Cells {
			var mrr int64
			for _, p := range h.Timeline {
				if p.At.Before(ps[row+k].to) {
					mrr = p.MRR
				}
			}
			c := &out[row].Cells[k]
			c.MRR += mrr
			if mrr > 0 {
				c.Customers++
				members[[2]int{row, k}] = append(members[[2]int{row, k}], id)
			}
		}
	}
	var ck money.Checked
	for i := range out {
		row := &out[i]
		row.MRR = row.Cells[0].MRR
		for k := range row.Cells {
			c := &row.Cells[k]
			if row.Customers > 0 {
				c.CustomersPercentage = float64(percentHundredths(&ck, c.Customers, row.Customers)) / 100
			}
			if row.MRR > 0 {
				c.MRRPercentage = float64(percentHundredths(&ck, c.MRR, row.MRR)) / 100
			}
		}
	}
	for _, ids := range members {
		slices.Sort(ids)
	}
	return out, members
}

// Under random histories (movements in any order, customers active at
// zero MRR, new business more than once) the table is the reference's;
// cohort sizes add up to the customers whose first new business lies in
// the range; age 0 is 100 % unless a customer churned within its first
// period; each cell's customers are its members.
func TestSignupCohortsReference(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(12, 12))
	for round := range 20 {
		hs := map[int64]History{}
		for id := range int64(60) {
			if round%2 == 0 {
				hs[id] = randomHistory(rng)
			} else {
				hs[id] = steppedHistory(rng)
			}
		}
		start := day("2018-01-01").AddDate(0, rng.IntN(40), rng.IntN(28))
		if round%2 == 1 {
			start = start.AddDate(4, 0, 0)
		}
		r := CohortRequest{Start: start, End: start.AddDate(0, 6+rng.IntN(30), rng.IntN(28)),
			Interval: []string{"month", "quarter", "year"}[round%3], Location: []*time.Location{time.UTC, ny}[round%2]}
		// Half the customers in the book, half in another part.
		a, b := map[int64]History{}, map[int64]History{}
		for id, h := range hs {
			if id%2 == 0 {
				a[id] = h
			} else {
				b[id] = h
			}
		}
		parts := []Part{{Book: NewBook(a)}, {Book: NewBook(b)}}
		got, err := SignupCohorts(r, parts...)
		if err != nil {
			t.Fatal(err)
		}
		want, members := referenceCohorts(hs, r)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: %+v\nreference %+v", round, got, want)
		}
		var size int64
		for i, row := range got {
			size += row.Customers
			if row.Customers > 0 && row.Cells[0].CustomersPercentage != 100 && !churnedInFirstPeriod(hs, r, i) {
				t.Errorf("round %d, cohort %s: age 0 at %v %% and no churn in the period", round, row.Cohort, row.Cells[0].CustomersPercentage)
			}
			for k := range row.Cells {
				ids, err := SignupCohortMembers(r, row.Cohort, k, parts...)
				if err != nil || fmt.Sprint(ids) != fmt.Sprint(members[[2]int{i, k}]) || int64(len(ids)) != row.Cells[k].Customers {
					t.Fatalf("round %d, cohort %s age %d: members %v %v, want %v", round, row.Cohort, k, ids, err, members[[2]int{i, k}])
				}
			}
		}
		from, to, _ := SeriesRequest{Start: r.Start, End: r.End, Interval: r.Interval, Location: r.Location}.Bounds()
		var acquired int64
		for _, h := range hs {
			var first time.Time
			for _, m := range h.Movements {
				if m.Type == NewBiz && (first.IsZero() || m.At.Before(first)) {
					first = m.At
				}
			}
			if !first.IsZero() && !first.Before(from) && first.Before(to) {
				acquired++
			}
		}
		if size != acquired {
			t.Errorf("round %d: cohorts of %d customers, %d acquired in the range", round, size, acquired)
		}
	}
}

// churnedInFirstPeriod tells whether some customer of cohort i has MRR 0
// at the end of its first period: it left within it (or never paid).
func churnedInFirstPeriod(hs map[int64]History, r CohortRequest, i int) bool {
	ps, _ := cohortPeriods(r)
	for _, h := range hs {
		var first time.Time
		for _, m := range h.Movements {
			if m.Type == NewBiz && (first.IsZero() || m.At.Before(first)) {
				first = m.At
			}
		}
		if first.IsZero() || first.Before(ps[i].from) || !first.Before(ps[i].to) {
			continue
		}
		for _, p := range h.Timeline {
			if !p.At.Before(first) && p.At.Before(ps[i].to) && p.MRR == 0 {
				return true
			}
		}
	}
	return false
}
