package metrics

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// CohortIntervals are the periods signup cohorts are cut by.
var CohortIntervals = map[string]bool{"month": true, "quarter": true, "year": true}

// CohortRequest asks for the signup cohorts of the periods from Start to
// End (dates, inclusive) by Interval (month, quarter or year), with days
// cut in Location. The periods are the Metrics API's (rule 15): the first
// starts on Start's day, the last ends on End's day.
type CohortRequest struct {
	Start, End time.Time
	Interval   string
	Location   *time.Location
	// MaxCells bounds the cells of the table (0: maxPeriods): n periods
	// make n(n+1)/2 of them.
	MaxCells int
}

// CohortRow is one signup cohort: the customers whose first new_biz
// movement lies in its period, followed from that period to End.
type CohortRow struct {
	Cohort    time.Time // the period's first day, midnight in the request's Location
	Customers int64     // the cohort's size
	MRR       int64     // the cohort's MRR at the end of its own period (its age-0 cell's)
	Cells     []CohortCell
}

// CohortCell is a cohort at the end of the period Age periods after its
// own.
type CohortCell struct {
	Age  int
	Date time.Time // the last day of the period (End for the last period)
	// Customers are the cohort's customers with MRR > 0 at the end of
	// Date: one who churned and came back counts again.
	Customers int64
	// CustomersPercentage is Customers of the cohort's size, in percent,
	// two decimals (0 for an empty cohort).
	CustomersPercentage float64
	MRR                 int64 // the cohort's MRR at the end of Date: net retention
	// MRRPercentage is MRR of the row's MRR, in percent, two decimals (0
	// when the row's MRR is 0).
	MRRPercentage float64
}

// Errors of SignupCohortMembers' cell.
var (
	ErrNotACohort = errors.New("not the first day of a cohort period of the range")
	ErrCohortAge  = errors.New("not an age of the cohort's row")
)

// cohortPeriods are r's periods, at most r.MaxCells cells of them.
func cohortPeriods(r CohortRequest) ([]period, error) {
	if !CohortIntervals[r.Interval] {
		return nil, fmt.Errorf("cohort interval %q: want month, quarter or year", r.Interval)
	}
	limit := r.MaxCells
	if limit <= 0 || limit > maxPeriods {
		limit = maxPeriods
	}
	ps, err := periods(SeriesRequest{Start: r.Start, End: r.End, Interval: r.Interval, Location: r.Location, MaxEntries: limit})
	if err != nil {
		return nil, err
	}
	if n := len(ps); n*(n+1)/2 > limit {
		return nil, &TooManyEntriesError{Max: limit}
	}
	return ps, nil
}

// CohortStarts are the first days of r's periods (midnight in its
// Location): the cohorts of its table, each with a cell per later
// period. It checks r as SignupCohorts does, without reading any book.
func CohortStarts(r CohortRequest) ([]time.Time, error) {
	ps, err := cohortPeriods(r)
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, len(ps))
	for i, p := range ps {
		out[i] = p.from
	}
	return out, nil
}

// signups is what one pass over the movements of some sources learns:
// each customer's cohort, by its index across the sources (the source's
// offset plus its index in its layer).
type signups struct {
	srcs   []source
	off    []int
	cohort []int32 // index in the periods; noCohort, or beforeRange
	ends   []int64 // each period's end, Unix milliseconds
}

const (
	noCohort    = -1 // no new_biz movement (yet)
	beforeRange = -2 // the first new_biz came before the range
)

// scanSignups assigns the customers of srcs their cohorts among ps: the
// period of their first new_biz movement, if it lies in [ps[0].from,
// until).
func scanSignups(srcs []source, ps []period, until int64) signups {
	sg := signups{srcs: srcs, off: make([]int, len(srcs)), ends: make([]int64, len(ps))}
	for i, p := range ps {
		sg.ends[i] = p.to.UnixMilli()
	}
	total := 0
	for i, s := range srcs {
		sg.off[i] = total
		total += len(s.l.keys)
	}
	sg.cohort = make([]int32, total)
	for i := range sg.cohort {
		sg.cohort[i] = noCohort
	}
	start := ps[0].from.UnixMilli()
	for si := range srcs {
		s, off := &srcs[si], sg.off[si]
		j := 0 // the period of the move
		for mi := range s.l.moves {
			m := &s.l.moves[mi]
			if m.at >= until {
				break
			}
			if m.kind != kindNewBiz || !s.in(m.idx) || sg.cohort[off+int(m.idx)] != noCohort {
				continue
			}
			if m.at < start {
				sg.cohort[off+int(m.idx)] = beforeRange
				continue
			}
			for m.at >= sg.ends[j] {
				j++
			}
			sg.cohort[off+int(m.idx)] = int32(j)
		}
	}
	return sg
}

