package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/store"
)

// activityTypes are the movement types the type filter takes.
var activityTypes = map[string]bool{metrics.NewBiz: true, metrics.Expansion: true, metrics.Contraction: true,
	metrics.Churn: true, metrics.Reactivation: true}

// metricsTime is the Metrics API's time form (api.md rule 7): the
// account's time zone with a +00:00-style offset.
func metricsTime(t time.Time, acct billing.Account) string {
	return t.In(accountLocation(acct)).Format("2006-01-02T15:04:05-07:00")
}

// accountLocation is the account's time zone (metrics.md rule 14).
func accountLocation(acct billing.Account) *time.Location { return acct.Location() }

// parseBound reads a range bound: a time as it is, or a date as a day of
// loc (metrics.md rule 14) — its first instant, or for an end (end) the
// first instant after it, so that a date-only end includes its day.
func parseBound(v string, loc *time.Location, end bool) (time.Time, error) {
	t, err := billing.ParseDate(v)
	if err != nil || len(v) != len("2006-01-02") {
		return t, err
	}
	y, m, d := t.Date()
	if end {
		d++
	}
	return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
}

// describe is the activity's sentence, as ChartMogul writes them.
func describe(a store.Activity) string {
	plan := a.PlanName
	if plan == "" {
		plan = a.PlanExternalID
	}
	switch a.Type {
	case metrics.NewBiz:
		return fmt.Sprintf("purchased the %s plan", plan)
	case metrics.Reactivation:
		return fmt.Sprintf("reactivated their %s plan", plan)
	case metrics.Expansion:
		return fmt.Sprintf("upgraded their %s plan", plan)
	case metrics.Contraction:
		return fmt.Sprintf("downgraded their %s plan", plan)
	}
	return fmt.Sprintf("cancelled their %s plan", plan)
}

