package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

type lineIn struct {
	Type                      optString `json:"type"`
	ExternalID                optString `json:"external_id"`
	AmountInCents             optInt    `json:"amount_in_cents"`
	Quantity                  optInt    `json:"quantity"`
	SubscriptionExternalID    optString `json:"subscription_external_id"`
	SubscriptionSetExternalID optString `json:"subscription_set_external_id"`
	PlanUUID                  optString `json:"plan_uuid"`
	ServicePeriodStart        optString `json:"service_period_start"`
	ServicePeriodEnd          optString `json:"service_period_end"`
	CancelledAt               optString `json:"cancelled_at"`
	Prorated                  *bool     `json:"prorated"`
	ProrationType             optString `json:"proration_type"`
	DiscountAmountInCents     optInt    `json:"discount_amount_in_cents"`
	DiscountCode              optString `json:"discount_code"`
	DiscountDescription       optString `json:"discount_description"`
	TaxAmountInCents          optInt    `json:"tax_amount_in_cents"`
	TransactionFeesInCents    optInt    `json:"transaction_fees_in_cents"`
	TransactionFeesCurrency   optString `json:"transaction_fees_currency"`
	AccountCode               optString `json:"account_code"`
	Description               optString `json:"description"`
	EventOrder                optInt    `json:"event_order"`
	BalanceTransfer           *bool     `json:"balance_transfer"`
}

type transactionIn struct {
	Type                    optString `json:"type"`
	Result                  optString `json:"result"`
	Date                    optString `json:"date"`
	ExternalID              optString `json:"external_id"`
	AmountInCents           optInt    `json:"amount_in_cents"`
	TransactionFeesInCents  optInt    `json:"transaction_fees_in_cents"`
	TransactionFeesCurrency optString `json:"transaction_fees_currency"`
}

type invoiceIn struct {
	ExternalID         optString       `json:"external_id"`
	Date               optString       `json:"date"`
	DueDate            optString       `json:"due_date"`
	Currency           optString       `json:"currency"`
	CustomerExternalID optString       `json:"customer_external_id"`
	DataSourceUUID     optString       `json:"data_source_uuid"`
	LineItems          []lineIn        `json:"line_items"`
	Transactions       []transactionIn `json:"transactions"`
}

func trimmed(o optString) string { return strings.TrimSpace(o.Value) }

// domain converts the wire transaction, recording unparseable values in
// errs under prefix ("transactions." inside an invoice, "" on its own).
func (in transactionIn) domain(errs billing.FieldErrors, prefix string) billing.Transaction {
	var t billing.Transaction
	in.apply(&t, errs, prefix)
	return t
}

// apply sets on t the fields the request sent, as domain reads them: a
// new transaction is one applied to nothing, an edit one applied to the
// stored transaction (PATCH /v1/transactions).
func (in transactionIn) apply(t *billing.Transaction, errs billing.FieldErrors, prefix string) {
	if in.Type.Set {
		t.Type = trimmed(in.Type)
	}
	if in.Result.Set {
		t.Result = trimmed(in.Result)
	}
	if in.ExternalID.Set {
		t.ExternalID = in.ExternalID.ptr()
	}
	if in.AmountInCents.Set {
		t.AmountInCents = in.AmountInCents.ptr()
	}
	if in.TransactionFeesInCents.Set {
		t.TransactionFeesInCents = in.TransactionFeesInCents.ptr()
	}
	if in.TransactionFeesCurrency.Set {
		t.TransactionFeesCurrency = upperPtr(in.TransactionFeesCurrency)
	}
	if in.Date.Set {
		t.Date = time.Time{}
		if d := dateField(errs, prefix+"date", in.Date); d != nil {
			t.Date = *d
		}
	}
}

func upperPtr(o optString) *string {
	p := o.ptr()
	if p != nil {
		u := strings.ToUpper(strings.TrimSpace(*p))
		p = &u
	}
	return p
}

