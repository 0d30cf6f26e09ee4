package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Intervals of the Metrics API.
var Intervals = map[string]bool{"day": true, "week": true, "month": true, "quarter": true, "year": true}

// SeriesRequest asks for entries from Start to End (dates, inclusive) by
// Interval, with days cut in Location and weeks starting on WeekStart.
type SeriesRequest struct {
	Start, End time.Time
	Interval   string
	Location   *time.Location
	WeekStart  time.Weekday
	// MaxEntries bounds the periods of the request (0: maxPeriods). Every
	// series cuts its periods in one place, periods, so a request over it
	// fails there, before any entry is built.
	MaxEntries int
}

// maxPeriods bounds a request that sets no MaxEntries: the engine never
// builds an unbounded series.
const maxPeriods = 100000

// TooManyEntriesError is a request whose periods exceed its MaxEntries.
type TooManyEntriesError struct{ Max int }

func (e *TooManyEntriesError) Error() string {
	return fmt.Sprintf("more than %d entries: use a longer interval or a shorter range", e.Max)
}

// History is one customer's engine output as the series need it.
type History struct {
	Timeline  []Point
	Movements []Movement
}

// Entry is one entry of the Metrics API (metrics.md rules 15–17).
type Entry struct {
	Date              time.Time // the last day of the period (or end-date)
	MRR               int64
	Customers         int64
	ARPA              int64
	ASP               int64
	NewBiz            int64
	Expansion         int64
	Contraction       int64
	Churn             int64
	Reactivation      int64
	FX                int64   // exchange-rate revaluation in the period: MRR moves, no movement (rule 20)
	CustomerChurnRate float64 // percent, 2 decimals
	MRRChurnRate      float64
	LTV               int64
	NewCustomers      int64 // new_biz movements in the period (ASP's divisor)
	ChurnedCustomers  int64
}

// ARR is rule 16.
func (e Entry) ARR() int64 { return 12 * e.MRR }

// NetNew is the period's net new MRR: its five movement sums together
// (contraction and churn are negative), which is the MRR change over the
// period (metrics.md rule 16).
func (e Entry) NetNew() int64 {
	return e.NewBiz + e.Expansion + e.Contraction + e.Churn + e.Reactivation
}

// period is [from, to) in instants, dated on its last day.
type period struct {
	from, to time.Time
	date     time.Time
}

// periods cuts [Start, End] into calendar periods (rule 15): the first is
// the period containing Start, the last ends at End's day.
func periods(r SeriesRequest) ([]period, error) {
	if !Intervals[r.Interval] {
		return nil, fmt.Errorf("interval %q: want day, week, month, quarter or year", r.Interval)
	}
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	startDay := time.Date(r.Start.Year(), r.Start.Month(), r.Start.Day(), 0, 0, 0, 0, loc)
	endDay := time.Date(r.End.Year(), r.End.Month(), r.End.Day(), 0, 0, 0, 0, loc)
	if endDay.Before(startDay) {
		return nil, errors.New("end-date is before start-date")
	}
	stop := endDay.AddDate(0, 0, 1)
	limit := r.MaxEntries
	if limit <= 0 || limit > maxPeriods {
		limit = maxPeriods
	}
	var out []period
	for from := startDay; from.Before(stop); {
		to := nextBoundary(from, r.Interval, r.WeekStart)
		if to.After(stop) {
			to = stop
		}
		if len(out) == limit {
			return nil, &TooManyEntriesError{Max: limit}
		}
		out = append(out, period{from: from, to: to, date: to.AddDate(0, 0, -1)})
		from = to
	}
	return out, nil
}

// nextBoundary is the start of the period after the one containing t.
func nextBoundary(t time.Time, interval string, weekStart time.Weekday) time.Time {
	y, m, d := t.Date()
	loc := t.Location()
	switch interval {
	case "day":
		return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case "week":
		days := (int(weekStart) - int(t.Weekday()) + 7) % 7
		if days == 0 {
			days = 7
		}
		return time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	case "month":
		return time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	case "quarter":
		q := (int(m)-1)/3*3 + 1
		return time.Date(y, time.Month(q+3), 1, 0, 0, 0, 0, loc)
	}
	return time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
}

