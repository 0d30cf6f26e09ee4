package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Churn recognition settings (metrics.md rule 10).
const (
	ChurnImmediate   = "immediate"
	ChurnEndOfPeriod = "end_of_period"
)

// Settings are the account settings the engine depends on.
type Settings struct {
	Currency                string // account currency; lines in others are converted
	ChurnRecognition        string // ChurnImmediate (default) or ChurnEndOfPeriod
	ActivityGroupingMinutes int    // metrics.md rule 13; 0 is off
	DeductFees              bool   // rule 1: transaction fees off MRR
	// Plans, when not nil, restricts the view to lines of these plans
	// (rule 19): a subscription on another plan is outside the segment,
	// so moving in or out is new business or churn of the segment.
	Plans map[string]bool
}

// Subscription is one subscription's history.
type Subscription struct {
	ID            string // sub_ UUID
	ExternalID    string
	Lines         []Line
	Cancellations []time.Time
	// CancellationCauses, when set, names each cancellation's source for
	// the movements it causes; otherwise "cancellation:<sub>:<time>".
	CancellationCauses []string
	// Group is the connected group it belongs to ("" for none): connected
	// subscriptions smooth the gap between one ending and the next
	// starting (metrics.md rule via reference §4.8).
	Group string
}

// Customer is one customer's whole history.
type Customer struct {
	ID            string
	Subscriptions []Subscription
}

// Step is a point where a subscription's state changes: from At on, its
// MRR is MRR and it is live (started and not cancelled) or not.
type Step struct {
	At     time.Time
	MRR    int64
	Live   bool
	Plan   string   // the plan the subscription is on from At (PlanID of its latest line)
	Causes []string // what changed it: line ids, cancellation causes, "connection:<group>"
	// FX is the part of the change of MRR at At that only revalues the
	// previous price at a new exchange rate: it moves MRR but is no
	// movement (metrics.md rule 20).
	FX int64
}

// op is one change to a subscription, before replay.
type op struct {
	at     time.Time
	rank   int   // 0 for lines, 1 for cancellations: a cancellation at the same instant comes last
	order  int64 // event_order, or MaxInt64 when none
	seq    int64 // arrival order
	kind   int   // opSet, opAdd, opCancel
	value  int64
	plan   string
	causes []string
	// native is value before conversion, exact, in currency; rate is what
	// converted it (nil when none was needed).
	native   *big.Rat
	currency string
	rate     *big.Rat
}

const (
	opSet = iota
	opAdd
	opCancel
)

