package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// eventIDRef is retracted_event_id: the numeric id of the withdrawn
// event, or (as the guide's wording allows) its external id.
type eventIDRef struct {
	Set        bool
	Null       bool
	ID         int64
	ExternalID string
}

func (r *eventIDRef) UnmarshalJSON(b []byte) error {
	r.Set = true
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		r.Null = true
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return &json.UnmarshalTypeError{Value: "string", Type: int64Type}
		}
		if id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			r.ID = id
		} else {
			r.ExternalID = strings.TrimSpace(s)
		}
		return nil
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "number " + string(b), Type: int64Type}
	}
	r.ID = id
	return nil
}

type eventIn struct {
	ID                        optInt     `json:"id"`
	DataSourceUUID            optString  `json:"data_source_uuid"`
	CustomerExternalID        optString  `json:"customer_external_id"`
	SubscriptionExternalID    optString  `json:"subscription_external_id"`
	SubscriptionSetExternalID optString  `json:"subscription_set_external_id"`
	PlanExternalID            optString  `json:"plan_external_id"`
	ExternalID                optString  `json:"external_id"`
	EventType                 optString  `json:"event_type"`
	EventDate                 optString  `json:"event_date"`
	EffectiveDate             optString  `json:"effective_date"`
	Currency                  optString  `json:"currency"`
	AmountInCents             optInt     `json:"amount_in_cents"`
	Quantity                  optInt     `json:"quantity"`
	TaxAmountInCents          optInt     `json:"tax_amount_in_cents"`
	EventOrder                optInt     `json:"event_order"`
	RetractedEventID          eventIDRef `json:"retracted_event_id"`
}

// apply copies the fields that were sent onto e (all of them on create).
func (in eventIn) apply(e *billing.SubscriptionEvent, errs billing.FieldErrors) {
	text := func(o optString, dst *string) {
		if o.Set {
			*dst = strings.TrimSpace(o.Value)
		}
	}
	ptr := func(o optString, dst **string) {
		if o.Set {
			*dst = o.ptr()
		}
	}
	num := func(o optInt, dst **int64) {
		if o.Set {
			*dst = o.ptr()
		}
	}
	date := func(field string, o optString, dst *time.Time) {
		if !o.Set {
			return
		}
		*dst = time.Time{}
		if t := dateField(errs, field, o); t != nil {
			*dst = *t
		}
	}
	text(in.DataSourceUUID, &e.DataSourceUUID)
	text(in.CustomerExternalID, &e.CustomerExternalID)
	text(in.SubscriptionExternalID, &e.SubscriptionExternalID)
	text(in.EventType, &e.EventType)
	ptr(in.SubscriptionSetExternalID, &e.SubscriptionSetExternalID)
	ptr(in.PlanExternalID, &e.PlanExternalID)
	ptr(in.ExternalID, &e.ExternalID)
	if in.Currency.Set {
		e.Currency = upperPtr(in.Currency)
	}
	date("event_date", in.EventDate, &e.EventDate)
	date("effective_date", in.EffectiveDate, &e.EffectiveDate)
	num(in.AmountInCents, &e.AmountInCents)
	num(in.Quantity, &e.Quantity)
	num(in.TaxAmountInCents, &e.TaxAmountInCents)
	num(in.EventOrder, &e.EventOrder)
	if r := in.RetractedEventID; r.Set {
		e.RetractedEventID, e.RetractedExternalID = nil, ""
		switch {
		case r.Null:
		case r.ExternalID != "":
			e.RetractedExternalID = r.ExternalID
		default:
			id := r.ID
			e.RetractedEventID = &id
		}
	}
}

// internalIDs turns the public ids a client sent (id, a numeric
// retracted_event_id) into internal ones.
func (in *eventIn) internalIDs(a *API) {
	if in.ID.Set && !in.ID.Null {
		in.ID.Value = a.internalID(in.ID.Value)
	}
	if r := &in.RetractedEventID; r.Set && !r.Null && r.ExternalID == "" {
		r.ID = a.internalID(r.ID)
	}
}

