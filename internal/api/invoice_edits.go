package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// Invoice edits, the disabled state of invoices and subscription events,
// and what invoice answers show of them (issue 13; docs/api.md "Edits and
// the disabled state").

// invoiceQuery is what a request asks of the invoices it is answered: the
// read flags (with_disabled also shows disabled lines and transactions in
// every invoice; include_edit_histories summarizes invoices, lines and
// transactions) and validation_type.
type invoiceQuery struct {
	readFlags
	// invalidOnly is validation_type=invalid: Tally stores only valid
	// objects, so a list asking for invalid ones is empty.
	invalidOnly bool
}

// boolQuery reads a true/false query parameter ("" is false).
func boolQuery(r *http.Request, name string) (bool, error) {
	switch r.URL.Query().Get(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, errBadRequest(name+" must be true or false.", name)
}

func parseInvoiceQuery(r *http.Request) (invoiceQuery, error) {
	var q invoiceQuery
	var err error
	if q.readFlags, err = parseReadFlags(r); err != nil {
		return q, err
	}
	q.invalidOnly, err = validationType(r)
	return q, err
}

// invoicesOut renders invoices as q asks: disabled lines and transactions
// left out unless with_disabled=true (their invoice's own state is shown
// whatever it is), and with include_edit_histories=true a summary on
// every invoice, line and transaction, read in three queries whatever the
// number of invoices.
func (a *API) invoicesOut(r *http.Request, q invoiceQuery, invs []billing.Invoice) ([]invoiceOut, error) {
	out := make([]invoiceOut, len(invs))
	var invIDs, lineIDs, txIDs []int64
	shown := make([]billing.Invoice, len(invs))
	for i, inv := range invs {
		if !q.withDisabled {
			inv.LineItems = slices.DeleteFunc(slices.Clone(inv.LineItems), func(l billing.LineItem) bool { return l.Disabled.IsDisabled() })
			inv.Transactions = slices.DeleteFunc(slices.Clone(inv.Transactions), func(t billing.Transaction) bool { return t.Disabled.IsDisabled() })
		}
		shown[i], out[i] = inv, invoiceWire(inv)
		invIDs = append(invIDs, inv.ID)
		for _, l := range inv.LineItems {
			lineIDs = append(lineIDs, l.ID)
		}
		for _, t := range inv.Transactions {
			txIDs = append(txIDs, t.ID)
		}
	}
	if !q.histories {
		return out, nil
	}
	ctx, acct := r.Context(), account(r).ID
	invEdits, err := a.store.EditHistories(ctx, acct, store.EditInvoice, invIDs)
	if err != nil {
		return nil, err
	}
	lineEdits, err := a.store.EditHistories(ctx, acct, store.EditLineItem, lineIDs)
	if err != nil {
		return nil, err
	}
	txEdits, err := a.store.EditHistories(ctx, acct, store.EditTransaction, txIDs)
	if err != nil {
		return nil, err
	}
	for i, inv := range shown {
		out[i].EditHistorySummary = summarizeEdits(invEdits[inv.ID])
		for j, l := range inv.LineItems {
			out[i].LineItems[j].EditHistorySummary = summarizeEdits(lineEdits[l.ID])
		}
		for j, t := range inv.Transactions {
			out[i].Transactions[j].EditHistorySummary = summarizeEdits(txEdits[t.ID])
		}
	}
	return out, nil
}

// answerInvoice writes one invoice as the request asks.
func (a *API) answerInvoice(w http.ResponseWriter, r *http.Request, q invoiceQuery, inv billing.Invoice) error {
	out, err := a.invoicesOut(r, q, []billing.Invoice{inv})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out[0])
	return nil
}

// invoiceRef is the invoice a route names (namedBy).
func invoiceRef(r *http.Request) (store.InvoiceRef, error) {
	uuid, ds, ext, err := namedBy(r, "invoice")
	return store.InvoiceRef{UUID: uuid, DataSourceUUID: ds, ExternalID: ext}, err
}

// namedBy reads which object (what: "invoice", "line item",
// "transaction") a route names: {uuid} in its path, else data_source_uuid
// and external_id in its query, both needed (400 naming the missing one).
func namedBy(r *http.Request, what string) (uuid, dsUUID, externalID string, err error) {
	if uuid := r.PathValue("uuid"); uuid != "" {
		return uuid, "", "", nil
	}
	q := r.URL.Query()
	dsUUID, externalID = strings.TrimSpace(q.Get("data_source_uuid")), strings.TrimSpace(q.Get("external_id"))
	for _, p := range [][2]string{{"data_source_uuid", dsUUID}, {"external_id", externalID}} {
		if p[1] == "" {
			return "", dsUUID, externalID, errBadRequest("Name the "+what+" by its UUID in the path, or by data_source_uuid and external_id in the query; "+p[0]+" is missing.", p[0])
		}
	}
	return "", dsUUID, externalID, nil
}

// collectionMethods are the values collection_method takes (null clears
// it).
var collectionMethods = map[string]bool{"automatic": true, "manual": true}

// invoicePatch is PATCH /v1/invoices/{uuid}'s body: the fields an edit
// may change.
type invoicePatch struct {
	Date             optString `json:"date"`
	DueDate          optString `json:"due_date"`
	Currency         optString `json:"currency"`
	CollectionMethod optString `json:"collection_method"`
}