// domain converts the wire invoice, recording unparseable values in errs.
func (in invoiceIn) domain(errs billing.FieldErrors) billing.Invoice {
	inv := billing.Invoice{ExternalID: trimmed(in.ExternalID), Currency: strings.ToUpper(trimmed(in.Currency)),
		CustomerExternalID: trimmed(in.CustomerExternalID), DataSourceUUID: trimmed(in.DataSourceUUID),
		DueDate: dateField(errs, "due_date", in.DueDate)}
	if d := dateField(errs, "date", in.Date); d != nil {
		inv.Date = *d
	}
	for _, l := range in.LineItems {
		inv.LineItems = append(inv.LineItems, l.domain(errs, "line_items."))
	}
	for _, t := range in.Transactions {
		inv.Transactions = append(inv.Transactions, t.domain(errs, "transactions."))
	}
	return inv
}

// domain converts the wire line item, recording unparseable values in
// errs under prefix ("line_items." inside an invoice, "" on its own).
func (in lineIn) domain(errs billing.FieldErrors, prefix string) billing.LineItem {
	l := billing.LineItem{Quantity: 1}
	in.apply(&l, errs, prefix)
	if !in.AmountInCents.Set {
		addFieldErr(errs, prefix+"amount_in_cents", "Each line item needs an amount_in_cents.")
	}
	return l
}

// apply sets on l the fields the request sent, a null one to its default,
// as domain reads them: a new line is one applied to the defaults, an
// edit one applied to the stored line (PATCH /v1/line_items).
func (in lineIn) apply(l *billing.LineItem, errs billing.FieldErrors, prefix string) {
	if in.Type.Set {
		l.Type = trimmed(in.Type)
	}
	if in.ExternalID.Set {
		l.ExternalID = in.ExternalID.ptr()
	}
	if in.AmountInCents.Set {
		if in.AmountInCents.Null {
			addFieldErr(errs, prefix+"amount_in_cents", "Each line item needs an amount_in_cents.")
		}
		l.AmountInCents = in.AmountInCents.or(0)
	}
	if in.Quantity.Set {
		l.Quantity = in.Quantity.or(1)
	}
	if in.SubscriptionExternalID.Set {
		l.SubscriptionExternalID = trimmed(in.SubscriptionExternalID)
	}
	if in.SubscriptionSetExternalID.Set {
		l.SubscriptionSetExternalID = in.SubscriptionSetExternalID.ptr()
	}
	if in.PlanUUID.Set {
		l.PlanUUID = trimmed(in.PlanUUID)
	}
	if in.ServicePeriodStart.Set {
		l.ServicePeriodStart = dateField(errs, prefix+"service_period_start", in.ServicePeriodStart)
	}
	if in.ServicePeriodEnd.Set {
		l.ServicePeriodEnd = dateField(errs, prefix+"service_period_end", in.ServicePeriodEnd)
	}
	if in.CancelledAt.Set {
		l.CancelledAt = dateField(errs, prefix+"cancelled_at", in.CancelledAt)
	}
	if in.Prorated != nil {
		l.Prorated = *in.Prorated
	}
	if in.ProrationType.Set {
		l.ProrationType = in.ProrationType.ptr()
	}
	if in.DiscountAmountInCents.Set {
		l.DiscountAmountInCents = in.DiscountAmountInCents.or(0)
	}
	if in.DiscountCode.Set {
		l.DiscountCode = in.DiscountCode.Value
	}
	if in.DiscountDescription.Set {
		l.DiscountDescription = in.DiscountDescription.ptr()
	}
	if in.TaxAmountInCents.Set {
		l.TaxAmountInCents = in.TaxAmountInCents.or(0)
	}
	if in.TransactionFeesInCents.Set {
		l.TransactionFeesInCents = in.TransactionFeesInCents.or(0)
	}
	if in.TransactionFeesCurrency.Set {
		l.TransactionFeesCurrency = upperPtr(in.TransactionFeesCurrency)
	}
	if in.AccountCode.Set {
		l.AccountCode = in.AccountCode.Value
	}
	if in.Description.Set {
		l.Description = in.Description.ptr()
	}
	if in.EventOrder.Set {
		l.EventOrder = in.EventOrder.ptr()
	}
	if in.BalanceTransfer != nil {
		l.BalanceTransfer = *in.BalanceTransfer
	}
}