// subscriptionSteps replays a subscription's lines and cancellations into
// its MRR steps (metrics.md rules 4–10).
func subscriptionSteps(sub Subscription, s Settings, rates Rates) ([]Step, error) {
	var ck money.Checked // every sum of MRR below (issue 10)
	var ops []op
	// Ordinary lines of one invoice with one start add up, and their sum
	// replaces the MRR (rule 4).
	type key struct {
		invoice string
		start   time.Time
	}
	ordinary := map[key]int{}
	for _, l := range sub.Lines {
		v, err := lineValue(l, s, rates)
		if errors.Is(err, ErrNoMRR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		o := op{at: l.Start, order: math.MaxInt64, seq: l.Seq, value: v.mrr, plan: l.PlanID, causes: []string{l.ID},
			native: v.native, currency: v.currency, rate: v.rate}
		if l.EventOrder != nil {
			o.order = *l.EventOrder
		}
		switch {
		case !l.Prorated:
			k := key{l.InvoiceID, l.Start}
			if i, ok := ordinary[k]; ok {
				ops[i].value = ck.Add(ops[i].value, v.mrr)
				ops[i].native = new(big.Rat).Add(ops[i].native, v.native)
				switch {
				case ops[i].currency != v.currency:
					ops[i].currency, ops[i].rate = mixedCurrencies, nil
				case ops[i].rate == nil:
					ops[i].rate = v.rate // a 0 line converts nothing and names no rate
				}
				ops[i].causes = append(ops[i].causes, l.ID)
				ops[i].order, ops[i].seq = min(ops[i].order, o.order), min(ops[i].seq, o.seq)
				continue
			}
			o.kind = opSet
			ordinary[k] = len(ops)
		case l.ProrationType == ProrationFull:
			o.kind = opSet
		default: // differential (the default) and differential_mrr add
			o.kind = opAdd
		}
		ops = append(ops, o)
	}
cancellations:
	for ci, c := range sub.Cancellations {
		at := c
		if s.ChurnRecognition == ChurnEndOfPeriod {
			// rule 10: not before the end of the last billed service period.
			for _, l := range sub.Lines {
				if l.Type != LineOneTime && !l.Start.After(c) && l.End.After(at) {
					at = l.End
				}
			}
			// rule 9: a line starting after the cancellation brings the
			// subscription back; if it starts before the churn would be
			// recognised, the subscription never stopped.
			for _, l := range sub.Lines {
				if l.Type != LineOneTime && !l.RefundDocument && l.Start.After(c) && !l.Start.After(at) {
					continue cancellations
				}
			}
		}
		cause := "cancellation:" + sub.ID + ":" + c.UTC().Format(time.RFC3339)
		if ci < len(sub.CancellationCauses) {
			cause = sub.CancellationCauses[ci]
		}
		ops = append(ops, op{at: at, rank: 1, kind: opCancel, causes: []string{cause}})
	}
	slices.SortStableFunc(ops, func(a, b op) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.rank, b.rank), cmp.Compare(a.order, b.order), cmp.Compare(a.seq, b.seq))
	})
	var steps []Step
	mrr, live, plan := int64(0), false, ""
	native, currency := new(big.Rat), "" // the MRR before conversion
	for i := 0; i < len(ops); {
		at := ops[i].at
		var causes []string
		var fx int64
		for ; i < len(ops) && ops[i].at.Equal(at); i++ {
			o := ops[i]
			switch o.kind {
			case opSet:
				fx = ck.Add(fx, revaluation(&ck, mrr, native, currency, o))
				mrr, live, plan = o.value, true, o.plan
				native, currency = o.native, o.currency
			case opAdd:
				mrr, live = ck.Add(mrr, o.value), true
				if o.value > 0 || plan == "" {
					plan = o.plan // a prorated switch: the plan charged, not the one credited
				}
				native = new(big.Rat).Add(native, o.native)
				if currency == "" {
					currency = o.currency
				} else if currency != o.currency {
					currency = mixedCurrencies
				}
			case opCancel:
				mrr, live = 0, false
				native, currency = new(big.Rat), ""
			}
			causes = append(causes, o.causes...)
		}
		if n := len(steps); n > 0 && steps[n-1].MRR == mrr && steps[n-1].Live == live && steps[n-1].Plan == plan {
			continue // nothing changed: e.g. a renewal at the same price (rule 12)
		}
		if len(steps) == 0 && mrr == 0 && !live {
			continue // a cancellation before any line
		}
		steps = append(steps, Step{At: at, MRR: mrr, Live: live, Plan: plan, Causes: causes, FX: fx})
	}
	if err := ck.Err(); err != nil {
		return nil, fmt.Errorf("subscription %s: %w", sub.ID, err)
	}
	return steps, nil
}

// mixedCurrencies marks a subscription whose MRR mixes currencies: it is
// never revalued.
const mixedCurrencies = "*"

// revaluation is the part of replacing the MRR (mrr, worth native in
// currency before conversion) by set's that is only the old price at set's
// exchange rate (metrics.md rule 20). A renewal at an unchanged foreign
// price is all revaluation; a price change is a movement at the new rate.
func revaluation(ck *money.Checked, mrr int64, native *big.Rat, currency string, set op) int64 {
	if set.rate == nil || currency != set.currency || native.Sign() == 0 {
		return 0
	}
	if native.Cmp(set.native) == 0 {
		return ck.Sub(set.value, mrr)
	}
	return ck.Sub(roundHalfAway(ck, new(big.Rat).Mul(native, set.rate)), mrr)
}
