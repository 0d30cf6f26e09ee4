package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// Account settings are Tally's own endpoint (issue 5): the settings that
// decide how metrics are derived (metrics.md rules 10, 13, 14, 15, 20).

func settingsWire(a billing.Account) map[string]any {
	return map[string]any{"currency": a.Currency, "time_zone": a.TimeZone, "week_start_on": a.WeekStartOn,
		"churn_recognition": a.ChurnRecognition, "activity_grouping_minutes": a.ActivityGroupingMinutes}
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, settingsWire(account(r))) // read with the key, this request
	return nil
}

var weekdays = map[string]bool{"sunday": true, "monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true}

// updateSettings changes settings and recomputes the whole account before
// it answers (the write middleware runs the recomputation).
func (a *API) updateSettings(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Currency                optString `json:"currency"`
		TimeZone                optString `json:"time_zone"`
		WeekStartOn             optString `json:"week_start_on"`
		ChurnRecognition        optString `json:"churn_recognition"`
		ActivityGroupingMinutes *int      `json:"activity_grouping_minutes"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	errs := billing.FieldErrors{}
	cur := account(r)
	if in.Currency.Set {
		c := strings.ToUpper(trimmed(in.Currency))
		if !money.Valid(c) {
			errs["currency"] = "The currency must be an ISO 4217 code."
		}
	}
	if in.TimeZone.Set {
		// "Local" is the server's own zone, not an IANA name: the
		// account's days would move with the host.
		tz := trimmed(in.TimeZone)
		if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
			errs["time_zone"] = "The time zone must be an IANA name such as Europe/Berlin."
		}
	}
	if in.WeekStartOn.Set && !weekdays[strings.ToLower(trimmed(in.WeekStartOn))] {
		errs["week_start_on"] = "week_start_on must be a day of the week, such as sunday or monday."
	}
	if in.ChurnRecognition.Set && trimmed(in.ChurnRecognition) != metrics.ChurnImmediate && trimmed(in.ChurnRecognition) != metrics.ChurnEndOfPeriod {
		errs["churn_recognition"] = "churn_recognition must be immediate or end_of_period."
	}
	if in.ActivityGroupingMinutes != nil && (*in.ActivityGroupingMinutes < 0 || *in.ActivityGroupingMinutes > 1440) {
		errs["activity_grouping_minutes"] = "activity_grouping_minutes must be between 0 (off) and 1440."
	}
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	// rule 20: every foreign line, transaction and priced event must
	// convert to a new currency. The rates are loaded first, outside the
	// transaction; the check runs again inside it, with the account
	// locked, so that no import checked against the old currency slips in
	// between (issue 10).
	rates := recompute.NewStoreRates(r.Context(), a.store)
	if in.Currency.Set && strings.ToUpper(trimmed(in.Currency)) != cur.Currency {
		if err := convertible(rates, strings.ToUpper(trimmed(in.Currency)), func(c string) (map[string][]time.Time, error) {
			return a.store.ForeignRateDays(r.Context(), cur.ID, c)
		}); err != nil {
			return err
		}
	}
	updated, err := a.store.UpdateAccountSettings(r.Context(), cur.ID, func(acct *billing.Account, foreign store.ForeignDays) error {
		if in.Currency.Set {
			c := strings.ToUpper(trimmed(in.Currency))
			if c != acct.Currency {
				if err := convertible(rates, c, foreign); err != nil {
					return err
				}
			}
			acct.Currency = c
		}
		if in.TimeZone.Set {
			acct.TimeZone = trimmed(in.TimeZone)
		}
		if in.WeekStartOn.Set {
			acct.WeekStartOn = strings.ToLower(trimmed(in.WeekStartOn))
		}
		if in.ChurnRecognition.Set {
			acct.ChurnRecognition = trimmed(in.ChurnRecognition)
		}
		if in.ActivityGroupingMinutes != nil {
			acct.ActivityGroupingMinutes = *in.ActivityGroupingMinutes
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsWire(updated))
	return nil
}

// convertible refuses a switch of the account currency to c while some
// invoice or priced event lacks a rate to it.
func convertible(rates *recompute.StoreRates, c string, foreign store.ForeignDays) error {
	need, err := foreign(c)
	if err != nil {
		return err
	}
	for _, from := range slices.Sorted(maps.Keys(need)) {
		msg, err := missingRate(rates, from, c, need[from])
		if err != nil {
			return err
		}
		if msg != "" {
			return errField("currency", msg)
		}
	}
	return nil
}