// rateDay is the day whose exchange rate a line of an invoice in another
// currency needs (metrics.md rule 20): a subscription line's service start
// (its MRR); other lines need none.
func rateDay(l billing.LineItem) (time.Time, bool) {
	if l.Type == billing.LineSubscription && l.ServicePeriodStart != nil {
		return *l.ServicePeriodStart, true
	}
	return time.Time{}, false
}

func addFieldErr(errs billing.FieldErrors, field, msg string) {
	if _, ok := errs[field]; !ok {
		errs[field] = msg
	}
}

type lineOut struct {
	UUID                      string  `json:"uuid"`
	ExternalID                *string `json:"external_id"`
	Type                      string  `json:"type"`
	SubscriptionUUID          *string `json:"subscription_uuid,omitempty"`
	SubscriptionExternalID    *string `json:"subscription_external_id,omitempty"`
	SubscriptionSetExternalID *string `json:"subscription_set_external_id,omitempty"`
	PlanUUID                  *string `json:"plan_uuid,omitempty"`
	Prorated                  *bool   `json:"prorated,omitempty"`
	ProrationType             *string `json:"proration_type"`
	ServicePeriodStart        *string `json:"service_period_start,omitempty"`
	ServicePeriodEnd          *string `json:"service_period_end,omitempty"`
	CancelledAt               *string `json:"cancelled_at,omitempty"`
	Description               *string `json:"description"`
	AmountInCents             int64   `json:"amount_in_cents"`
	Quantity                  int64   `json:"quantity"`
	DiscountCode              string  `json:"discount_code"`
	DiscountAmountInCents     int64   `json:"discount_amount_in_cents"`
	DiscountDescription       *string `json:"discount_description"`
	TaxAmountInCents          int64   `json:"tax_amount_in_cents"`
	TransactionFeesInCents    int64   `json:"transaction_fees_in_cents"`
	TransactionFeesCurrency   *string `json:"transaction_fees_currency"`
	AccountCode               string  `json:"account_code"`
	EventOrder                *int64  `json:"event_order"`
	BalanceTransfer           bool    `json:"balance_transfer"`
	disabledOut
	UserCreated        bool                `json:"user_created"`
	EditHistorySummary *editHistorySummary `json:"edit_history_summary,omitempty"`
}

type transactionOut struct {
	UUID                    string  `json:"uuid"`
	ExternalID              *string `json:"external_id"`
	Type                    string  `json:"type"`
	Date                    string  `json:"date"`
	Result                  string  `json:"result"`
	AmountInCents           *int64  `json:"amount_in_cents"`
	TransactionFeesInCents  *int64  `json:"transaction_fees_in_cents"`
	TransactionFeesCurrency *string `json:"transaction_fees_currency"`
	disabledOut
	UserCreated        bool                `json:"user_created"`
	EditHistorySummary *editHistorySummary `json:"edit_history_summary,omitempty"`
}

