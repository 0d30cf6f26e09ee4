package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// customerMetricSubscriptions is the Metrics API's view of a customer's
// subscriptions (api-reference.md §2.12.2): each with its MRR now, and
// connected subscriptions shown as one, the most recent.
func (a *API) customerMetricSubscriptions(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	acct := account(r)
	h, err := a.store.CustomerHistory(r.Context(), acct.ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	res, err := metrics.Compute(recompute.Input(h), recompute.Settings(acct), recompute.NewStoreRates(r.Context(), a.store))
	if err != nil {
		return err
	}
	now := time.Now()
	// Of each connected group only the member that started last is shown.
	shown := map[int64]*store.HistorySubscription{}
	var subs []*store.HistorySubscription
	for _, s := range h.Subscriptions {
		if len(s.Lines) == 0 {
			continue
		}
		if s.Group == 0 {
			subs = append(subs, s)
			continue
		}
		if cur, ok := shown[s.Group]; !ok || firstStart(s).After(firstStart(cur)) {
			shown[s.Group] = s
		}
	}
	for _, s := range h.Subscriptions {
		if s.Group != 0 && shown[s.Group] == s {
			subs = append(subs, s)
		}
	}
	var entries []map[string]any
	for _, s := range subs {
		// A connected group counts every member: the MRR in force now and
		// whether any of them is live.
		var mrr int64
		live := false
		for _, o := range h.Subscriptions {
			if o == s || (s.Group != 0 && o.Group == s.Group) {
				st := metrics.StepAt(res.Subscriptions[o.UUID], now)
				mrr += st.MRR
				live = live || st.Live
			}
		}
		last := s.Lines[0]
		for _, l := range s.Lines {
			if !l.Start.After(now) && !l.Start.Before(last.Start) {
				last = l
			}
		}
		status := "inactive"
		if live {
			status = "active"
		}
		entries = append(entries, map[string]any{
			"id": a.publicRowID(s.ID), "uuid": strings.TrimPrefix(s.UUID, "sub_"), "external_id": s.ExternalID,
			"subscription_set_external_id": nil, "quantity": last.Quantity, "mrr": mrr, "arr": 12 * mrr, "status": status,
			"plan": last.PlanName, "billing-cycle": last.IntervalUnit, "billing-cycle-count": last.IntervalCount,
			"start-date": metricsTime(firstStart(s), acct), "end-date": metricsTime(last.End, acct),
			"currency": acct.Currency, "currency-sign": currencySign(acct.Currency),
		})
	}
	// Page through the list (ordered by subscription id).
	from := pr.page.Offset
	if pr.page.AfterID > 0 {
		from = int(pr.page.AfterID)
	}
	from = min(from, len(entries))
	to := min(from+pr.perPage, len(entries))
	m := map[string]any{"entries": nonNil(entries[from:to]), "has_more": to < len(entries), "per_page": pr.perPage, "page": pr.number, "cursor": nil}
	if to < len(entries) {
		m["cursor"] = encodeCursor(pr.ids, pr.number+1, int64(to))
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func nonNil(s []map[string]any) []map[string]any {
	if s == nil {
		return []map[string]any{}
	}
	return s
}

func firstStart(s *store.HistorySubscription) time.Time {
	first := s.Lines[0].Start
	for _, l := range s.Lines {
		if l.Start.Before(first) {
			first = l.Start
		}
	}
	return first
}
