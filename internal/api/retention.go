package api

import (
	"net/http"
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
)

// retentionFields are the fields of a retention entry, in the order of
// docs/retention.md.
var retentionFields = []field[metrics.RetentionEntry]{
	{"gross-mrr-churn-rate", func(e metrics.RetentionEntry) float64 { return e.GrossMRRChurnRate }},
	{"net-mrr-retention", func(e metrics.RetentionEntry) float64 { return e.NetMRRRetention }},
	{"gross-mrr-retention", func(e metrics.RetentionEntry) float64 { return e.GrossMRRRetention }},
	{"customer-retention", func(e metrics.RetentionEntry) float64 { return e.CustomerRetention }},
	{"net-mrr-retention-t12m", func(e metrics.RetentionEntry) float64 { return e.NetMRRRetentionT12M }},
	{"gross-mrr-retention-t12m", func(e metrics.RetentionEntry) float64 { return e.GrossMRRRetentionT12M }},
	{"customer-retention-t12m", func(e metrics.RetentionEntry) float64 { return e.CustomerRetentionT12M }},
}

// getRetention serves GET /v1/metrics/retention (Tally's own): churn and
// retention rates with the Metrics API's parameters; the summary, as for
// the churn rates, compares the last two entries.
func (a *API) getRetention(w http.ResponseWriter, r *http.Request) error {
	sq, err := a.parseSeries(r)
	if err != nil {
		return err
	}
	var entries []metrics.RetentionEntry
	if sq.sel.filter == nil && sq.sel.plans == nil {
		// Unfiltered or by country: from the account's cohorts.
		co, err := a.results.cohorts(r.Context(), a.store, account(r).ID, sq.req)
		if err != nil {
			return err
		}
		entries, _, err = co.Retention(sq.req, sq.sel.geo)
		if err != nil {
			return errBadRequest(err.Error(), "interval")
		}
	} else {
		sel, err := a.selectFor(r, sq.sel)
		if err != nil {
			return err
		}
		if entries, err = metrics.Retention(sel.histories(), sq.req); err != nil {
			return errBadRequest(err.Error(), "interval")
		}
	}
	last, prev := entries[len(entries)-1], metrics.RetentionEntry{}
	if n := len(entries); n > 1 {
		prev = entries[n-2]
	}
	out := entryMaps(entries, func(e metrics.RetentionEntry) time.Time { return e.Date }, retentionFields)
	return respond(w, r, "retention", map[string]any{"entries": out, "summary": summaryMap(retentionFields, last, prev)},
		out, fieldColumns(retentionFields))
}