type invoiceOut struct {
	UUID               string  `json:"uuid"`
	ExternalID         string  `json:"external_id"`
	Date               string  `json:"date"`
	DueDate            *string `json:"due_date"`
	Currency           string  `json:"currency"`
	CustomerUUID       string  `json:"customer_uuid"`
	CustomerExternalID string  `json:"customer_external_id"`
	DataSourceUUID     string  `json:"data_source_uuid"`
	Status             *string `json:"status,omitempty"`
	CollectionMethod   *string `json:"collection_method"`
	disabledOut
	UserCreated        bool                 `json:"user_created"`
	EditHistorySummary *editHistorySummary  `json:"edit_history_summary,omitempty"`
	LineItems          []lineOut            `json:"line_items"`
	Transactions       []transactionOut     `json:"transactions"`
	Errors             *billing.FieldErrors `json:"errors,omitempty"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func transactionWire(t billing.Transaction) transactionOut {
	return transactionOut{UUID: t.UUID, ExternalID: t.ExternalID, Type: t.Type, Date: billing.FormatImportTime(t.Date), Result: t.Result,
		AmountInCents: t.AmountInCents, TransactionFeesInCents: t.TransactionFeesInCents, TransactionFeesCurrency: t.TransactionFeesCurrency,
		disabledOut: disabledWire(t.Disabled), UserCreated: t.UserCreated}
}

func lineWire(l billing.LineItem) lineOut {
	lo := lineOut{UUID: l.UUID, ExternalID: l.ExternalID, Type: l.Type, ProrationType: l.ProrationType, Description: l.Description,
		AmountInCents: l.AmountInCents, Quantity: l.Quantity, DiscountCode: l.DiscountCode, DiscountAmountInCents: l.DiscountAmountInCents,
		DiscountDescription: l.DiscountDescription, TaxAmountInCents: l.TaxAmountInCents, TransactionFeesInCents: l.TransactionFeesInCents,
		TransactionFeesCurrency: l.TransactionFeesCurrency, AccountCode: l.AccountCode, EventOrder: l.EventOrder,
		BalanceTransfer: l.BalanceTransfer, CancelledAt: importTimePtr(l.CancelledAt), disabledOut: disabledWire(l.Disabled), UserCreated: l.UserCreated}
	if l.HasSubscription() {
		prorated := l.Prorated
		lo.SubscriptionUUID, lo.SubscriptionExternalID, lo.PlanUUID = strOrNil(l.SubscriptionUUID), &l.SubscriptionExternalID, strOrNil(l.PlanUUID)
		lo.SubscriptionSetExternalID, lo.Prorated = l.SubscriptionSetExternalID, &prorated
		lo.ServicePeriodStart, lo.ServicePeriodEnd = importTimePtr(l.ServicePeriodStart), importTimePtr(l.ServicePeriodEnd)
	}
	return lo
}

func invoiceWire(inv billing.Invoice) invoiceOut {
	out := invoiceOut{UUID: inv.UUID, ExternalID: inv.ExternalID, Date: billing.FormatImportTime(inv.Date), DueDate: importTimePtr(inv.DueDate),
		Currency: inv.Currency, CustomerUUID: inv.CustomerUUID, CustomerExternalID: inv.CustomerExternalID, DataSourceUUID: inv.DataSourceUUID,
		Status: inv.Status, CollectionMethod: inv.CollectionMethod, disabledOut: disabledWire(inv.Disabled), LineItems: make([]lineOut, len(inv.LineItems)), Transactions: make([]transactionOut, len(inv.Transactions))}
	for i, l := range inv.LineItems {
		out.LineItems[i] = lineWire(l)
	}
	for i, t := range inv.Transactions {
		out.Transactions[i] = transactionWire(t)
	}
	return out
}

// importInvoices is POST /v1/import/customers/{uuid}/invoices: atomic per
// request (api.md rule 4).
func (a *API) importInvoices(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Invoices *[]json.RawMessage `json:"invoices"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Invoices == nil || len(*body.Invoices) == 0 {
		return errField("invoices", "A list of invoices is required.")
	}
	raws := *body.Invoices
	if len(raws) > a.opts.MaxInvoices {
		return coded(http.StatusRequestEntityTooLarge, fmt.Sprintf("A request holds at most %d invoices; this one has %d.", a.opts.MaxInvoices, len(raws)), "invoices")
	}
	invs := make([]billing.Invoice, len(raws))
	errs := make([]billing.FieldErrors, len(raws))
	bad := false
	for i, raw := range raws {
		errs[i] = billing.FieldErrors{}
		var in invoiceIn
		if field, msg, ok := unmarshalField(raw, &in); !ok {
			if field == "" {
				field = "invoice"
			}
			errs[i][field] = msg
			bad = true
			continue
		}
		invs[i] = in.domain(errs[i])
		billing.ValidateInvoice(&invs[i], errs[i])
		bad = bad || len(errs[i]) > 0
	}
	// metrics.md rule 20: an invoice in another currency needs the rate of
	// each subscription line's service start (MRR) and of each
	// transaction's date (cash flow); without one the import is refused.
	acct := account(r)
	rates := recompute.NewStoreRates(r.Context(), a.store)
	for i := range invs {
		msg, err := invoiceRate(rates, acct.Currency, &invs[i])
		if err != nil {
			return err
		}
		if msg != "" {
			errs[i]["currency"], bad = msg, true
		}
	}
	if bad {
		return errBatch(raws, errs)
	}
	err := a.store.ImportInvoices(r.Context(), acct.ID, r.PathValue("uuid"), acct.Currency, invs)
	var batch *store.InvoiceBatchError
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &batch):
		return errBatch(raws, batch.Errors)
	case errors.As(err, &conflict):
		// Another writer stored the same external id between the checks and
		// the insert (imports themselves are serialised per data source).
		msg, ok := duplicateMessages[conflict.Field]
		if !ok {
			msg = billing.MsgDuplicateTransaction
		}
		return errField(conflict.Field, msg)
	case err != nil:
		return err
	}
	out := make([]invoiceOut, len(invs))
	for i, inv := range invs {
		out[i] = invoiceWire(inv)
		out[i].Errors = &billing.FieldErrors{}
	}
	writeJSON(w, http.StatusCreated, map[string][]invoiceOut{"invoices": out})
	return nil
}

