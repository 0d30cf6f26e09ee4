package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// Line items and transactions on their own (issue 13; reference/line-items
// and reference/transactions): each is named by its UUID in the path, or by
// data_source_uuid and external_id in the query.

// lineItemOut is a line item on its own: as in its invoice, and its plan's
// external id.
type lineItemOut struct {
	lineOut
	PlanExternalID *string `json:"plan_external_id,omitempty"`
}

// itemRef reads which line item or transaction a route names, as
// invoiceRef reads an invoice (namedBy).
func itemRef(r *http.Request, what string) (store.ItemRef, error) {
	uuid, ds, ext, err := namedBy(r, what)
	return store.ItemRef{UUID: uuid, DataSourceUUID: ds, ExternalID: ext}, err
}

// readFlags are the query flags of a retrieve: with_disabled (a disabled
// object is otherwise not found, as ChartMogul's retrieve describes it) and
// include_edit_histories (adds edit_history_summary).
type readFlags struct{ withDisabled, histories bool }

func parseReadFlags(r *http.Request) (readFlags, error) {
	var f readFlags
	var err error
	if f.withDisabled, err = boolQuery(r, "with_disabled"); err != nil {
		return f, err
	}
	f.histories, err = boolQuery(r, "include_edit_histories")
	return f, err
}

// fieldEdits lists the fields among fields whose wire value differs
// between before and after, with both values as the API writes them; a
// field a wire form leaves out counts as null.
func fieldEdits(before, after any, fields []string) []store.FieldEdit {
	b, a := wireFields(before), wireFields(after)
	var out []store.FieldEdit
	for _, f := range fields {
		o, e := b[f], a[f]
		if o == nil {
			o = json.RawMessage("null")
		}
		if e == nil {
			e = json.RawMessage("null")
		}
		if string(o) != string(e) {
			out = append(out, store.FieldEdit{Field: f, Original: o, Edited: e})
		}
	}
	return out
}

func wireFields(v any) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		panic("api: wire form does not encode as an object: " + err.Error())
	}
	return m
}

