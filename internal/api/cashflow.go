package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/recompute"
)

// cashFlowFields are the fields of a cash-flow entry (metrics.md rule 21).
var cashFlowFields = []field[metrics.CashEntry]{
	{"gross-cash-flow", func(e metrics.CashEntry) float64 { return float64(e.Gross) }},
	{"net-cash-flow", func(e metrics.CashEntry) float64 { return float64(e.Net()) }},
	{"non-recurring-cash-flow", func(e metrics.CashEntry) float64 { return float64(e.NonRecurring) }},
	{"refunds", func(e metrics.CashEntry) float64 { return float64(e.Refunds) }},
	{"failed-charges", func(e metrics.CashEntry) float64 { return float64(e.FailedCharges) }},
	{"failed-transactions", func(e metrics.CashEntry) float64 { return float64(e.FailedTransactions) }},
	{"successful-payments", func(e metrics.CashEntry) float64 { return float64(e.SuccessfulPayments) }},
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
	f := metrics.CashFilter{Currency: acct.Currency, Plans: sq.sel.plans, Geo: sq.sel.geo}
	rates := recompute.NewStoreRates(r.Context(), a.store)

	// The account's cash book, from the cache, valued at today's rates
	// over the range and the summary's windows (back, as-of] and
	// (back2, back].
	back := metrics.Back(sq.asOf, sq.req.Interval)
	back2 := metrics.Back(back, sq.req.Interval)
	book, err := a.results.cashBook(r.Context(), a.store, acct.ID, f.Currency, rates, sq.req, back2, sq.asOf)
	if err != nil {
		return err
	}
	flow, between := book.Flow, book.Between
	if sq.sel.filter != nil {
		// A CFL filter selects customers, which the book's sums do not
		// keep apart: the selection's transactions are summed one by one,
		// through its plan view.
		sel, err := a.selectFor(r, sq.sel)
		if err != nil {
			return err
		}
		txs := a.results.cashTransactions(acct.ID, sel.customerIDs())
		f = metrics.CashFilter{Currency: acct.Currency, Plans: sq.sel.view()}
		flow = func(req metrics.SeriesRequest, f metrics.CashFilter, rates metrics.Rates) ([]metrics.CashEntry, error) {
			return metrics.CashFlow(txs, req, f, rates)
		}
		between = func(from, to time.Time, f metrics.CashFilter, rates metrics.Rates) (metrics.CashEntry, error) {
			return metrics.CashFlowBetween(txs, from, to, f, rates)
		}
	}
	entries, err := flow(sq.req, f, rates)
	if err != nil {
		var missing *metrics.MissingRateError
		if !errors.As(err, &missing) && !errors.Is(err, money.ErrOverflow) && rates.Err() == nil {
			return errBadRequest(err.Error(), "interval") // too many entries
		}
		return rateError(rates, err)
	}
	cur, err := between(back, sq.asOf, f, rates)
	if err != nil {
		return rateError(rates, err)
	}
	prev, err := between(back2, back, f, rates)
	if err != nil {
		return rateError(rates, err)
	}

	out := entryMaps(entries, func(e metrics.CashEntry) time.Time { return e.Date }, cashFlowFields)
	return respond(w, r, "cash-flow", map[string]any{"entries": out, "summary": summaryMap(cashFlowFields, cur, prev)},
		out, fieldColumns(cashFlowFields))
}