// percentHundredths is num/den as a percentage in hundredths of a percent,
// rounded half away from zero, in exact integer arithmetic: big integers
// when num × 10000 would not fit, a result beyond money.MaxSum noted in ck.
func percentHundredths(ck *money.Checked, num, den int64) int64 {
	if num > math.MaxInt64/10000 || num < -math.MaxInt64/10000 {
		return roundHalfAway(ck, new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(num), big.NewInt(10000)), big.NewInt(den)))
	}
	n := num * 10000
	q, r := n/den, n%den
	if 2*abs64(r) >= abs64(den) {
		if (n < 0) != (den < 0) {
			q--
		} else {
			q++
		}
	}
	return q
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// Series computes the entries of rules 15–17 from every customer's
// history (see Book for the account-wide index it builds).
func Series(hs []History, r SeriesRequest) ([]Entry, error) {
	byKey := make(map[int64]History, len(hs))
	for i, h := range hs {
		byKey[int64(i)] = h
	}
	return NewBook(byKey).Series(r)
}

// derive fills in what entries derive from their stocks and flows: ARPA,
// ASP, the churn rates and LTV (rules 16–17), given the MRR and customers
// just before the first period.
func derive(ck *money.Checked, out []Entry, startMRR, startCustomers int64) {
	prevMRR, prevCustomers := startMRR, startCustomers
	for i := range out {
		e := &out[i]
		if e.Customers > 0 {
			e.ARPA = e.MRR / e.Customers // rule 16: truncated
		}
		if e.NewCustomers > 0 {
			e.ASP = e.NewBiz / e.NewCustomers
		}
		var churnHundredths int64
		if prevCustomers > 0 {
			churnHundredths = percentHundredths(ck, e.ChurnedCustomers, prevCustomers)
			e.CustomerChurnRate = float64(churnHundredths) / 100
		}
		if prevMRR > 0 {
			// Each flow is within money.MaxSum, so these cannot wrap.
			lost := -e.Churn - e.Contraction
			gained := e.Expansion + e.Reactivation
			e.MRRChurnRate = float64(percentHundredths(ck, lost-gained, prevMRR)) / 100
		}
		if churnHundredths > 0 {
			// rule 17: arpa / (rate / 100) from the entry's rounded rate,
			// truncated; in integers: arpa × 10000 / rate-in-hundredths.
			e.LTV = ck.Int(new(big.Int).Quo(new(big.Int).Mul(big.NewInt(e.ARPA), big.NewInt(10000)), big.NewInt(churnHundredths)))
		}
		prevMRR, prevCustomers = e.MRR, e.Customers
	}
}

// PercentChange is rule 18: from published (rounded) values, 2 decimals,
// 0 when there is no previous value or it is 0.
func PercentChange(prev, cur float64) float64 {
	// Published values have at most 2 decimals: in hundredths they are
	// integers, and the change is exact, rounded once like every rate.
	if math.Abs(prev) > money.MaxSum/100 || math.Abs(cur) > money.MaxSum/100 || math.IsNaN(prev) || math.IsNaN(cur) {
		return 0 // beyond what the engine publishes: no change to report
	}
	p, c := int64(math.Round(prev*100)), int64(math.Round(cur*100))
	if p == 0 {
		return 0
	}
	var ck money.Checked // cannot overflow: |c − p| ≤ 2·MaxSum/100·100
	return float64(percentHundredths(&ck, c-p, abs64(p))) / 100
}

// Back moves t one interval back (the summary's "previous"), with the
// calendar arithmetic of plan intervals; month by default.
func Back(t time.Time, interval string) time.Time {
	iv, ok := seriesIntervals[interval]
	if !ok {
		iv = Interval{"month", 1}
	}
	return iv.addTo(t, -1)
}

// seriesIntervals are the Metrics API's intervals as calendar steps.
var seriesIntervals = map[string]Interval{"day": {"day", 1}, "week": {"week", 1}, "month": {"month", 1},
	"quarter": {"month", 3}, "year": {"year", 1}}
