package metrics

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Line types (metrics.md rule 3: only subscription lines carry MRR).
const (
	LineSubscription = "subscription"
	LineTrial        = "trial"
	LineOneTime      = "one_time"
)

// Proration types (metrics.md rule 7).
const (
	ProrationDifferential    = "differential"
	ProrationFull            = "full"
	ProrationDifferentialMRR = "differential_mrr"
)

// Interval is a plan's billing interval.
type Interval struct {
	Unit  string // day, week, month, year
	Count int
}

// monthsPer is metrics.md rule 2, the one place these constants live: how
// many months one unit of a plan interval is, as an exact ratio.
var monthsPer = map[string]*big.Rat{
	"month": big.NewRat(1, 1),
	"year":  big.NewRat(12, 1),
	"week":  big.NewRat(12, 52),
	"day":   big.NewRat(12, 365),
}

// months is the length of the interval in months.
func (iv Interval) months() (*big.Rat, error) {
	per, ok := monthsPer[iv.Unit]
	if !ok || iv.Count < 1 {
		return nil, fmt.Errorf("plan interval %d %s: unit must be day, week, month or year and count at least 1", iv.Count, iv.Unit)
	}
	return new(big.Rat).Mul(per, big.NewRat(int64(iv.Count), 1)), nil
}

// addTo moves t forward (n > 0) or back (n < 0) by n intervals with
// calendar arithmetic.
func (iv Interval) addTo(t time.Time, n int) time.Time {
	k := n * iv.Count
	switch iv.Unit {
	case "day":
		return t.AddDate(0, 0, k)
	case "week":
		return t.AddDate(0, 0, 7*k)
	case "year":
		return addMonths(t, 12*k)
	}
	return addMonths(t, k)
}

// addMonths moves t by n calendar months, keeping the day of the month
// but never past the month's last day: one month before 31 March is 29
// February (in a leap year), where time.AddDate would give 2 March.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// Line is one invoice line as the engine needs it.
type Line struct {
	ID             string // line item UUID, for traceability
	InvoiceID      string
	Type           string
	PlanID         string // plan UUID, what a plans filter names
	Interval       Interval
	Start, End     time.Time
	Amount         int64 // amount_in_cents, tax included
	Tax            int64
	Fees           int64
	Currency       string
	Prorated       bool
	ProrationType  string
	EventOrder     *int64
	Seq            int64 // arrival order
	RefundDocument bool  // metrics.md rule 5: its invoice has a refund and no payment
}

// Rates converts money between currencies on a day (metrics.md rule 20).
type Rates interface {
	// Rate is how many minor units of to one minor unit of from is worth
	// on day. ok is false when no rate is known.
	Rate(from, to string, day time.Time) (r *big.Rat, ok bool)
}

// MissingRateError names a rate the engine needed and did not have.
type MissingRateError struct {
	From, To string
	Day      time.Time
}

func (e *MissingRateError) Error() string {
	return fmt.Sprintf("no %s→%s exchange rate for %s", e.From, e.To, e.Day.Format("2006-01-02"))
}

// ErrNoMRR marks lines that carry no MRR (one-time, refund documents).
var ErrNoMRR = errors.New("line carries no MRR")

// roundHalfAway rounds an exact ratio to the nearest integer, halves away
// from zero (metrics.md rule 1); a result beyond money.MaxSum is noted in ck.
func roundHalfAway(ck *money.Checked, r *big.Rat) int64 {
	num, den := new(big.Int).Set(r.Num()), r.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return ck.Int(q)
}

// lineMRR is metrics.md rules 1–7 for one line: its MRR contribution in
// the account currency, in one rounding step.
func lineMRR(l Line, s Settings, rates Rates) (int64, error) {
	v, err := lineValue(l, s, rates)
	return v.mrr, err
}

// valued is a line's MRR contribution: rounded in the account currency,
// and exact in the line's own currency with the rate that converted it
// (nil when no conversion was needed), so that a later revaluation at
// another rate can be told apart from a change of price (rule 20).
type valued struct {
	mrr      int64
	native   *big.Rat
	currency string
	rate     *big.Rat
}

func lineValue(l Line, s Settings, rates Rates) (valued, error) {
	if l.Type == LineOneTime || l.RefundDocument {
		return valued{}, ErrNoMRR
	}
	out := valued{native: new(big.Rat), currency: l.Currency}
	if l.Type == LineTrial {
		return out, nil
	}
	// Exact, so that no operand can wrap; only the rounded result must
	// fit (issue 10: a tax of −2^63 gave a garbage MRR).
	v := out.native.SetInt64(l.Amount)
	v.Sub(v, new(big.Rat).SetInt64(l.Tax))
	if s.DeductFees {
		v.Sub(v, new(big.Rat).SetInt64(l.Fees))
	}
	months, err := l.Interval.months()
	if err != nil {
		return valued{}, err
	}
	v.Quo(v, months) // rule 2: the plan interval decides, not the service period
	if l.Prorated && l.ProrationType != ProrationDifferentialMRR {
		// rule 6: full period = one plan interval back from the line's end.
		full := l.End.Sub(l.Interval.addTo(l.End, -1))
		part := l.End.Sub(l.Start)
		if part <= 0 {
			return valued{}, fmt.Errorf("line %s: prorated period is empty", l.ID)
		}
		// In milliseconds, the stored precision: a period under a second
		// was a division by zero here.
		if part.Milliseconds() <= 0 || full.Milliseconds() <= 0 {
			return valued{}, fmt.Errorf("line %s: prorated period is empty", l.ID)
		}
		v.Mul(v, big.NewRat(full.Milliseconds(), part.Milliseconds()))
	}
	converted := v
	if l.Currency != "" && s.Currency != "" && l.Currency != s.Currency && v.Sign() != 0 {
		var ok bool
		if rates != nil {
			out.rate, ok = rates.Rate(l.Currency, s.Currency, l.Start)
		}
		if !ok {
			return valued{}, &MissingRateError{From: l.Currency, To: s.Currency, Day: l.Start}
		}
		converted = new(big.Rat).Mul(v, out.rate)
	}
	if converted.Cmp(maxLineMRR) > 0 || converted.Cmp(minLineMRR) < 0 {
		// The Import API bounds amounts; a prorated sliver of a period can
		// still scale one past what any sum of MRR can hold.
		return valued{}, fmt.Errorf("line %s: its MRR is beyond ±10^15 cents: %w", l.ID, money.ErrOverflow)
	}
	var ck money.Checked
	out.mrr = roundHalfAway(&ck, converted)
	if err := ck.Err(); err != nil {
		return valued{}, fmt.Errorf("line %s: %w", l.ID, err)
	}
	return out, nil
}

// A line's MRR is bounded (10^13 dollars a month) so that a customer's
// sums stay far inside an int64; larger sums are checked where they are
// added.
var (
	maxLineMRR = new(big.Rat).SetInt64(1_000_000_000_000_000)
	minLineMRR = new(big.Rat).SetInt64(-1_000_000_000_000_000)
)
