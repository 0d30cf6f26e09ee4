package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Scheduled change kinds (subscription events, metrics-reference.md §4.7).
const (
	ScheduledStart  = "start"
	ScheduledUpdate = "update"
	ScheduledCancel = "cancel"
)

// ScheduledChange is a scheduled subscription event not yet realised by an
// invoice and not retracted: a committed change of MRR (issue 6, CMRR).
type ScheduledChange struct {
	ID           string // the event id, the cause of the movements it makes
	Subscription string // the subscription's ID, or a key of its own for one not invoiced yet
	ExternalID   string
	Kind         string
	At           time.Time // effective date
	// Line prices a start or an update as an ordinary line of its plan
	// (rules 1–3): Amount, Tax, Currency, Interval, PlanID; its Start is
	// the day whose exchange rate converts it.
	Line Line
}

// Committed overlays a customer's subscriptions with its scheduled
// changes: from each change's effective date the subscription is at the
// scheduled price (or cancelled), as if it had been invoiced. The result
// aggregates like any other steps; its movements caused by the changes
// are the scheduled movements.
func Committed(subs []SubscriptionSteps, changes []ScheduledChange, s Settings, rates Rates) ([]SubscriptionSteps, error) {
	out := make([]SubscriptionSteps, 0, len(subs))
	index := map[string]int{}
	for _, sub := range subs {
		index[sub.ID] = len(out)
		out = append(out, SubscriptionSteps{ID: sub.ID, ExternalID: sub.ExternalID, Group: sub.Group, Steps: slices.Clone(sub.Steps)})
	}
	changes = slices.Clone(changes)
	slices.SortFunc(changes, func(a, b ScheduledChange) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	for _, c := range changes {
		i, ok := index[c.Subscription]
		if !ok {
			i = len(out)
			index[c.Subscription] = i
			out = append(out, SubscriptionSteps{ID: c.Subscription, ExternalID: c.ExternalID})
		}
		st := out[i].Steps
		var prev Step
		if n := len(st); n > 0 {
			prev = st[n-1]
		}
		next := Step{At: c.At, Plan: prev.Plan, Causes: []string{"event:" + c.ID}}
		switch c.Kind {
		case ScheduledStart, ScheduledUpdate:
			l := c.Line
			l.Type, l.Prorated = LineSubscription, false
			v, err := lineMRR(l, s, rates)
			if err != nil && !errors.Is(err, ErrNoMRR) {
				return nil, fmt.Errorf("scheduled event %s: %w", c.ID, err)
			}
			next.MRR, next.Live = v, true
			if l.PlanID != "" {
				next.Plan = l.PlanID
			}
		case ScheduledCancel:
			if !prev.Live {
				continue // nothing to cancel
			}
		default:
			return nil, fmt.Errorf("scheduled event %s: unknown kind %q", c.ID, c.Kind)
		}
		st = append(st, next)
		// A change scheduled before a step the invoices already hold still
		// applies from its date; later steps come after it.
		slices.SortStableFunc(st, func(a, b Step) int { return a.At.Compare(b.At) })
		out[i].Steps = st
	}
	return out, nil
}
