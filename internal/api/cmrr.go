package api

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

var scheduledKinds = map[string]string{
	"subscription_start_scheduled":        metrics.ScheduledStart,
	"subscription_update_scheduled":       metrics.ScheduledUpdate,
	"subscription_cancellation_scheduled": metrics.ScheduledCancel,
}

// scheduledChange is a stored scheduled event as the engine takes it: a
// start or update priced as a line of its plan (monthly when it names
// none), converted at the rate of the day it was decided (the effective
// day's rate is not known yet), in its currency or the account's.
func scheduledChange(e store.ScheduledEvent, accountCurrency string) metrics.ScheduledChange {
	key := e.SubscriptionUUID
	if key == "" {
		key = fmt.Sprintf("scheduled:%d/%s", e.DataSourceID, e.SubscriptionExternalID)
	}
	iv := metrics.Interval{Unit: e.IntervalUnit, Count: e.IntervalCount}
	if iv.Unit == "" {
		iv = metrics.Interval{Unit: "month", Count: 1}
	}
	currency := e.Currency
	if currency == "" {
		currency = accountCurrency
	}
	return metrics.ScheduledChange{ID: strconv.FormatInt(e.ID, 10), Subscription: key, ExternalID: e.SubscriptionExternalID,
		Kind: scheduledKinds[e.EventType], At: e.Effective,
		Line: metrics.Line{ID: "event:" + strconv.FormatInt(e.ID, 10), Amount: e.Amount, Tax: e.Tax, Currency: currency,
			Interval: iv, PlanID: e.PlanUUID, Start: e.EventDate, End: e.Effective}}
}

// getCMRR serves GET /v1/metrics/cmrr (Tally's own): committed MRR, the
// MRR the account is committed to on each date once its scheduled
// subscription events take effect, beside the invoiced MRR, with the
// scheduled movements that make up the difference.
func (a *API) getCMRR(w http.ResponseWriter, r *http.Request) error {
	sq, err := a.parseSeries(r)
	if err != nil {
		return err
	}
	acct := account(r)
	sel, err := a.selectFor(r, sq.sel)
	if err != nil {
		return err
	}
	events, err := a.store.ScheduledEvents(r.Context(), acct.ID)
	if err != nil {
		return err
	}
	byCustomer := map[int64][]metrics.ScheduledChange{}
	uuids := map[int64]string{}
	for _, e := range events {
		byCustomer[e.CustomerID] = append(byCustomer[e.CustomerID], scheduledChange(e, acct.Currency))
		uuids[e.CustomerID] = e.CustomerUUID
	}
	from, to, err := sq.req.Bounds()
	if err != nil {
		return errBadRequest(err.Error(), "interval")
	}
	settings := recompute.Settings(acct)
	settings.Plans = sq.sel.view()
	rates := recompute.NewStoreRates(r.Context(), a.store)
	committed := map[int64]metrics.History{}
	scheduledOnly := map[int64]metrics.History{}
	var scheduled []map[string]any
	for _, c := range sel.cs {
		changes := byCustomer[c.id]
		// A plans view alone looks at every customer through its plans
		// (one moving onto them is new business of the segment); other
		// conditions select customers as they are now.
		if len(changes) == 0 || (sq.sel.geo != nil && !sq.sel.geo[c.country]) ||
			(sq.sel.filter != nil && !sel.selects(c.id)) {
			continue
		}
		subs, err := metrics.Committed(c.subs, changes, settings, rates)
		if err != nil {
			return rateError(rates, err)
		}
		res, err := metrics.Aggregate("", subs, settings)
		if err != nil {
			return err
		}
		committed[c.id] = metrics.History{Timeline: res.Timeline, Movements: res.Movements}
		var own []metrics.Movement
		for _, m := range res.Movements {
			var ids []string
			for _, cause := range m.Causes {
				if id, ok := strings.CutPrefix(cause, "event:"); ok {
					ids = append(ids, a.publicIDText(id))
				}
			}
			if len(ids) == 0 {
				continue
			}
			own = append(own, m)
			if !m.At.Before(from) && m.At.Before(to) { // the entries' days, in the account zone

				scheduled = append(scheduled, map[string]any{"date": metricsTime(m.At, acct), "customer-uuid": uuids[c.id],
					"type": m.Type, "amount": m.Amount, "mrr-after": m.MRRAfter, "subscription-external-ids": m.Subscriptions,
					"subscription-event-ids": ids})
			}
		}
		scheduledOnly[c.id] = metrics.History{Movements: own}
	}
	actual, err := metrics.SeriesOf(sq.req, sel.parts()...)
	if err != nil {
		return errBadRequest(err.Error(), "interval")
	}
	// Committed MRR is the invoiced MRR with the customers that have
	// scheduled events counted as committed instead. MRR adds up over
	// customers, so only theirs are drawn twice, not the whole book
	// merged again: a book of 100,000 customers took 100 ms to copy.
	// Their invoiced histories as the segment has them: as stored when
	// kept whole, aggregated again when a plans filter splits them,
	// nothing when outside it.
	invoicedOnly := make(map[int64]metrics.History, len(committed))
	for _, c := range sel.cs {
		if _, ok := committed[c.id]; ok {
			if h, ok := sel.history(c); ok {
				invoicedOnly[c.id] = h
			}
		}
	}
	committedSeries, _ := metrics.NewBook(committed).Series(sq.req)
	invoicedSeries, _ := metrics.NewBook(invoicedOnly).Series(sq.req)
	withScheduled := make([]int64, len(actual))
	for i := range actual {
		withScheduled[i] = actual[i].MRR + committedSeries[i].MRR - invoicedSeries[i].MRR
	}
	flows, _ := metrics.NewBook(scheduledOnly).Series(sq.req)
	out := make([]map[string]any, len(actual))
	for i := range actual {
		f := flows[i]
		out[i] = map[string]any{"date": actual[i].Date.Format("2006-01-02"), "cmrr": withScheduled[i], "mrr": actual[i].MRR,
			"scheduled-new-business": f.NewBiz, "scheduled-expansion": f.Expansion, "scheduled-contraction": f.Contraction,
			"scheduled-churn": f.Churn, "scheduled-reactivation": f.Reactivation}
	}
	last := withScheduled[len(withScheduled)-1]
	lastMRR := actual[len(actual)-1].MRR
	if scheduled == nil {
		scheduled = []map[string]any{}
	}
	// In date order, whatever order the cache held the customers in (it
	// is a map): the same book always answers the same bytes.
	slices.SortStableFunc(scheduled, func(x, y map[string]any) int {
		return cmp.Or(cmp.Compare(x["date"].(string), y["date"].(string)),
			cmp.Compare(x["customer-uuid"].(string), y["customer-uuid"].(string)),
			cmp.Compare(fmt.Sprint(x["subscription-event-ids"]), fmt.Sprint(y["subscription-event-ids"])))
	})
	return respond(w, r, "cmrr", map[string]any{"entries": out, "scheduled": scheduled,
		"summary": map[string]any{"current-cmrr": last, "current-mrr": lastMRR,
			"committed-change": last - lastMRR}}, out, cmrrColumns)
}
