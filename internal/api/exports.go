package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/sheet"
	"github.com/tally-analytics/tally/internal/store"
)

// Activities exports (api-reference.md §2.12.5): ChartMogul runs them as
// jobs to poll; Tally's are finished when created (api.md rule 3), and the
// file is a CSV that Tally serves itself, generated at download.

// exportDate echoes a bound in the account's zone; an end is kept
// exclusive, so one at a midnight (a date-only end-date) reads back as the
// day it ends.
func exportDate(ms *int64, loc *time.Location, end bool) any {
	if ms == nil {
		return nil
	}
	t := time.UnixMilli(*ms).In(loc)
	if y, m, d := t.Date(); end && t.Equal(time.Date(y, m, d, 0, 0, 0, 0, loc)) {
		t = t.AddDate(0, 0, -1)
	}
	return t.Format("2006-01-02 15:04:05 -0700")
}

// baseURL is where clients reach the server: --public-url when set (the
// safe choice behind a proxy: nothing the client sends changes it);
// otherwise the request's Host, over https when the request came over TLS
// or a proxy says so in X-Forwarded-Proto. (The URL goes back only to the
// client that sent those headers, so it can mislead no one else.)
func (a *API) baseURL(r *http.Request) string {
	if a.opts.PublicURL != "" {
		return strings.TrimRight(a.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *API) exportWire(r *http.Request, x store.ActivityExport) map[string]any {
	loc := accountLocation(account(r))
	var activityType any
	if x.Type != "" {
		activityType = x.Type
	}
	params := map[string]any{"activity_type": activityType, "start_date": exportDate(x.From, loc, false), "end_date": exportDate(x.To, loc, true)}
	if x.Filters != "" {
		params["filters"] = x.Filters // Tally's own: only when asked for
	}
	return map[string]any{
		"id": x.UUID, "status": "succeeded",
		"file_url":   a.baseURL(r) + "/v1/activities_export/" + x.UUID + "/file",
		"params":     map[string]any{"kind": "activities", "params": params},
		"expires_at": metricsTime(x.CreatedAt.AddDate(0, 0, 7), account(r)),
		"created_at": metricsTime(x.CreatedAt, account(r)),
	}
}

func (a *API) createActivityExport(w http.ResponseWriter, r *http.Request) error {
	var in map[string]any
	if err := decode(r, &in); err != nil {
		return err
	}
	text := func(keys ...string) (string, error) {
		for _, k := range keys {
			if v, ok := in[k]; ok && v != nil {
				s, ok := v.(string)
				if !ok {
					return "", errField(k, "must be a string")
				}
				return strings.TrimSpace(s), nil
			}
		}
		return "", nil
	}
	var x store.ActivityExport
	var err error
	if x.Type, err = text("type"); err != nil {
		return err
	}
	if x.Type != "" && !activityTypes[x.Type] {
		return errField("type", "type must be one of new_biz, expansion, contraction, churn, reactivation.")
	}
	for _, p := range []struct {
		keys []string
		dst  **int64
		end  bool
	}{{[]string{"start-date", "start_date"}, &x.From, false}, {[]string{"end-date", "end_date"}, &x.To, true}} {
		v, err := text(p.keys...)
		if err != nil || v == "" {
			if err != nil {
				return err
			}
			continue
		}
		t, perr := parseBound(v, accountLocation(account(r)), p.end)
		if perr != nil {
			return errField(p.keys[0], "must be a date (YYYY-MM-DD).")
		}
		ms := t.UnixMilli()
		*p.dst = &ms
	}
	if x.From != nil && x.To != nil && *x.To <= *x.From {
		return errField("end-date", "must not be before start-date.")
	}
	// Tally's own: filters, checked now and kept as written; the file
	// selects the customers they select when it is read.
	if x.Filters, err = text("filters"); err != nil {
		return err
	}
	if x.Filters != "" {
		if _, err := a.compileFilters(r.Context(), account(r), x.Filters); err != nil {
			return err
		}
	}
	if err := a.store.CreateActivityExport(r.Context(), account(r).ID, &x); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.exportWire(r, x))
	return nil
}

func (a *API) getActivityExport(w http.ResponseWriter, r *http.Request) error {
	x, err := a.store.ActivityExportByUUID(r.Context(), account(r).ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.exportWire(r, x))
	return nil
}

// activityExportFile streams the export as CSV, page by page, each page
// after the (date, UUID) of the last row written, so writes racing the
// download neither cut it short nor repeat rows.
func (a *API) activityExportFile(w http.ResponseWriter, r *http.Request) error {
	acct := account(r)
	x, err := a.store.ActivityExportByUUID(r.Context(), acct.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="activities-`+x.UUID+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"date", "type", "customer_uuid", "customer_external_id", "customer_name", "description",
		"mrr_movement", "mrr", "arr", "currency", "subscription_external_id", "plan_external_id", "activity_uuid"})
	f := store.ActivityFilter{Type: x.Type, From: x.From, To: x.To}
	if x.Filters != "" {
		// The filters as they select now: a plan named then and deleted
		// since is a 400 saying so.
		filter, err := a.compileFilters(r.Context(), acct, x.Filters)
		if err != nil {
			return err
		}
		sel, err := a.selectFor(r, selection{filter: filter})
		if err != nil {
			return err
		}
		f.CustomerIDs = sel.customerIDs()
	}
	var after *store.ActivityKey
	for {
		acts, err := a.store.ExportActivities(r.Context(), acct.ID, f, after, a.exportPage)
		if err != nil {
			return err
		}
		for _, act := range acts {
			_ = cw.Write([]string{metricsTime(act.At, acct), act.Type, act.CustomerUUID, sheet.Text(act.CustomerExternalID), sheet.Text(act.CustomerName),
				sheet.Text(describe(act)), strconv.FormatInt(act.Amount, 10), strconv.FormatInt(act.MRRAfter, 10),
				strconv.FormatInt(12*act.MRRAfter, 10), acct.Currency, sheet.Text(firstOr(act.SubscriptionExternalIDs)), sheet.Text(act.PlanExternalID), act.UUID})
		}
		if len(acts) < a.exportPage {
			break
		}
		last := acts[len(acts)-1]
		after = &store.ActivityKey{At: last.At.UnixMilli(), UUID: last.UUID}
	}
	cw.Flush()
	return cw.Error()
}