// invoiceRate is metrics.md rule 20's check of an invoice in another
// currency than the account's: the rate of each subscription line's
// service start (MRR) and of each transaction's date (cash flow) must be
// known. It returns the message refusing the invoice, if any.
func invoiceRate(rates *recompute.StoreRates, currency string, inv *billing.Invoice) (string, error) {
	if inv.Currency == currency || !money.Valid(inv.Currency) {
		return "", nil
	}
	return missingRate(rates, inv.Currency, currency, rateDays(*inv))
}

// duplicateMessages are ref §1.9's messages by the key they go under.
var duplicateMessages = map[string]string{
	"external_id":              billing.MsgDuplicateInvoice,
	"line_items.external_id":   billing.MsgDuplicateLineItem,
	"transactions.external_id": billing.MsgDuplicateTransaction,
}

// errBatch is api.md rule 4's 422: every invoice as sent, each with its
// "errors" (empty for valid ones), and a summary.
func errBatch(raws []json.RawMessage, errs []billing.FieldErrors) *Error {
	out := make([]map[string]any, len(raws))
	n := 0
	for i, raw := range raws {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			m = map[string]any{} // null, or not an object: echo just the errors
		}
		fe := errs[i]
		if fe == nil {
			fe = billing.FieldErrors{}
		}
		if len(fe) > 0 {
			n++
		}
		m["errors"] = fe
		out[i] = m
	}
	summary := fmt.Sprintf("%d of %d invoices are invalid; none was imported.", n, len(raws))
	return &Error{Status: http.StatusUnprocessableEntity, Body: map[string]any{"invoices": out, "error": summary}}
}

type customerInvoiceList struct {
	CustomerUUID string       `json:"customer_uuid"`
	Invoices     []invoiceOut `json:"invoices"`
	pageMeta
}

// listInvoices answers a page of invoices as the request asks
// (invoiceQuery): disabled invoices only with with_disabled=true.
func (a *API) listInvoices(w http.ResponseWriter, r *http.Request, f store.InvoiceFilter, wrap func([]invoiceOut, pageMeta) any) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	q, err := parseInvoiceQuery(r)
	if err != nil {
		return err
	}
	f.WithDisabled = q.withDisabled
	var l store.Listed[billing.Invoice]
	if !q.invalidOnly {
		if l, err = a.store.ListInvoices(r.Context(), account(r).ID, f, pr.page); err != nil {
			return err
		}
	}
	out, err := a.invoicesOut(r, q, l.Items)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wrap(out, newPageMeta(pr, l)))
	return nil
}

