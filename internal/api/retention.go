package api

import (
	"net/http"

	"github.com/tally-analytics/tally/internal/metrics"
)

// retentionKeys are the fields of a retention entry, in the order of
// docs/retention.md.
var retentionKeys = []string{"gross-mrr-churn-rate", "net-mrr-retention", "gross-mrr-retention", "customer-retention",
	"net-mrr-retention-t12m", "gross-mrr-retention-t12m", "customer-retention-t12m"}

func retentionValue(e metrics.RetentionEntry, key string) float64 {
	switch key {
	case "gross-mrr-churn-rate":
		return e.GrossMRRChurnRate
	case "net-mrr-retention":
		return e.NetMRRRetention
	case "gross-mrr-retention":
		return e.GrossMRRRetention
	case "customer-retention":
		return e.CustomerRetention
	case "net-mrr-retention-t12m":
		return e.NetMRRRetentionT12M
	case "gross-mrr-retention-t12m":
		return e.GrossMRRRetentionT12M
	}
	return e.CustomerRetentionT12M
}

// getRetention serves GET /v1/metrics/retention (Tally's own): churn and
// retention rates with the Metrics API's parameters; the summary, as for
// the churn rates, compares the last two entries.
func (a *API) getRetention(w http.ResponseWriter, r *http.Request) error {
	sq, err := a.parseSeries(r)
	if err != nil {
		return err
	}
	seg, err := a.segment(r, sq)
	if err != nil {
		return err
	}
	entries, err := metrics.Retention(seg.histories(), sq.req)
	if err != nil {
		return errBadRequest(err.Error(), "interval")
	}
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		m := map[string]any{"date": e.Date.Format("2006-01-02")}
		for _, k := range retentionKeys {
			m[k] = retentionValue(e, k)
		}
		out[i] = m
	}
	last, prev := entries[len(entries)-1], metrics.RetentionEntry{}
	if n := len(entries); n > 1 {
		prev = entries[n-2]
	}
	summary := map[string]any{}
	for _, k := range retentionKeys {
		cur, before := retentionValue(last, k), retentionValue(prev, k)
		summary["current-"+k], summary["previous-"+k] = cur, before
		summary[k+"-percentage-change"] = metrics.PercentChange(before, cur)
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "summary": summary})
	return nil
}