// fieldEdit is one field's change as the edit history keeps it: both
// values as the invoice object writes them.
func fieldEdit(field string, before, after any) store.FieldEdit {
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	return store.FieldEdit{Field: field, Original: b, Edited: a}
}

// rateDays are the days whose exchange rate an invoice in another currency
// needs (metrics.md rule 20): each subscription line's service start (MRR)
// and each transaction's date (cash flow).
func rateDays(inv billing.Invoice) []time.Time {
	var days []time.Time
	for _, l := range inv.LineItems {
		if d, ok := rateDay(l); ok {
			days = append(days, d)
		}
	}
	for _, t := range inv.Transactions {
		days = append(days, t.Date)
	}
	return days
}

// editInvoice is PATCH /v1/invoices/{uuid} and PATCH
// /v1/invoices?data_source_uuid=…&external_id=…: date, due_date, currency
// and collection_method change in place, each change in the invoice's
// edit history. A new currency needs the rates an import in it would
// (metrics.md rule 20), for every line and transaction, disabled or not.
func (a *API) editInvoice(w http.ResponseWriter, r *http.Request) error {
	ref, err := invoiceRef(r)
	if err != nil {
		return err
	}
	q, err := parseInvoiceQuery(r)
	if err != nil {
		return err
	}
	var in invoicePatch
	if err := decode(r, &in); err != nil {
		return err
	}
	errs := billing.FieldErrors{}
	var date, due *time.Time
	if in.Date.Set {
		if in.Date.ptr() == nil {
			errs["date"] = "An invoice needs a date: it cannot be removed."
		}
		date = dateField(errs, "date", in.Date)
	}
	due = dateField(errs, "due_date", in.DueDate) // null or "" removes it
	currency := strings.ToUpper(trimmed(in.Currency))
	if in.Currency.Set && !money.Valid(currency) {
		errs["currency"] = fmt.Sprintf("%q is not an ISO 4217 currency code.", currency)
	}
	var method *string
	if m := strings.TrimSpace(in.CollectionMethod.Value); in.CollectionMethod.Set && !in.CollectionMethod.Null && m != "" {
		if !collectionMethods[m] {
			errs["collection_method"] = "The collection method must be automatic or manual (null removes it)."
		}
		method = &m
	}
	if !in.Date.Set && !in.DueDate.Set && !in.Currency.Set && !in.CollectionMethod.Set {
		errs["invoice"] = "Send one or more of date, due_date, currency and collection_method."
	}
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	acct := account(r)
	inv, err := a.store.EditInvoice(r.Context(), acct.ID, acct.Currency, ref, editAuthor(r), func(inv *billing.Invoice) ([]store.FieldEdit, error) {
		var edits []store.FieldEdit
		if date != nil {
			edits = append(edits, fieldEdit("date", billing.FormatImportTime(inv.Date), billing.FormatImportTime(*date)))
			inv.Date = *date
		}
		if in.DueDate.Set {
			edits = append(edits, fieldEdit("due_date", importTimePtr(inv.DueDate), importTimePtr(due)))
			inv.DueDate = due
		}
		if in.CollectionMethod.Set {
			edits = append(edits, fieldEdit("collection_method", inv.CollectionMethod, method))
			inv.CollectionMethod = method
		}
		if !in.Currency.Set || currency == inv.Currency {
			return edits, nil
		}
		edits = append(edits, fieldEdit("currency", inv.Currency, currency))
		inv.Currency = currency
		if currency == acct.Currency {
			return edits, nil
		}
		msg, err := missingRate(recompute.NewStoreRates(r.Context(), a.store), currency, acct.Currency, rateDays(*inv))
		if err == nil && msg != "" {
			err = errField("currency", msg)
		}
		return edits, err
	})
	if err != nil {
		return err
	}
	return a.answerInvoice(w, r, q, inv)
}

// decodeDisabled reads a disabled_state body, {"disabled": true|false};
// anything else it holds (the client's own "reason", say) is ignored.
func decodeDisabled(r *http.Request) (bool, error) {
	var in struct {
		Disabled *bool `json:"disabled"`
	}
	if err := decode(r, &in); err != nil {
		return false, err
	}
	if in.Disabled == nil {
		return false, errField("disabled", "Send disabled: true to disable, false to enable.")
	}
	return *in.Disabled, nil
}

// setInvoiceDisabled is PATCH /v1/invoices/{uuid}/disabled_state and its
// by-external-id twin. ChartMogul allows it on automatic sources only;
// Tally on every source (issue 13).
func (a *API) setInvoiceDisabled(w http.ResponseWriter, r *http.Request) error {
	ref, err := invoiceRef(r)
	if err != nil {
		return err
	}
	q, err := parseInvoiceQuery(r)
	if err != nil {
		return err
	}
	disabled, err := decodeDisabled(r)
	if err != nil {
		return err
	}
	inv, err := a.store.SetInvoiceDisabled(r.Context(), account(r).ID, ref, disabled, editAuthor(r))
	if err != nil {
		return err
	}
	return a.answerInvoice(w, r, q, inv)
}

// setEventDisabled is PATCH /v1/subscription_events/{id}/disabled_state,
// {id} the event's public id; it answers the flat event, as the other
// event writes do.
func (a *API) setEventDisabled(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errNotFound("subscription event")
	}
	disabled, err := decodeDisabled(r)
	if err != nil {
		return err
	}
	e, err := a.store.SetEventDisabled(r.Context(), account(r).ID, store.EventRef{ID: a.internalID(id)}, disabled, editAuthor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.eventWire(e))
	return nil
}