// customerInvoices lists one customer's invoices. An unknown customer has
// none: ChartMogul answers 200 with an empty list there (api-reference.md
// §4, empty_data_source).
func (a *API) customerInvoices(w http.ResponseWriter, r *http.Request) error {
	cus := r.PathValue("uuid")
	return a.listInvoices(w, r, store.InvoiceFilter{CustomerUUID: cus}, func(out []invoiceOut, m pageMeta) any {
		return customerInvoiceList{CustomerUUID: cus, Invoices: out, pageMeta: m}
	})
}

func (a *API) allInvoices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.InvoiceFilter{CustomerUUID: q.Get("customer_uuid"), DataSourceUUID: q.Get("data_source_uuid"), ExternalID: q.Get("external_id")}
	return a.listInvoices(w, r, f, func(out []invoiceOut, m pageMeta) any {
		return struct {
			Invoices []invoiceOut `json:"invoices"`
			pageMeta
		}{out, m}
	})
}

// validationType reads chartmogul-node's validation_type (all, valid or
// invalid) and says whether only invalid invoices are asked for. Tally
// keeps no invalid invoice: one that fails validation is refused with its
// import (422), so every stored invoice is valid and has "errors":{} (api.md,
// invoices). An unknown value is a 400 naming the parameter.
func validationType(r *http.Request) (invalidOnly bool, err error) {
	switch r.URL.Query().Get("validation_type") {
	case "", "all", "valid":
		return false, nil
	case "invalid":
		return true, nil
	}
	return false, errBadRequest("validation_type must be all, valid or invalid.", "validation_type")
}