// SignupCohorts is the cohort table of the customers of parts (which
// must hold different customers): a row per period of r, in order, each
// with a cell per age from 0 (its own period) to the period ending on
// End. It costs one pass over the movements up to End, to find each
// customer's first new_biz, and one over the changes, which adds each
// change of a cohort's customer to its row at the age of the change's
// period; the cells are the running sums along the rows.
func SignupCohorts(r CohortRequest, parts ...Part) ([]CohortRow, error) {
	ps, err := cohortPeriods(r)
	if err != nil {
		return nil, err
	}
	n := len(ps)
	end := ps[n-1].to.UnixMilli()
	sg := scanSignups(sources(parts), ps, end)
	size := make([]int64, n)
	for _, c := range sg.cohort {
		if c >= 0 {
			size[c]++
		}
	}
	// Row i's cells are at rowStart(i)+age; a change before the row's own
	// period counts from its age 0.
	rowStart := func(i int) int { return i*n - i*(i-1)/2 }
	mrrs, counts := make([]int64, n*(n+1)/2), make([]int64, n*(n+1)/2)
	var ck money.Checked
	cur := make([]int64, len(sg.cohort)) // each cohort customer's MRR so far
	for si := range sg.srcs {
		s, off := &sg.srcs[si], sg.off[si]
		j := 0
		for ci := range s.l.changes {
			c := &s.l.changes[ci]
			if c.at >= end {
				break
			}
			for c.at >= sg.ends[j] {
				j++
			}
			// Only customers s reads have a cohort.
			g := off + int(c.idx)
			row := int(sg.cohort[g])
			if row < 0 {
				continue
			}
			was := cur[g]
			cur[g] = ck.Add(was, c.mrr)
			cell := rowStart(row) + max(j-row, 0)
			mrrs[cell] = ck.Add(mrrs[cell], c.mrr)
			counts[cell] += positive(cur[g]) - positive(was)
		}
	}
	out := make([]CohortRow, n)
	for i := range out {
		row := &out[i]
		row.Cohort, row.Customers = ps[i].from, size[i]
		row.Cells = make([]CohortCell, n-i)
		var mrr, customers int64
		for k := range row.Cells {
			mrr, customers = ck.Add(mrr, mrrs[rowStart(i)+k]), customers+counts[rowStart(i)+k]
			c := &row.Cells[k]
			c.Age, c.Date, c.Customers, c.MRR = k, ps[i+k].date, customers, mrr
			if size[i] > 0 {
				c.CustomersPercentage = float64(percentHundredths(&ck, customers, size[i])) / 100
			}
		}
		row.MRR = row.Cells[0].MRR
		if row.MRR > 0 {
			for k := range row.Cells {
				row.Cells[k].MRRPercentage = float64(percentHundredths(&ck, row.Cells[k].MRR, row.MRR)) / 100
			}
		}
	}
	if err := ck.Err(); err != nil {
		return nil, fmt.Errorf("cohorts: %w", err)
	}
	return out, nil
}

func positive(v int64) int64 {
	if v > 0 {
		return 1
	}
	return 0
}

// SignupCohortMembers are the keys, ascending, of the customers behind
// a cell of SignupCohorts' table: those of the cohort whose period starts
// on cohort's calendar day with MRR > 0 at the end of the cell age
// periods later. A day that starts none of r's periods is ErrNotACohort,
// an age outside its row ErrCohortAge.
func SignupCohortMembers(r CohortRequest, cohort time.Time, age int, parts ...Part) ([]int64, error) {
	ps, err := cohortPeriods(r)
	if err != nil {
		return nil, err
	}
	y, m, d := cohort.Date()
	row := slices.IndexFunc(ps, func(p period) bool {
		py, pm, pd := p.from.Date()
		return py == y && pm == m && pd == d
	})
	if row < 0 {
		return nil, fmt.Errorf("cohort %s: %w", cohort.Format(time.DateOnly), ErrNotACohort)
	}
	if age < 0 || row+age >= len(ps) {
		return nil, fmt.Errorf("age %d of cohort %s: %w", age, cohort.Format(time.DateOnly), ErrCohortAge)
	}
	sg := scanSignups(sources(parts), ps, ps[row].to.UnixMilli())
	var ck money.Checked
	cur := make([]int64, len(sg.cohort))
	end := ps[row+age].to.UnixMilli()
	for si := range sg.srcs {
		s, off := &sg.srcs[si], sg.off[si]
		for ci := range s.l.changes {
			c := &s.l.changes[ci]
			if c.at >= end {
				break
			}
			if g := off + int(c.idx); int(sg.cohort[g]) == row {
				cur[g] = ck.Add(cur[g], c.mrr)
			}
		}
	}
	if err := ck.Err(); err != nil {
		return nil, fmt.Errorf("cohort members: %w", err)
	}
	var out []int64
	for si, s := range sg.srcs {
		for i, key := range s.l.keys {
			if g := sg.off[si] + i; int(sg.cohort[g]) == row && cur[g] > 0 {
				out = append(out, key)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