// ref is how a PATCH or DELETE body addresses its event.
func (in eventIn) ref() (store.EventRef, error) {
	if in.ID.Set && !in.ID.Null {
		return store.EventRef{ID: in.ID.Value}, nil
	}
	if ds, ext := trimmed(in.DataSourceUUID), trimmed(in.ExternalID); ds != "" && ext != "" {
		return store.EventRef{DataSourceUUID: ds, ExternalID: ext}, nil
	}
	return store.EventRef{}, errField("id", "Name the event by id, or by data_source_uuid and external_id.")
}

// decodeEvent reads {"subscription_event":{…}}, or the flat object.
func decodeEvent(r *http.Request) (eventIn, error) {
	var env struct {
		Event *json.RawMessage `json:"subscription_event"`
	}
	var raw json.RawMessage
	if err := decode(r, &raw); err != nil {
		return eventIn{}, err
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return eventIn{}, errBadRequest("The request body must be a JSON object.", "")
	}
	body := raw
	if env.Event != nil {
		body = *env.Event
	}
	var in eventIn
	if field, msg, ok := unmarshalField(body, &in); !ok {
		if field == "" {
			return in, errBadRequest(msg, "subscription_event")
		}
		return in, errField(field, msg)
	}
	return in, nil
}

type eventOut struct {
	ID                        int64               `json:"id"`
	DataSourceUUID            string              `json:"data_source_uuid"`
	CustomerExternalID        string              `json:"customer_external_id"`
	SubscriptionSetExternalID *string             `json:"subscription_set_external_id"`
	SubscriptionExternalID    string              `json:"subscription_external_id"`
	PlanExternalID            *string             `json:"plan_external_id"`
	EventDate                 string              `json:"event_date"`
	EffectiveDate             string              `json:"effective_date"`
	EventType                 string              `json:"event_type"`
	ExternalID                *string             `json:"external_id"`
	Errors                    billing.FieldErrors `json:"errors"`
	CreatedAt                 string              `json:"created_at"`
	UpdatedAt                 string              `json:"updated_at"`
	Quantity                  *int64              `json:"quantity"`
	Currency                  *string             `json:"currency"`
	AmountInCents             *int64              `json:"amount_in_cents"`
	TaxAmountInCents          *int64              `json:"tax_amount_in_cents"`
	EventOrder                *int64              `json:"event_order"`
	RetractedEventID          *int64              `json:"retracted_event_id"`
	disabledOut
}

// eventTime is the events' own output form: UTC, seconds, no fraction
// (api-reference.md §1.8).
func eventTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (a *API) eventWire(e billing.SubscriptionEvent) eventOut {
	errs := e.Errors
	if errs == nil {
		errs = billing.FieldErrors{}
	}
	return eventOut{ID: a.publicID(e.ID), DataSourceUUID: e.DataSourceUUID, CustomerExternalID: e.CustomerExternalID,
		SubscriptionSetExternalID: e.SubscriptionSetExternalID, SubscriptionExternalID: e.SubscriptionExternalID,
		PlanExternalID: e.PlanExternalID, EventDate: eventTime(e.EventDate), EffectiveDate: eventTime(e.EffectiveDate),
		EventType: e.EventType, ExternalID: e.ExternalID, Errors: errs, CreatedAt: eventTime(e.CreatedAt), UpdatedAt: eventTime(e.UpdatedAt),
		Quantity: e.Quantity, Currency: e.Currency, AmountInCents: e.AmountInCents, TaxAmountInCents: e.TaxAmountInCents,
		EventOrder: e.EventOrder, RetractedEventID: a.publicIDPtr(e.RetractedEventID), disabledOut: disabledWire(e.Disabled)}
}

func (a *API) createEvent(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeEvent(r)
	if err != nil {
		return err
	}
	in.internalIDs(a)
	errs := billing.FieldErrors{}
	var e billing.SubscriptionEvent
	in.apply(&e, errs)
	billing.ValidateEvent(&e, errs)
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	if err := a.eventRate(r, &e); err != nil {
		return err
	}
	if err := a.store.CreateEvent(r.Context(), account(r).ID, account(r).Currency, &e); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a.eventWire(e))
	return nil
}

// eventRate is importInvoices' rule-20 check for an event: a priced event
// in another currency needs the rate of its event_date, the day the
// committed MRR converts it at. Without one it is refused here, with the
// import's message, instead of failing every later cmrr request.
func (a *API) eventRate(r *http.Request, e *billing.SubscriptionEvent) error {
	if !priced(e) {
		return nil
	}
	return a.rateCheck(r, *e.Currency, e.EventDate)
}

