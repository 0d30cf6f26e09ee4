package api

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// The CRM objects (docs/api.md "CRM objects"): contacts, customer notes and
// call logs, opportunities, tasks. They are kept beside the billing data and
// feed no metric. This file holds what their four files share.

// crmPage is a CRM list answer (ref §2.5): entries, and the cursor paging
// fields without the legacy page ones.
type crmPage[O any] struct {
	Entries []O     `json:"entries"`
	Cursor  *string `json:"cursor"`
	HasMore bool    `json:"has_more"`
}

func newCRMPage[T, O any](pr pageRequest, l store.Listed[T], wire func(T) O) crmPage[O] {
	m := newPageMeta(pr, l)
	return crmPage[O]{Entries: wireAll(l.Items, wire), Cursor: m.Cursor, HasMore: m.HasMore}
}

// crmText is a string field as stored: trimmed, nil when absent, null or
// blank.
func crmText(o optString) *string {
	v := strings.TrimSpace(o.Value)
	if !o.Set || o.Null || v == "" {
		return nil
	}
	return &v
}

// crmRequired checks a field a create needs, or that a PATCH sent: not
// absent (on create), null or blank.
func crmRequired(errs billing.FieldErrors, field string, o optString, create bool, msg string) {
	if (create || o.Set) && crmText(o) == nil {
		errs[field] = msg
	}
}

// crmInvalid is the 422 of errs, nil when there is nothing in it.
func crmInvalid(errs billing.FieldErrors) error {
	if len(errs) == 0 {
		return nil
	}
	return errInvalid(errs)
}

// crmRange refuses an integer field sent outside [lo, hi] (or null,
// unless nullOK).
func crmRange(errs billing.FieldErrors, field string, o optInt, lo, hi int64, nullOK bool) {
	switch {
	case !o.Set:
	case o.Null:
		if !nullOK {
			errs[field] = "Must be a whole number, not null."
		}
	case o.Value < lo || o.Value > hi:
		errs[field] = "Must be a whole number from " + itoa(lo) + " to " + itoa(hi) + "."
	}
}

// crmMaxInt bounds counts and positions, which clients read as 32-bit
// integers.
const crmMaxInt = math.MaxInt32

// crmCustom reads a CRM object's custom fields onto a copy of have: the
// list form [{"key", "value"}] that ChartMogul's examples send, or the
// object form {key: value}. A value is a string, a number, true or false;
// null removes the key (on update). Keys are trimmed, not blank, at most
// 255 characters; an object keeps at most billing.MaxCustomAttributes of
// them. What is wrong goes to errs, and have comes back unchanged.
func crmCustom(have store.Custom, raw json.RawMessage, field string, errs billing.FieldErrors) store.Custom {
	if len(raw) == 0 || string(raw) == "null" {
		return have
	}
	tooMany := "At most " + itoa(billing.MaxCustomAttributes) + " custom fields."
	type pair struct {
		key   string
		value json.RawMessage
	}
	var pairs []pair
	var list []struct {
		Key   *string         `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	var obj map[string]json.RawMessage
	switch {
	case json.Unmarshal(raw, &list) == nil:
		for i, item := range list {
			if item.Key == nil {
				errs[field+"["+itoa(int64(i))+"].key"] = "Each custom field needs a key."
				return have
			}
			pairs = append(pairs, pair{*item.Key, item.Value})
		}
	case json.Unmarshal(raw, &obj) == nil:
		for k, v := range obj {
			pairs = append(pairs, pair{k, v})
		}
	default:
		errs[field] = "must be a list of {key, value} or an object of key: value"
		return have
	}
	if len(pairs) > billing.MaxCustomAttributes {
		errs[field] = tooMany
		return have
	}
	out := maps.Clone(have)
	if out == nil {
		out = store.Custom{}
	}
	for _, p := range pairs {
		key := strings.TrimSpace(p.key)
		if key == "" {
			errs[field] = "A custom field's key must not be blank."
			return have
		}
		if utf8.RuneCountInString(key) > billing.MaxIDLength {
			errs[field] = "A custom field's key must be at most " + itoa(billing.MaxIDLength) + " characters."
			return have
		}
		v := bytes.TrimSpace(p.value)
		switch {
		case len(v) == 0 || string(v) == "null":
			delete(out, key)
			continue
		case v[0] == '"' || string(v) == "true" || string(v) == "false":
		case v[0] == '-' || ('0' <= v[0] && v[0] <= '9'):
			if f, err := strconv.ParseFloat(string(v), 64); err != nil || math.IsInf(f, 0) {
				errs[field+"."+key] = "value is beyond the range of a number"
				return have
			}
		default:
			errs[field+"."+key] = "must be a string, a number, true or false"
			return have
		}
		out[key] = json.RawMessage(v)
	}
	if len(out) > billing.MaxCustomAttributes {
		errs[field] = tooMany
		return have
	}
	return out
}

func crmCustomOut(c store.Custom) store.Custom {
	if c == nil {
		return store.Custom{}
	}
	return c
}

// crmDayParam reads a list's date filter (YYYY-MM-DD): the day, and the day
// after (the exclusive bound of an "on or before" filter). 400 naming the
// parameter for anything else.
func crmDayParam(q url.Values, name string) (day, next string, err error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return "", "", nil
	}
	t, perr := time.Parse(time.DateOnly, v)
	if perr != nil || !dateInRange(t) {
		return "", "", errBadRequest(name+" must be a date (YYYY-MM-DD) from 1970-01-01 to 2999-12-31.", name)
	}
	return t.Format(time.DateOnly), t.AddDate(0, 0, 1).Format(time.DateOnly), nil
}

// crmDate reads a stored date field: YYYY-MM-DD as such, a time (any
// form api rule 7 takes) as RFC 3339 in UTC, to the millisecond, without
// trailing zeros (2025-04-30T00:00:00Z). dateOnly keeps the date of a time.
func crmDate(errs billing.FieldErrors, field, v string, dateOnly bool) string {
	v = strings.TrimSpace(v)
	t, err := billing.ParseDate(v)
	if err != nil {
		errs[field] = "Must be a date (YYYY-MM-DD) or a time (RFC 3339)."
		return ""
	}
	if t.Before(billing.MinDate) || t.After(billing.MaxDate) {
		errs[field] = billing.MsgDateRange
		return ""
	}
	if dateOnly || len(v) == len(time.DateOnly) {
		return t.Format(time.DateOnly)
	}
	return t.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.999Z07:00")
}

// crmDeleted answers a CRM delete: 200 {} (recorded for contacts, notes and
// opportunities, ref §2.5).
func crmDeleted(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{})
}

// crmCustomerUUID is the customer a CRM write or list names: the path's on
// the customer-scoped routes, else the body's or query's customer_uuid.
func crmCustomerUUID(r *http.Request, fallback string) string {
	if c := r.PathValue("customer"); c != "" {
		return c
	}
	return strings.TrimSpace(fallback)
}