// getInvoice answers the invoice its UUID names: a disabled one only with
// with_disabled=true (which also shows its disabled lines and
// transactions), whatever validation_type says, since Tally stores only
// valid invoices.
func (a *API) getInvoice(w http.ResponseWriter, r *http.Request) error {
	q, err := parseInvoiceQuery(r)
	if err != nil {
		return err
	}
	inv, err := a.store.Invoice(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	// As a line or a transaction: a disabled invoice is there only for
	// with_disabled=true.
	if inv.Disabled.IsDisabled() && !q.withDisabled {
		return errNotFound("invoice")
	}
	return a.answerInvoice(w, r, q, inv)
}

// deleteInvoice is DELETE /v1/invoices/{uuid} and DELETE
// /v1/invoices?data_source_uuid=…&external_id=….
func (a *API) deleteInvoice(w http.ResponseWriter, r *http.Request) error {
	ref, err := invoiceRef(r)
	if err != nil {
		return err
	}
	if err := a.store.DeleteInvoiceRef(r.Context(), account(r).ID, ref); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (a *API) deleteCustomerInvoices(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteCustomerInvoices(r.Context(), account(r).ID, r.PathValue("ds"), r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// invoiceStatuses are the statuses PUT …/status accepts (api-reference.md I7).
var invoiceStatuses = map[string]bool{"voided": true, "written_off": true}

func (a *API) setInvoiceStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status optString `json:"status"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	status := trimmed(in.Status)
	if !invoiceStatuses[status] {
		return errField("status", "The status must be voided or written_off.")
	}
	ext := r.PathValue("external_id")
	if err := a.store.SetInvoiceStatus(r.Context(), account(r).ID, r.PathValue("ds"), ext, status); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"external_id": ext, "status": status, "message": "Invoice updated"})
	return nil
}

// addTransaction is POST /v1/import/invoices/{uuid}/transactions.
func (a *API) addTransaction(w http.ResponseWriter, r *http.Request) error {
	var in transactionIn
	if err := decode(r, &in); err != nil {
		return err
	}
	errs := billing.FieldErrors{}
	t := in.domain(errs, "")
	billing.ValidateTransaction("the transaction", "", &t, errs)
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	// Cash flow converts the transaction at its date's rate (rule 20).
	acct := account(r)
	err := a.store.AddTransaction(r.Context(), acct.ID, r.PathValue("uuid"), acct.Currency, &t, func(currency string) error {
		return a.rateCheck(r, currency, t.Date)
	})
	if errors.Is(err, store.ErrConflict) {
		return errField("external_id", billing.MsgDuplicateTransaction)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, transactionWire(t))
	return nil
}

type subscriptionOut struct {
	UUID                      string   `json:"uuid"`
	ExternalID                string   `json:"external_id"`
	SubscriptionSetExternalID *string  `json:"subscription_set_external_id"`
	CustomerUUID              string   `json:"customer_uuid"`
	PlanUUID                  *string  `json:"plan_uuid"`
	DataSourceUUID            string   `json:"data_source_uuid"`
	CancellationDates         []string `json:"cancellation_dates"`
}

func subscriptionWire(s billing.Subscription) subscriptionOut {
	out := subscriptionOut{UUID: s.UUID, ExternalID: s.ExternalID, SubscriptionSetExternalID: s.SubscriptionSetExternalID,
		CustomerUUID: s.CustomerUUID, PlanUUID: strOrNil(s.PlanUUID), DataSourceUUID: s.DataSourceUUID, CancellationDates: []string{}}
	for _, d := range s.CancellationDates {
		out.CancellationDates = append(out.CancellationDates, billing.FormatImportTime(d))
	}
	return out
}

func (a *API) customerSubscriptions(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	cus := r.PathValue("uuid")
	l, err := a.store.CustomerSubscriptions(r.Context(), account(r).ID, cus, pr.page)
	if err != nil {
		return err
	}
	out := wireAll(l.Items, subscriptionWire)
	writeJSON(w, http.StatusOK, struct {
		CustomerUUID  string            `json:"customer_uuid"`
		Subscriptions []subscriptionOut `json:"subscriptions"`
		pageMeta
	}{cus, out, newPageMeta(pr, l)})
	return nil
}

// cancelSubscription is PATCH /v1/import/subscriptions/{uuid}: cancelled_at
// adds a cancellation, cancellation_dates replaces the history ([] clears
// it); 202 with the subscription (metrics.md rule 9).
func (a *API) cancelSubscription(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CancelledAt       optString    `json:"cancelled_at"`
		CancellationDates *[]optString `json:"cancellation_dates"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	errs := billing.FieldErrors{}
	var add *time.Time
	var replace []time.Time
	switch {
	case in.CancellationDates != nil && len(*in.CancellationDates) > billing.MaxItems:
		errs["cancellation_dates"] = "At most " + itoa(billing.MaxItems) + " cancellation dates."
	case in.CancellationDates != nil:
		replace = []time.Time{}
		for _, d := range *in.CancellationDates {
			if t := dateField(errs, "cancellation_dates", d); t != nil {
				replace = append(replace, *t)
			} else if _, ok := errs["cancellation_dates"]; !ok {
				errs["cancellation_dates"] = "Cancellation dates must not be empty."
			}
		}
	case in.CancelledAt.ptr() != nil:
		add = dateField(errs, "cancelled_at", in.CancelledAt)
	default:
		errs["cancelled_at"] = "Send cancelled_at or cancellation_dates."
	}
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	sub, err := a.store.CancelSubscription(r.Context(), account(r).ID, r.PathValue("uuid"), add, replace)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, subscriptionWire(sub))
	return nil
}

// missingRate names the first of days with no from→to rate ("" when all
// have one); an error is a failure to load rates.
func missingRate(rates *recompute.StoreRates, from, to string, days []time.Time) (string, error) {
	for _, d := range days {
		if _, ok := rates.Rate(from, to, d); !ok {
			if err := rates.Err(); err != nil {
				return "", err
			}
			return fmt.Sprintf("No %s→%s exchange rate for %s: load rates with `tally fx import`.", from, to, d.Format("2006-01-02")), nil
		}
	}
	return "", nil
}
