package api

import (
	"net/http"
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/recompute"
)

// reconcile serves GET /v1/customers/{uuid}/reconciliation?date=… (Tally's
// own): the customer's MRR at an instant three ways — the sum of its
// subscriptions' MRR, the running sum of its movements (and exchange-rate
// revaluations), and what the stored results say — recomputed from the
// billing data on the spot, so a disagreement would show.
func (a *API) reconcile(w http.ResponseWriter, r *http.Request) error {
	acct := account(r)
	cus, err := a.store.Customer(r.Context(), acct.ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	at := time.Now()
	if v := query(r.URL.Query(), "date"); v != "" {
		t, err := parseBound(v, accountLocation(acct), true)
		if err != nil {
			return errBadRequest("date must be a date or time.", "date")
		}
		if len(v) == len("2006-01-02") {
			t = t.Add(-time.Millisecond) // the last instant of that day
		}
		at = t
	}
	h, err := a.store.CustomerHistory(r.Context(), acct.ID, cus.UUID)
	if err != nil {
		return err
	}
	state, err := a.store.CustomerRecomputeState(r.Context(), acct.ID, cus.ID)
	if err != nil {
		return err
	}
	recomputation := map[string]any{"pending": state.Pending, "attempts": state.Attempts, "error": nil,
		"failed_at": nil, "retry_at": nil}
	if state.Error != "" {
		recomputation["error"] = state.Error
	}
	if state.FailedAt != nil {
		recomputation["failed_at"] = metricsTime(*state.FailedAt, acct)
	}
	if state.RetryAt != nil {
		recomputation["retry_at"] = metricsTime(*state.RetryAt, acct)
	}
	rates := recompute.NewStoreRates(r.Context(), a.store)
	subs, res, err := recompute.Compute(h, recompute.Settings(acct), rates)
	if rerr := rates.Err(); rerr != nil {
		return rerr
	}
	if err != nil {
		// The engine refuses this history: say so, beside what is stored,
		// rather than fail the one request meant to show what is wrong.
		recomputation["error"] = err.Error()
		writeJSON(w, http.StatusOK, map[string]any{
			"customer_uuid": cus.UUID, "date": metricsTime(at, acct), "currency": acct.Currency,
			"recomputation": recomputation, "consistent": false,
		})
		return nil
	}

	var subsMRR int64
	subsOut := []map[string]any{}
	for _, s := range subs {
		mrr := metrics.StepAt(res.Subscriptions[s.ID], at).MRR // as aggregated: connected gaps smoothed
		subsMRR += mrr
		subsOut = append(subsOut, map[string]any{"uuid": s.ID, "external_id": s.ExternalID, "mrr": mrr})
	}
	var mrr, fx, moved int64
	byType := map[string]int64{}
	for _, p := range res.Timeline {
		if p.At.After(at) {
			break
		}
		mrr, fx = p.MRR, fx+p.FX
	}
	for _, m := range res.Movements {
		if m.At.After(at) {
			break
		}
		moved += m.Amount
		byType[m.Type] += m.Amount
	}
	stored, _, err := a.results.customers(r.Context(), a.store, acct.ID)
	if err != nil {
		return err
	}
	var storedMRR, storedMoved int64
	for _, c := range stored {
		if c.id != cus.ID {
			continue
		}
		for _, p := range c.history.Timeline {
			if !p.At.After(at) {
				storedMRR = p.MRR
			}
		}
		for _, m := range c.history.Movements {
			if !m.At.After(at) {
				storedMoved += m.Amount
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"customer_uuid": cus.UUID, "date": metricsTime(at, acct), "currency": acct.Currency,
		"mrr":               mrr,
		"subscriptions":     subsOut,
		"subscriptions-mrr": subsMRR,
		"movements":         byType,
		"movements-mrr":     moved,
		"fx-revaluation":    fx,
		"stored-mrr":        storedMRR,
		"stored-movements":  storedMoved,
		"recomputation":     recomputation,
		"consistent": mrr == subsMRR && mrr == moved+fx && mrr == storedMRR && moved == storedMoved &&
			!state.Pending,
	})
	return nil
}
