package metrics

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Movement types (metrics.md rule 12).
const (
	NewBiz       = "new_biz"
	Expansion    = "expansion"
	Contraction  = "contraction"
	Churn        = "churn"
	Reactivation = "reactivation"
)

// Point is the customer's state from At on.
type Point struct {
	At     time.Time
	MRR    int64
	Active bool // a paying customer, or one who paid and moved to $0 (rule 11)
	// FX is the part of the change from the previous point owed to
	// exchange rates alone (rule 20): MRR is the running sum of movement
	// amounts and FX.
	FX int64
}

// Movement is one net change of a customer's MRR (rule 12).
type Movement struct {
	At            time.Time
	Type          string
	Amount        int64 // signed: contraction and churn are negative
	MRRAfter      int64
	Subscriptions []string // external ids of the subscriptions that changed
	Causes        []string // line ids and cancellations behind it
}

// CustomerResult is everything the engine derives for one customer.
type CustomerResult struct {
	ID        string
	Timeline  []Point
	Movements []Movement
	// Subscriptions holds each subscription's steps, by subscription ID.
	Subscriptions map[string][]Step
}

// StepAt is the step in force at t: the zero Step before the first.
func StepAt(steps []Step, t time.Time) Step {
	st, _ := mrrAt(steps, t)
	return st
}

// mrrAt is the step value in force at t (0 and not live before the first).
func mrrAt(steps []Step, t time.Time) (Step, bool) {
	i := sort.Search(len(steps), func(i int) bool { return steps[i].At.After(t) })
	if i == 0 {
		return Step{}, false
	}
	return steps[i-1], true
}

// SubscriptionSteps is one subscription's steps with what the customer
// aggregation needs to know of it.
type SubscriptionSteps struct {
	ID, ExternalID, Group string
	Steps                 []Step
}

// smoothConnected moves the final cancellation of a connected subscription
// to the instant the next subscription of its group starts, so that MRR
// continues across the gap at the cancelled subscription's value and the
// switch nets into one movement (reference §4.8). It edits steps, which
// must be the caller's own copies.
func smoothConnected(subs []SubscriptionSteps, steps map[string][]Step) {
	groups := map[string][]string{}
	for _, s := range subs {
		if s.Group != "" {
			groups[s.Group] = append(groups[s.Group], s.ID)
		}
	}
	for group, members := range groups {
		for _, a := range members {
			st := steps[a]
			n := len(st)
			if n == 0 || st[n-1].Live {
				continue
			}
			end := st[n-1].At
			// The earliest start of another member at or after the end.
			var next time.Time
			for _, b := range members {
				if b == a || len(steps[b]) == 0 {
					continue
				}
				if first := steps[b][0].At; !first.Before(end) && (next.IsZero() || first.Before(next)) {
					next = first
				}
			}
			if !next.IsZero() {
				st[n-1].At = next
				st[n-1].Causes = append(slices.Clone(st[n-1].Causes), "connection:"+group)
			}
		}
	}
}

// Steps replays each of the customer's subscriptions into its steps, in
// subscription ID order.
func Steps(c Customer, s Settings, rates Rates) ([]SubscriptionSteps, error) {
	subs := slices.Clone(c.Subscriptions)
	slices.SortFunc(subs, func(a, b Subscription) int { return strings.Compare(a.ID, b.ID) })
	out := make([]SubscriptionSteps, 0, len(subs))
	for _, sub := range subs {
		st, err := subscriptionSteps(sub, s, rates)
		if err != nil {
			return nil, err
		}
		out = append(out, SubscriptionSteps{ID: sub.ID, ExternalID: sub.ExternalID, Group: sub.Group, Steps: st})
	}
	return out, nil
}

// Compute derives a customer's MRR timeline and movements from its
// history. It is pure: the result depends only on the arguments, not on
// the order of subscriptions, lines or cancellations within them.
func Compute(c Customer, s Settings, rates Rates) (CustomerResult, error) {
	subs, err := Steps(c, s, rates)
	if err != nil {
		return CustomerResult{ID: c.ID}, err
	}
	return Aggregate(c.ID, subs, s)
}