func firstOr(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

func (a *API) activityWire(act store.Activity, acct billing.Account, full bool) map[string]any {
	m := map[string]any{
		"id": a.publicRowID(act.ID), "uuid": act.UUID, "description": describe(act), "activity-mrr-movement": act.Amount, "activity-mrr": act.MRRAfter,
		"activity-arr": 12 * act.MRRAfter, "date": metricsTime(act.At, acct), "type": act.Type, "currency": acct.Currency,
		"currency-sign": currencySign(acct.Currency), "subscription-external-id": firstOr(act.SubscriptionExternalIDs),
		// Tally's own: what caused the movement, resolved in full by
		// GET /v1/activities/{uuid}/sources.
		"sources": a.sourceRefs(act.Sources),
	}
	if full {
		m["plan-external-id"] = act.PlanExternalID
		m["subscription-set-external-id"] = nil
		m["customer-name"], m["customer-uuid"], m["customer-external-id"] = act.CustomerName, act.CustomerUUID, act.CustomerExternalID
		m["billing-connector-uuid"] = act.DataSourceUUID
	}
	return m
}

// customerActivities is GET /v1/customers/{uuid}/activities.
func (a *API) customerActivities(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	acct := account(r)
	cus := r.PathValue("uuid")
	if _, err := a.store.Customer(r.Context(), acct.ID, cus); err != nil {
		return err
	}
	if pr.page.AfterID != 0 {
		// A cursor of the row-id kind names no activity: activities are
		// written anew by every recomputation.
		return errBadRequest("The cursor is not valid: pass the cursor of the previous page unchanged.", "cursor")
	}
	f := store.ActivityFilter{CustomerUUID: cus}
	if pr.key != nil {
		f.AfterAt, f.AfterUUID = &pr.key.at, pr.key.uuid
	}
	l, err := a.store.ListActivities(r.Context(), acct.ID, f, pr.page)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(l.Items))
	for i, x := range l.Items {
		out[i] = a.activityWire(x, acct, false)
	}
	m := newPageMeta(pr, l)
	if l.HasMore && len(l.Items) > 0 {
		last := l.Items[len(l.Items)-1]
		c := encodeKeyCursor(pr.number+1, activityKey{at: last.At.UnixMilli(), uuid: last.UUID})
		m.Cursor = &c
	}
	body := map[string]any{"entries": out, "has_more": m.HasMore, "per_page": m.PerPage, "page": m.Page, "cursor": m.Cursor}
	if err := a.withTotal(r, f, body); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// activities is GET /v1/activities: date range, type and order filters;
// pages by per_page + cursor (Ruby, Node) or per-page + start-after
// (Go), the cursor being the last activity's UUID either way.
func (a *API) activities(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	acct := account(r)
	f := store.ActivityFilter{Type: q.Get("type")}
	if f.Type != "" && !activityTypes[f.Type] {
		return errBadRequest("type must be one of new_biz, expansion, contraction, churn, reactivation.", "type")
	}
	for _, p := range []struct {
		name string
		dst  **int64
		end  bool
	}{{"start-date", &f.From, false}, {"end-date", &f.To, true}} {
		v := query(q, p.name)
		if v == "" {
			continue
		}
		t, err := parseBound(v, accountLocation(acct), p.end)
		if err != nil {
			return errBadRequest(p.name+" must be a date or time.", p.name)
		}
		ms := t.UnixMilli()
		*p.dst = &ms
	}
	if f.From != nil && f.To != nil && *f.To <= *f.From {
		return errBadRequest("end-date must not be before start-date.", "end-date")
	}
	switch q.Get("order") {
	case "", "date":
	case "-date":
		f.Descending = true
	default:
		return errBadRequest("order must be date or -date.", "order")
	}
	limit, err := perPage(q)
	if err != nil {
		return err
	}
	page := store.Page{Limit: limit}
	after := q.Get("cursor") // Ruby and Node; Go sends start-after
	if after == "" {
		after = q.Get("start-after")
	}
	if _, k, ok := decodeKeyCursor(after); ok {
		f.AfterAt, f.AfterUUID = &k.at, k.uuid
	} else if after != "" {
		// Go's start-after (or a cursor of an earlier version): the last
		// activity's UUID alone, so its date is looked up.
		at, err := a.store.ActivityAt(r.Context(), acct.ID, after)
		if errors.Is(err, store.ErrNotFound) {
			return errBadRequest("The cursor is not an activity of this account.", "cursor")
		}
		if err != nil {
			return err
		}
		f.AfterAt, f.AfterUUID = &at, after
	}
	if f.CustomerIDs, err = a.filteredCustomers(r); err != nil {
		return err
	}
	l, err := a.store.ListActivities(r.Context(), acct.ID, f, page)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(l.Items))
	var cursor *string
	for i, x := range l.Items {
		out[i] = a.activityWire(x, acct, true)
	}
	if l.HasMore && len(l.Items) > 0 {
		last := l.Items[len(l.Items)-1]
		c := encodeKeyCursor(1, activityKey{at: last.At.UnixMilli(), uuid: last.UUID})
		cursor = &c
	}
	body := map[string]any{"entries": out, "has_more": l.HasMore, "per_page": limit, "cursor": cursor}
	if err := a.withTotal(r, f, body); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// withTotal adds Tally's own "total" to an activity list when the query
// asks for it (with_total=true): how many activities the filters select
// across every page and the sum of their activity-mrr-movement, which the
// dashboard's drill-downs show beside the number they explain.
func (a *API) withTotal(r *http.Request, f store.ActivityFilter, body map[string]any) error {
	switch r.URL.Query().Get("with_total") {
	case "", "false":
		return nil
	case "true":
	default:
		return errBadRequest("with_total must be true or false.", "with_total")
	}
	f.AfterAt, f.AfterUUID = nil, ""
	n, sum, err := a.store.ActivityTotal(r.Context(), account(r).ID, f)
	if err != nil {
		return err
	}
	body["total"] = map[string]int64{"count": n, "activity-mrr-movement": sum}
	return nil
}
