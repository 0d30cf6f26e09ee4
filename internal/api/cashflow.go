package api

import (
	"errors"
	"net/http"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/recompute"
)

// cashFlowKeys are the fields of a cash-flow entry (metrics.md rule 21).
var cashFlowKeys = []string{"gross-cash-flow", "net-cash-flow", "non-recurring-cash-flow", "refunds",
	"failed-charges", "failed-transactions", "successful-payments"}

func cashFlowValue(e metrics.CashEntry, key string) int64 {
	switch key {
	case "gross-cash-flow":
		return e.Gross
	case "net-cash-flow":
		return e.Net()
	case "non-recurring-cash-flow":
		return e.NonRecurring
	case "refunds":
		return e.Refunds
	case "failed-charges":
		return e.FailedCharges
	case "failed-transactions":
		return e.FailedTransactions
	case "successful-payments":
		return e.SuccessfulPayments
	}
	return 0
}

// getCashFlow serves GET /v1/metrics/cash-flow, Tally's own endpoint with
// the Metrics API's parameters, entry dating (rule 15) and a summary: the
// flows of the interval up to as-of against the interval before it, as
// for ASP (rule 18).
func (a *API) getCashFlow(w http.ResponseWriter, r *http.Request) error {
	sq, err := a.parseSeries(r)
	if err != nil {
		return err
	}
	acct := account(r)
	f := metrics.CashFilter{Currency: acct.Currency, Plans: sq.plans, Geo: sq.geo}
	rates := recompute.NewStoreRates(r.Context(), a.store)

	// Every transaction of the account, from the cache; the engine takes
	// those of the range, and of the summary's windows (back, as-of] and
	// (back2, back].
	txs, err := a.results.cashTransactions(r.Context(), a.store, acct.ID)
	if err != nil {
		return err
	}
	entries, err := metrics.CashFlow(txs, sq.req, f, rates)
	if err != nil {
		var missing *metrics.MissingRateError
		if !errors.As(err, &missing) && rates.Err() == nil {
			return errBadRequest(err.Error(), "interval") // too many entries
		}
		return rateError(rates, err)
	}
	back := metrics.Back(sq.asOf, sq.req.Interval)
	back2 := metrics.Back(back, sq.req.Interval)
	cur, err := metrics.CashFlowBetween(txs, back, sq.asOf, f, rates)
	if err != nil {
		return rateError(rates, err)
	}
	prev, err := metrics.CashFlowBetween(txs, back2, back, f, rates)
	if err != nil {
		return rateError(rates, err)
	}

	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		m := map[string]any{"date": e.Date.Format("2006-01-02")}
		for _, k := range cashFlowKeys {
			m[k] = cashFlowValue(e, k)
		}
		out[i] = m
	}
	summary := map[string]any{}
	for _, k := range cashFlowKeys {
		c, p := cashFlowValue(cur, k), cashFlowValue(prev, k)
		summary["current-"+k], summary["previous-"+k] = c, p
		summary[k+"-percentage-change"] = metrics.PercentChange(float64(p), float64(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "summary": summary})
	return nil
}