// Aggregate derives the customer's timeline and movements from its
// subscriptions' steps (in ID order, as Steps returns them). With
// s.Plans, a subscription is in the view only while on one of those plans
// (rule 19): moving in or out is new business or churn of the segment.
// It does not modify subs, so cached steps can be aggregated again. Sums
// beyond money.MaxSum are a money.ErrOverflow.
func Aggregate(id string, subs []SubscriptionSteps, s Settings) (CustomerResult, error) {
	var ck money.Checked
	res := CustomerResult{ID: id, Subscriptions: make(map[string][]Step, len(subs))}
	extID := make(map[string]string, len(subs))
	for _, sub := range subs {
		res.Subscriptions[sub.ID] = slices.Clone(sub.Steps)
		extID[sub.ID] = sub.ExternalID
	}
	// Smoothing looks at real ends only: a move to a plan outside the
	// filter is not a cancellation, so it comes before the masking.
	smoothConnected(subs, res.Subscriptions)
	if s.Plans != nil {
		for _, sub := range subs {
			st := res.Subscriptions[sub.ID]
			for i := range st {
				if !s.Plans[st[i].Plan] {
					st[i].MRR, st[i].Live, st[i].FX = 0, false, 0
				} else if i > 0 && !s.Plans[st[i-1].Plan] {
					st[i].FX = 0 // entering the segment is all movement
				}
			}
		}
	}

	// Every instant at which any subscription changes.
	var instants []time.Time
	for _, st := range res.Subscriptions {
		for _, p := range st {
			instants = append(instants, p.At)
		}
	}
	slices.SortFunc(instants, func(a, b time.Time) int { return a.Compare(b) })
	instants = slices.CompactFunc(instants, func(a, b time.Time) bool { return a.Equal(b) })

	paid := map[string]bool{} // subscriptions that have had MRR > 0
	prev := Point{}
	everPaid := false
	for _, t := range instants {
		cur := Point{At: t}
		var changed []string
		var causes []string
		for _, sub := range subs {
			st := res.Subscriptions[sub.ID]
			step, ok := mrrAt(st, t)
			if !ok {
				continue
			}
			cur.MRR = ck.Add(cur.MRR, step.MRR)
			if step.MRR > 0 {
				paid[sub.ID] = true
			}
			if step.MRR > 0 || (step.Live && paid[sub.ID]) {
				cur.Active = true
			}
			if step.At.Equal(t) {
				changed = append(changed, extID[sub.ID])
				causes = append(causes, step.Causes...)
				cur.FX = ck.Add(cur.FX, step.FX)
			}
		}
		if cur.MRR == prev.MRR && cur.Active == prev.Active {
			continue
		}
		res.Timeline = append(res.Timeline, cur)
		if m, ok := classify(prev, cur, ck.Sub(ck.Sub(cur.MRR, prev.MRR), cur.FX), everPaid); ok {
			m.At, m.Subscriptions, m.Causes = t, changed, causes
			res.Movements = append(res.Movements, m)
		}
		everPaid = everPaid || cur.MRR > 0
		prev = cur
	}
	if s.ActivityGroupingMinutes > 0 {
		res.Movements = groupActivities(&ck, res.Movements, res.Timeline, time.Duration(s.ActivityGroupingMinutes)*time.Minute)
	}
	if err := ck.Err(); err != nil {
		return CustomerResult{ID: id}, fmt.Errorf("customer %s: %w", id, err)
	}
	return res, nil
}

// classify is metrics.md rule 12 for one instant's net change, delta
// being the change of MRR less exchange-rate revaluation (rule 20).
func classify(before, after Point, delta int64, everPaid bool) (Movement, bool) {
	m := Movement{Amount: delta, MRRAfter: after.MRR}
	switch {
	case delta == 0:
		return m, false // a status change alone (a free customer cancelling) is no movement
	case !before.Active && after.Active:
		m.Type = NewBiz
		if everPaid {
			m.Type = Reactivation
		}
	case before.Active && !after.Active:
		m.Type = Churn
	case delta > 0:
		m.Type = Expansion
	default:
		m.Type = Contraction
	}
	return m, true
}

// groupActivities is rule 13: movements of one customer within the window
// of a group's first are classified together, as one movement dated at
// the first, typed by the customer's state before the first and after the
// last. Totals never change.
func groupActivities(ck *money.Checked, ms []Movement, timeline []Point, window time.Duration) []Movement {
	if len(ms) < 2 {
		return ms
	}
	stateAt := func(t time.Time, before bool) Point {
		var p Point
		for _, q := range timeline {
			if q.At.After(t) || (before && q.At.Equal(t)) {
				break
			}
			p = q
		}
		return p
	}
	var out []Movement
	for i := 0; i < len(ms); {
		j := i + 1
		for j < len(ms) && ms[j].At.Sub(ms[i].At) <= window {
			j++
		}
		if j == i+1 {
			out = append(out, ms[i])
			i = j
			continue
		}
		before, after := stateAt(ms[i].At, true), stateAt(ms[j-1].At, false)
		everPaid := false
		for _, q := range timeline {
			if !q.At.Before(ms[i].At) {
				break
			}
			everPaid = everPaid || q.MRR > 0
		}
		var delta int64
		for _, x := range ms[i:j] {
			delta = ck.Add(delta, x.Amount)
		}
		if m, ok := classify(before, after, delta, everPaid); ok {
			m.At = ms[i].At
			for _, x := range ms[i:j] {
				m.Subscriptions = append(m.Subscriptions, x.Subscriptions...)
				m.Causes = append(m.Causes, x.Causes...)
			}
			out = append(out, m)
		}
		i = j
	}
	return out
}
