// Package recompute connects the store to the metrics engine: it turns a
// customer's stored history into the engine's input, runs the engine, and
// hands back what the store keeps (MRR timeline, activities). It is the
// one place that knows both; the engine stays pure and the store free of
// business rules.
package recompute

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/store"
)

// activityNamespace makes activity UUIDs stable across recomputations:
// the same movement of the same customer keeps its UUID.
var activityNamespace = uuid.MustParse("0f5c3a52-7d1e-4b8a-9f3e-2d6c8b1a4e70")

// Settings are the engine settings of an account.
func Settings(a billing.Account) metrics.Settings {
	return metrics.Settings{Currency: a.Currency, ChurnRecognition: a.ChurnRecognition, ActivityGroupingMinutes: a.ActivityGroupingMinutes}
}

// Input converts a stored history to the engine's input.
func Input(h *store.History) metrics.Customer {
	c := metrics.Customer{ID: h.CustomerUUID}
	for _, s := range h.Subscriptions {
		sub := metrics.Subscription{ID: s.UUID, ExternalID: s.ExternalID, Cancellations: s.Cancellations,
			CancellationCauses: s.CancellationSources}
		if s.Group != 0 {
			sub.Group = strconv.FormatInt(s.Group, 10)
		}
		for _, l := range s.Lines {
			sub.Lines = append(sub.Lines, metrics.Line{ID: l.UUID, InvoiceID: l.InvoiceUUID, Type: l.Type, PlanID: l.PlanUUID,
				Interval: metrics.Interval{Unit: l.IntervalUnit, Count: l.IntervalCount}, Start: l.Start, End: l.End,
				Amount: l.Amount, Tax: l.Tax, Fees: l.Fees, Currency: l.Currency, Prorated: l.Prorated,
				ProrationType: l.ProrationType, EventOrder: l.EventOrder, Seq: l.Seq, RefundDocument: l.RefundDocument})
		}
		c.Subscriptions = append(c.Subscriptions, sub)
	}
	return c
}

// Engine returns the compute function the store calls per customer.
func Engine(settings metrics.Settings, rates metrics.Rates) func(*store.History) (store.Result, error) {
	return func(h *store.History) (store.Result, error) {
		subs, res, err := Compute(h, settings, rates)
		if sr, ok := rates.(*StoreRates); ok && sr.Err() != nil {
			// The rates could not be loaded: not this customer's fault.
			return store.Result{}, fmt.Errorf("%w: load exchange rates: %v", store.ErrUnavailable, sr.Err())
		}
		if err != nil {
			return store.Result{}, err
		}
		lines := map[string]store.HistoryLine{} // by line UUID
		plans := map[string]store.HistoryLine{} // a line of each plan, by plan UUID
		for _, s := range h.Subscriptions {
			for _, l := range s.Lines {
				lines[l.UUID], plans[l.PlanUUID] = l, l
			}
		}
		var out store.Result
		subID := map[string]string{} // external id → ID
		for _, s := range subs {
			if _, ok := subID[s.ExternalID]; !ok {
				subID[s.ExternalID] = s.ID
			}
		}
		for _, sub := range subs {
			for _, st := range sub.Steps {
				out.Steps = append(out.Steps, store.ResultStep{SubscriptionUUID: sub.ID, ExternalID: sub.ExternalID, Group: sub.Group,
					At: st.At, MRR: st.MRR, Live: st.Live, Plan: st.Plan, FX: st.FX})
			}
		}
		for _, p := range res.Timeline {
			out.Points = append(out.Points, store.ResultPoint{At: p.At, MRR: p.MRR, Active: p.Active, FX: p.FX})
		}
		for _, m := range res.Movements {
			// The plan the engine put the first changed subscription on at
			// that instant (a prorated switch: the plan charged; a
			// cancellation: the plan it was on), the one a plans filter
			// counts the movement under.
			var plan store.HistoryLine
			if len(m.Subscriptions) > 0 {
				plan = plans[metrics.StepAt(res.Subscriptions[subID[m.Subscriptions[0]]], m.At).Plan]
			}
			id := uuid.NewSHA1(activityNamespace, fmt.Appendf(nil, "%s|%d|%s", h.CustomerUUID, m.At.UnixMilli(), m.Type))
			out.Activities = append(out.Activities, store.ResultActivity{UUID: id.String(), At: m.At, Type: m.Type, Amount: m.Amount,
				MRRAfter: m.MRRAfter, SubscriptionExternalIDs: m.Subscriptions, PlanExternalID: plan.PlanExternalID,
				PlanName: plan.PlanName, Sources: sources(m.Causes, lines)})
		}
		return out, nil
	}
}

// Compute runs the engine on one customer's history: its subscriptions'
// steps and the customer's aggregate. The engine refuses what it cannot
// compute with an error; should a history it was never shown still make
// it panic, that is an error too, so that the customer fails alone, like
// any other refusal, and the caller goes on.
func Compute(h *store.History, settings metrics.Settings, rates metrics.Rates) (subs []metrics.SubscriptionSteps, res metrics.CustomerResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			subs, res, err = nil, metrics.CustomerResult{}, fmt.Errorf("the metrics engine failed on this history: %v", p)
		}
	}()
	if subs, err = metrics.Steps(Input(h), settings, rates); err != nil {
		return nil, res, err
	}
	res, err = metrics.Aggregate(h.CustomerUUID, subs, settings)
	return subs, res, err
}

