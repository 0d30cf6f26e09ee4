package metrics

import (
	"fmt"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// RetentionEntry is one entry of Tally's retention metrics (defined with
// worked examples in docs/retention.md). Rates are percentages with two
// decimals; a rate whose base is empty is 0.
type RetentionEntry struct {
	Date time.Time
	// GrossMRRChurnRate counts losses only: (|churn| + |contraction|) of
	// the period over the MRR at its start.
	GrossMRRChurnRate float64
	// The cohort rates follow the customers who were customers at the
	// period's start: their MRR at its end over their MRR at its start
	// (net), the same with each customer capped at its start MRR (gross),
	// and how many of them are still customers.
	NetMRRRetention, GrossMRRRetention, CustomerRetention float64
	// The same over the twelve months up to the entry's date.
	NetMRRRetentionT12M, GrossMRRRetentionT12M, CustomerRetentionT12M float64
}

// cohort sums one cohort's figures in integers.
type cohort struct {
	startMRR, endMRR, keptMRR int64 // keptMRR: Σ min(end, start)
	startCustomers, kept      int64
}

func (c *cohort) add(ck *money.Checked, start, end Point) {
	if !start.Active {
		return
	}
	c.startCustomers++
	c.startMRR = ck.Add(c.startMRR, start.MRR)
	c.endMRR = ck.Add(c.endMRR, end.MRR)
	c.keptMRR = ck.Add(c.keptMRR, min(end.MRR, start.MRR))
	if end.Active {
		c.kept++
	}
}

func (c cohort) rates(ck *money.Checked) (net, gross, customers float64) {
	if c.startMRR > 0 {
		net = float64(percentHundredths(ck, c.endMRR, c.startMRR)) / 100
		gross = float64(percentHundredths(ck, c.keptMRR, c.startMRR)) / 100
	}
	if c.startCustomers > 0 {
		customers = float64(percentHundredths(ck, c.kept, c.startCustomers)) / 100
	}
	return net, gross, customers
}

// Retention computes the retention entries for the periods of r from the
// customers' histories. The period cohorts start just before each period
// (the end of the previous entry, as rule 17's denominators do); the
// trailing cohorts twelve calendar months before each entry's end.
func Retention(hs []History, r SeriesRequest) ([]RetentionEntry, error) {
	ps, err := periods(r)
	if err != nil {
		return nil, err
	}
	// Every instant a customer's state is needed at, in order: each
	// period's start and end, and each end's twelve months before.
	starts, ends, back := make([]int64, len(ps)), make([]int64, len(ps)), make([]int64, len(ps))
	var instants []int64
	for i, p := range ps {
		starts[i], ends[i] = p.from.UnixMilli(), p.to.UnixMilli()
		back[i] = addMonths(p.to, -12).UnixMilli()
		instants = append(instants, starts[i], ends[i], back[i])
	}
	slices.Sort(instants)
	instants = slices.Compact(instants)
	startAt, endAt, backAt := make([]int, len(ps)), make([]int, len(ps)), make([]int, len(ps))
	for i := range ps {
		startAt[i], _ = slices.BinarySearch(instants, starts[i])
		endAt[i], _ = slices.BinarySearch(instants, ends[i])
		backAt[i], _ = slices.BinarySearch(instants, back[i])
	}

	var ck money.Checked // the cohorts' sums (issue 10)
	period := make([]cohort, len(ps))
	trailing := make([]cohort, len(ps))
	losses := make([]int64, len(ps))      // |churn| + |contraction| in each period
	state := make([]Point, len(instants)) // a customer's state just before each instant
	for _, h := range hs {
		for _, m := range h.Movements {
			if m.Type != Churn && m.Type != Contraction {
				continue
			}
			at := m.At.UnixMilli()
			if i, _ := slices.BinarySearch(ends, at+1); at >= starts[0] && i < len(ps) {
				losses[i] = ck.Sub(losses[i], m.Amount)
			}
		}
		// One walk over the timeline for all the instants.
		var cur Point
		j := 0
		for k, t := range instants {
			for j < len(h.Timeline) && h.Timeline[j].At.UnixMilli() < t {
				cur = h.Timeline[j]
				j++
			}
			state[k] = cur
		}
		for i := range ps {
			end := state[endAt[i]]
			period[i].add(&ck, state[startAt[i]], end)
			trailing[i].add(&ck, state[backAt[i]], end)
		}
	}
	out := make([]RetentionEntry, len(ps))
	for i := range ps {
		e := &out[i]
		e.Date = ps[i].date
		if base := period[i].startMRR; base > 0 {
			// The MRR at the start is the period cohort's: only customers
			// have MRR (a lead's is 0), so it is the account's too.
			e.GrossMRRChurnRate = float64(percentHundredths(&ck, losses[i], base)) / 100
		}
		e.NetMRRRetention, e.GrossMRRRetention, e.CustomerRetention = period[i].rates(&ck)
		e.NetMRRRetentionT12M, e.GrossMRRRetentionT12M, e.CustomerRetentionT12M = trailing[i].rates(&ck)
	}
	if err := ck.Err(); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return out, nil
}