// jsonNames are the JSON names of a request struct's fields, sorted: what
// an edit may change.
func jsonNames(v any) []string {
	t := reflect.TypeOf(v)
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

var (
	lineFields        = jsonNames(lineIn{})
	transactionFields = jsonNames(transactionIn{})
)

// rateCheck is the exchange-rate check of a line or transaction written
// into an invoice in currency (metrics.md rule 20), as an import makes it:
// a 422 naming the missing rate of day.
func (a *API) rateCheck(r *http.Request, currency string, day time.Time) error {
	msg, err := rateMessage(recompute.NewStoreRates(r.Context(), a.store), currency, account(r).Currency, day)
	if err == nil && msg != "" {
		err = errField("currency", msg)
	}
	return err
}

// rateMessage is rule 20's message for an amount in currency on day when
// rates have no rate to the account's currency, "" when they have one or
// none is needed (the account's own currency).
func rateMessage(rates *recompute.StoreRates, currency, accountCurrency string, day time.Time) (string, error) {
	if currency == accountCurrency {
		return "", nil
	}
	return missingRate(rates, currency, accountCurrency, []time.Time{day})
}

func (a *API) lineItemWire(r *http.Request, l store.InvoiceLine, histories bool) (lineItemOut, error) {
	out := lineItemOut{lineOut: lineWire(l.LineItem), PlanExternalID: strOrNil(l.PlanExternalID)}
	if !l.HasSubscription() {
		out.PlanExternalID = nil
	}
	if histories {
		h, err := a.store.EditHistories(r.Context(), account(r).ID, store.EditLineItem, []int64{l.ID})
		if err != nil {
			return out, err
		}
		out.EditHistorySummary = summarizeEdits(h[l.ID])
	}
	return out, nil
}

// lineItemConflict words a duplicate external id that slipped past the
// checks (a concurrent write) as an import does.
func lineItemConflict(err error) error {
	var conflict *store.ConflictError
	if errors.As(err, &conflict) && conflict.Field == "external_id" {
		return errField("external_id", billing.MsgDuplicateLineItem)
	}
	return err
}

// addLineItem is POST /v1/import/invoices/{uuid}/line_items: the line is
// validated and checked exactly as a line of an imported invoice is.
func (a *API) addLineItem(w http.ResponseWriter, r *http.Request) error {
	var in lineIn
	if err := decode(r, &in); err != nil {
		return err
	}
	errs := billing.FieldErrors{}
	l := in.domain(errs, "")
	billing.ValidateLine("The line item", "", &l, errs)
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	acct := account(r)
	out, err := a.store.AddLineItem(r.Context(), acct.ID, r.PathValue("uuid"), acct.Currency, &l, func(currency string) error {
		if d, ok := rateDay(l); ok {
			return a.rateCheck(r, currency, d)
		}
		return nil
	})
	if err != nil {
		return lineItemConflict(err)
	}
	body, err := a.lineItemWire(r, out, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, body)
	return nil
}

// getItem answers the retrieve of a line item or a transaction: by UUID
// the object, by data source and external id {"<plural>":[…]} as the
// client's fixtures show; a disabled one only with with_disabled=true.
func getItem[T, O any](w http.ResponseWriter, r *http.Request, what, plural string,
	load func(context.Context, int64, store.ItemRef) (T, error), disabled func(T) bool,
	wire func(*http.Request, T, bool) (O, error)) error {
	ref, err := itemRef(r, what)
	if err != nil {
		return err
	}
	flags, err := parseReadFlags(r)
	if err != nil {
		return err
	}
	v, err := load(r.Context(), account(r).ID, ref)
	if err != nil {
		return err
	}
	if disabled(v) && !flags.withDisabled {
		return errNotFound(what)
	}
	out, err := wire(r, v, flags.histories)
	if err != nil {
		return err
	}
	if ref.UUID == "" {
		writeJSON(w, http.StatusOK, map[string][]O{plural: {out}})
		return nil
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getLineItem is GET /v1/line_items/{uuid} and GET /v1/line_items?….
func (a *API) getLineItem(w http.ResponseWriter, r *http.Request) error {
	return getItem(w, r, "line item", "line_items", a.store.LineItem,
		func(l store.InvoiceLine) bool { return l.Disabled.IsDisabled() }, a.lineItemWire)
}

// updateLineItem is PATCH /v1/line_items/{uuid} and PATCH
// /v1/line_items?…: the fields sent replace the stored ones, the whole
// line is validated and checked again as an import would, and what changed
// is recorded in its edit history.
func (a *API) updateLineItem(w http.ResponseWriter, r *http.Request) error {
	ref, err := itemRef(r, "line item")
	if err != nil {
		return err
	}
	var in lineIn
	if err := decode(r, &in); err != nil {
		return err
	}
	acct := account(r)
	out, err := a.store.UpdateLineItem(r.Context(), acct.ID, acct.Currency, ref, editAuthor(r), func(l *billing.LineItem, currency string) ([]store.FieldEdit, error) {
		before := lineWire(*l)
		errs := billing.FieldErrors{}
		in.apply(l, errs, "")
		billing.ValidateLine("The line item", "", l, errs)
		if len(errs) > 0 {
			return nil, errInvalid(errs)
		}
		if d, ok := rateDay(*l); ok {
			if err := a.rateCheck(r, currency, d); err != nil {
				return nil, err
			}
		}
		return fieldEdits(before, lineWire(*l), lineFields), nil
	})
	if err != nil {
		return lineItemConflict(err)
	}
	body, err := a.lineItemWire(r, out, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// deleteLineItem is DELETE /v1/line_items/{uuid} and DELETE
// /v1/line_items?…
func (a *API) deleteLineItem(w http.ResponseWriter, r *http.Request) error {
	ref, err := itemRef(r, "line item")
	if err != nil {
		return err
	}
	if err := a.store.DeleteLineItem(r.Context(), account(r).ID, ref); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// setLineItemDisabled is PATCH /v1/line_items/{uuid}/disabled_state and
// PATCH /v1/line_items/disabled_state?…: Tally allows it on every data
// source (ChartMogul only on automatic ones) and answers with the metrics
// already current.
func (a *API) setLineItemDisabled(w http.ResponseWriter, r *http.Request) error {
	ref, err := itemRef(r, "line item")
	if err != nil {
		return err
	}
	disabled, err := decodeDisabled(r)
	if err != nil {
		return err
	}
	l, err := a.store.SetLineItemDisabled(r.Context(), account(r).ID, ref, disabled, editAuthor(r))
	if err != nil {
		return err
	}
	out, err := a.lineItemWire(r, l, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) transactionItemWire(r *http.Request, t store.InvoiceTransaction, histories bool) (transactionOut, error) {
	out := transactionWire(t.Transaction)
	if histories {
		h, err := a.store.EditHistories(r.Context(), account(r).ID, store.EditTransaction, []int64{t.ID})
		if err != nil {
			return out, err
		}
		out.EditHistorySummary = summarizeEdits(h[t.ID])
	}
	return out, nil
}

// getTransaction is GET /v1/transactions/{uuid} and GET
// /v1/transactions?….
func (a *API) getTransaction(w http.ResponseWriter, r *http.Request) error {
	return getItem(w, r, "transaction", "transactions", a.store.Transaction,
		func(t store.InvoiceTransaction) bool { return t.Disabled.IsDisabled() }, a.transactionItemWire)
}

// updateTransaction is PATCH /v1/transactions/{uuid} and PATCH
// /v1/transactions?…: the fields sent replace the stored ones, the whole
// transaction is validated again, and what changed is recorded in its
// edit history.
func (a *API) updateTransaction(w http.ResponseWriter, r *http.Request) error {
	ref, err := itemRef(r, "transaction")
	if err != nil {
		return err
	}
	var in transactionIn
	if err := decode(r, &in); err != nil {
		return err
	}
	acct := account(r)
	out, err := a.store.UpdateTransaction(r.Context(), acct.ID, acct.Currency, ref, editAuthor(r), func(t *billing.Transaction, currency string) ([]store.FieldEdit, error) {
		before := transactionWire(*t)
		errs := billing.FieldErrors{}
		in.apply(t, errs, "")
		billing.ValidateTransaction("the transaction", "", t, errs)
		if len(errs) > 0 {
			return nil, errInvalid(errs)
		}
		// Cash flow converts the transaction at its date's rate (rule 20).
		if err := a.rateCheck(r, currency, t.Date); err != nil {
			return nil, err
		}
		return fieldEdits(before, transactionWire(*t), transactionFields), nil
	})
	if errors.Is(err, store.ErrConflict) {
		return errField("external_id", billing.MsgDuplicateTransaction)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, transactionWire(out.Transaction))
	return nil
}

// deleteTransaction is DELETE /v1/transactions/{uuid} and DELETE
// /v1/transactions?…
func (a *API) deleteTransaction(w http.ResponseWriter, r *http.Request) error {
	ref, err := itemRef(r, "transaction")
	if err != nil {
		return err
	}
	if err := a.store.DeleteTransaction(r.Context(), account(r).ID, ref); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// setTransactionDisabled is PATCH /v1/transactions/{uuid}/disabled_state
// and PATCH /v1/transactions/disabled_state?…, allowed on every source.
func (a *API) setTransactionDisabled(w http.ResponseWriter, r *http.Request) error {
	ref, err := itemRef(r, "transaction")
	if err != nil {
		return err
	}
	disabled, err := decodeDisabled(r)
	if err != nil {
		return err
	}
	t, err := a.store.SetTransactionDisabled(r.Context(), account(r).ID, ref, disabled, editAuthor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, transactionWire(t.Transaction))
	return nil
}
