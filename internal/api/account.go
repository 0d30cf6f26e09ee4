package api

import (
	"net/http"
	"strings"
)

func (a *API) ping(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"data": "pong!"})
	return nil
}

// accountIncludes are the extra settings GET /v1/account?include= may add.
var accountIncludes = map[string]bool{
	"churn_recognition": true, "churn_when_zero_mrr": true, "auto_churn_subscription": true,
	"refund_handling": true, "proximate_movement_reclassification": true,
}

func (a *API) getAccount(w http.ResponseWriter, r *http.Request) error {
	acct := account(r)
	body := map[string]any{
		"id": acct.UUID, "name": acct.Name, "currency": acct.Currency,
		"time_zone": acct.TimeZone, "week_start_on": acct.WeekStartOn,
	}
	if inc := r.URL.Query().Get("include"); inc != "" {
		for _, f := range strings.Split(inc, ",") {
			f = strings.TrimSpace(f)
			if !accountIncludes[f] {
				return errBadRequest("Unknown include field "+f+".", "include")
			}
			switch f {
			case "churn_recognition":
				body[f] = acct.ChurnRecognition
			case "churn_when_zero_mrr":
				// metrics.md rule 11: a paying customer on a $0 line stays active.
				body[f] = "ignore"
			case "auto_churn_subscription":
				// metrics.md rule 8: past-due auto-churn is off by default.
				body[f] = false
			case "refund_handling":
				// metrics.md rule 5: refunds change cash flow, never MRR.
				body[f] = "cash_flow_only"
			case "proximate_movement_reclassification":
				body[f] = acct.ActivityGroupingMinutes
			}
		}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