// Dirty recomputes the customers of the account that which selects. A
// customer the engine refuses is recorded as failed and the others go on
// (the report lists the failures); the error is a database failure only.
// The account's settings are read by each batch, as they are then.
func Dirty(ctx context.Context, s *store.Store, acct int64, which store.Pending, rates metrics.Rates) (store.RecomputeReport, error) {
	return DirtyKnown(ctx, s, acct, which, rates, nil)
}

// DirtyKnown is Dirty that takes the histories known holds (a bulk
// import's, as it wrote them) instead of reading them back.
func DirtyKnown(ctx context.Context, s *store.Store, acct int64, which store.Pending, rates metrics.Rates, known store.KnownSet) (store.RecomputeReport, error) {
	if err := s.MarkFlagged(ctx, acct); err != nil { // a settings change's customers
		return store.RecomputeReport{}, err
	}
	return s.RecomputeDirtyKnown(ctx, acct, which, time.Now(), func(a billing.Account) store.Compute {
		return Engine(Settings(a), rates)
	}, known)
}

// All recomputes every customer of the account (`tally recompute`, a
// settings change).
func All(ctx context.Context, s *store.Store, acct int64, rates metrics.Rates) (store.RecomputeReport, error) {
	if err := s.MarkAllDirty(ctx, acct); err != nil {
		return store.RecomputeReport{}, err
	}
	return Dirty(ctx, s, acct, store.PendingAll, rates)
}

// Pending recomputes, in every account, the marked customers that which
// selects: at start-up every one (what a crash left between a write's
// commit and its recomputation), then in the background the ones a failed
// request left and the failed ones whose retry is due. It goes on past an
// account that fails and returns the first error with the reports.
func Pending(ctx context.Context, s *store.Store, which store.Pending) (map[string]store.RecomputeReport, error) {
	ids, err := s.DirtyAccounts(ctx, which, time.Now())
	if err != nil {
		return nil, err
	}
	reps := map[string]store.RecomputeReport{}
	var first error
	for _, id := range ids {
		a, err := s.Account(ctx, id) // for its name in the report
		if err == nil {
			// Rates of its own: a failure to load them is not the next
			// account's (the engine abandons a batch on one).
			var rep store.RecomputeReport
			rep, err = Dirty(ctx, s, id, which, NewStoreRates(ctx, s))
			reps[a.Name] = rep
		}
		if err != nil && first == nil {
			first = fmt.Errorf("recompute account %d: %w", id, err)
		}
	}
	return reps, first
}

// StoreRates loads the rates of a currency from the store the first time
// the engine asks for it, so that accounts in one currency never load any.
type StoreRates struct {
	ctx    context.Context
	store  *store.Store
	tables map[string]*money.RateTable
	err    error
}

// NewStoreRates returns rates backed by the store.
func NewStoreRates(ctx context.Context, s *store.Store) *StoreRates {
	return &StoreRates{ctx: ctx, store: s, tables: map[string]*money.RateTable{}}
}

// Rate implements metrics.Rates.
func (r *StoreRates) Rate(from, to string, day time.Time) (*big.Rat, bool) {
	key := from + "/" + to
	t, ok := r.tables[key]
	if !ok {
		var need []string
		for _, c := range []string{from, to} {
			if c != "EUR" {
				need = append(need, c)
			}
		}
		var rates []money.DayRate
		if len(need) > 0 {
			loaded, err := r.store.FXRates(r.ctx, need)
			if err != nil {
				r.err = err
				return nil, false
			}
			for _, l := range loaded {
				v, ok := new(big.Rat).SetString(l.PerEUR)
				if ok {
					rates = append(rates, money.DayRate{Currency: l.Currency, Day: l.Day, PerEUR: v})
				}
			}
		}
		t = money.NewRateTable(rates)
		r.tables[key] = t
	}
	return t.Rate(from, to, day)
}

// Err reports a failure to load rates (as opposed to a rate not known).
func (r *StoreRates) Err() error { return r.err }

// sources turns the engine's causes of a movement into the references the
// Activities API shows and /v1/activities/{uuid}/sources resolves.
func sources(causes []string, lines map[string]store.HistoryLine) []store.Source {
	var out []store.Source
	for _, c := range causes {
		var src store.Source
		if l, ok := lines[c]; ok {
			src = store.Source{Type: "line_item", ID: c, InvoiceUUID: l.InvoiceUUID}
		} else {
			kind, id, _ := strings.Cut(c, ":")
			switch kind {
			case "event":
				src = store.Source{Type: "subscription_event", ID: id}
			case "connection":
				src = store.Source{Type: "connection", ID: id}
			default:
				src = store.Source{Type: "cancellation", ID: id}
			}
		}
		if !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	return out
}