// priced tells whether an event carries an amount rule 20 converts.
func priced(e *billing.SubscriptionEvent) bool {
	return e.Currency != nil && e.AmountInCents != nil && *e.AmountInCents != 0
}

func (a *API) updateEvent(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeEvent(r)
	if err != nil {
		return err
	}
	in.internalIDs(a)
	ref, err := in.ref()
	if err != nil {
		return err
	}
	if ref.ID != 0 {
		// Addressed by id: data_source_uuid and external_id may change.
		in.ID = optInt{}
	} else {
		in.DataSourceUUID, in.ExternalID = optString{}, optString{}
	}
	e, err := a.store.UpdateEvent(r.Context(), account(r).ID, account(r).Currency, ref, func(e *billing.SubscriptionEvent) error {
		errs := billing.FieldErrors{}
		in.apply(e, errs)
		billing.ValidateEvent(e, errs)
		if len(errs) > 0 {
			return errInvalid(errs)
		}
		return a.eventRate(r, e)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.eventWire(e))
	return nil
}

// deleteEvent takes the event from a JSON body (Go, Node) or from the
// query string `subscription_event[id]=…` (Ruby).
func (a *API) deleteEvent(w http.ResponseWriter, r *http.Request) error {
	var in eventIn
	q := r.URL.Query()
	if id := q.Get("subscription_event[id]"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return errBadRequest("subscription_event[id] must be a number.", "subscription_event[id]")
		}
		in.ID = optInt{Set: true, Value: n}
	} else if ds := q.Get("subscription_event[data_source_uuid]"); ds != "" {
		in.DataSourceUUID = optString{Set: true, Value: ds}
		in.ExternalID = optString{Set: true, Value: q.Get("subscription_event[external_id]")}
	} else {
		var err error
		if in, err = decodeEvent(r); err != nil {
			return err
		}
	}
	in.internalIDs(a)
	ref, err := in.ref()
	if err != nil {
		return err
	}
	if err := a.store.DeleteEvent(r.Context(), account(r).ID, ref); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// dayRange reads a YYYY-MM-DD (or any accepted date) filter as its UTC day.
func dayRange(q map[string][]string, name string) (*[2]int64, error) {
	v := ""
	if vals := q[name]; len(vals) > 0 {
		v = vals[0]
	}
	if v == "" {
		return nil, nil
	}
	t, err := billing.ParseDate(v)
	if err != nil {
		return nil, errBadRequest(name+" must be a date (YYYY-MM-DD).", name)
	}
	day := t.Truncate(24 * time.Hour)
	return &[2]int64{day.UnixMilli(), day.Add(24 * time.Hour).UnixMilli()}, nil
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.EventFilter{DataSourceUUID: q.Get("data_source_uuid"), CustomerExternalID: q.Get("customer_external_id"),
		SubscriptionExternalID: q.Get("subscription_external_id"), PlanExternalID: q.Get("plan_external_id"),
		ExternalID: q.Get("external_id"), EventType: q.Get("event_type")}
	if f.WithDisabled, err = boolQuery(r, "with_disabled"); err != nil {
		return err
	}
	if f.EventDate, err = dayRange(q, "event_date"); err != nil {
		return err
	}
	if f.EffectiveDate, err = dayRange(q, "effective_date"); err != nil {
		return err
	}
	l, err := a.store.ListEvents(r.Context(), account(r).ID, f, pr.page)
	if err != nil {
		return err
	}
	out := wireAll(l.Items, a.eventWire)
	m := newPageMeta(pr, l)
	// The legacy meta object (api-reference.md §1.6): keys are event ids.
	meta := map[string]any{"next_key": nil, "prev_key": nil, "before_key": eventTime(time.Now()), "page": pr.number, "total_pages": m.TotalPages}
	if len(l.Items) == 0 {
		meta["page"] = 0
	}
	if l.HasMore {
		meta["next_key"] = a.publicID(l.LastID)
	}
	if pr.page.AfterID != 0 {
		meta["prev_key"] = a.publicID(pr.page.AfterID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscription_events": out, "meta": meta, "cursor": m.Cursor, "has_more": m.HasMore})
	return nil
}
