package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// Bulk imports (issue 13; ref §2.5, dev.chartmogul.com reference
// import-data-bulk and bulk-import/track-status). docs/api.md "Bulk
// imports" has the rules: what is grouped, what is atomic, the statuses.

type jsonImportIn struct {
	ExternalID         optString `json:"external_id"`
	Customers          rawArray  `json:"customers"`
	Plans              rawArray  `json:"plans"`
	Invoices           rawArray  `json:"invoices"`
	LineItems          rawArray  `json:"line_items"`
	Transactions       rawArray  `json:"transactions"`
	SubscriptionEvents rawArray  `json:"subscription_events"`
}

// rawArray is a JSON array's elements, undecoded: sub-slices of the body
// (decodeJSONImport reads a body that is valid JSON, which it owns).
type rawArray [][]byte

func (a *rawArray) UnmarshalJSON(b []byte) error {
	*a = nil
	switch b[0] {
	case 'n':
		return nil
	case '[':
		arrayElements(b, func(_ int, elem []byte) { *a = append(*a, elem) })
		return nil
	}
	return &json.UnmarshalTypeError{Value: "non-array", Type: reflect.TypeFor[[]json.RawMessage]()}
}

// decodeJSONImport reads a bulk import's body: a valid one in one pass
// (walkObject), an invalid one through decode, whose error it answers.
func decodeJSONImport(r *http.Request, in *jsonImportIn) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if !json.Valid(body) {
		if err := decodeBody(body, in); err != nil {
			return err
		}
		return errBadRequest("Malformed JSON.", "")
	}
	if field, msg, ok := walkObject(body, in); !ok {
		return errField(field, msg)
	}
	return checkStrings(body)
}

// bulkLineIn is a line item of the line_items array: an invoice's line
// that names its invoice, and may name its plan by external id.
type bulkLineIn struct {
	lineIn
	InvoiceExternalID optString `json:"invoice_external_id"`
	PlanExternalID    optString `json:"plan_external_id"`
}

// bulkTransactionIn is a transaction of the transactions array.
type bulkTransactionIn struct {
	transactionIn
	InvoiceExternalID optString `json:"invoice_external_id"`
}

// Object kinds as status_details names them.
const (
	kindCustomers      = "customers"
	kindPlans          = "plans"
	kindInvoices       = "invoices"
	kindLineItems      = "line_items"
	kindTransactions   = "transactions"
	kindEvents         = "subscription_events"
	statusImported     = "imported"
	statusFailed       = "failed"
	unassignedKey      = "unassigned"
	importCompleted    = "completed"
	importPartial      = "partially_completed"
	importFailed       = "failed"
	msgNoImportInvoice = "No invoice with this external ID in this import: a line item is imported with its invoice."
)

// bulkObject is one object of the request as status_details reports it:
// its index in its array, its external id, and what is wrong with it.
type bulkObject struct {
	kind       string
	index      int
	externalID *string
	errs       billing.FieldErrors
	// refs are the object's references when it could not be decoded (a
	// value of the wrong type stops the decoder at it), read leniently so
	// that it is still reported in its group.
	refs *bulkRefs
}

type bulkRefs struct {
	ExternalID         json.RawMessage `json:"external_id"`
	CustomerExternalID json.RawMessage `json:"customer_external_id"`
	InvoiceExternalID  json.RawMessage `json:"invoice_external_id"`
}

// ref is a reference the object names: decoded's value, or, for an
// object that could not be decoded, what refs read of it.
func (o *bulkObject) ref(decoded optString, raw func(*bulkRefs) json.RawMessage) string {
	if o.refs == nil {
		return trimmed(decoded)
	}
	var s string
	if json.Unmarshal(raw(o.refs), &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

func refExternalID(r *bulkRefs) json.RawMessage { return r.ExternalID }
func refCustomer(r *bulkRefs) json.RawMessage   { return r.CustomerExternalID }
func refInvoice(r *bulkRefs) json.RawMessage    { return r.InvoiceExternalID }

// bulkGroup is what the API keeps of a store group: its objects in
// request order, and where each invoice's lines and transactions came
// from (nested in the invoice, or from the arrays).
type bulkGroup struct {
	objects []*bulkObject
	// The group's invoices, as the store's group holds them, each with
	// its object and the objects its lines and transactions came from
	// (nil: nested in the invoice object).
	invoices []*bulkInvoice
	customer *bulkObject
	events   []*bulkObject
}

type bulkInvoice struct {
	object       *bulkObject
	lines, txs   []*bulkObject
	nestedLines  int
	invoiceIndex int // in the request
}

// bulkImport is a decoded request: the store's import and the objects
// status_details reports.
type bulkImport struct {
	imp        *store.JSONImport
	groups     []*bulkGroup
	plans      []*bulkObject
	stored     []*bulkObject // the store's StoredTransactions
	unassigned []*bulkObject // objects of no group
}

func (a *API) createJSONImport(w http.ResponseWriter, r *http.Request) error {
	var in jsonImportIn
	if err := decodeJSONImport(r, &in); err != nil {
		return err
	}
	ext := trimmed(in.ExternalID)
	errs := billing.FieldErrors{}
	if ext == "" {
		errs["external_id"] = "An external ID is required for each import."
	}
	billing.CheckLength(errs, "external_id", ext, billing.MaxIDLength)
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	acct := account(r)
	b, err := a.decodeBulk(r, &in)
	if err != nil {
		return err
	}
	b.imp.DataSourceUUID, b.imp.ExternalID = r.PathValue("uuid"), ext
	var status string
	var details []byte
	err = a.store.ImportJSON(r.Context(), acct.ID, acct.Currency, b.imp, func(imp *store.JSONImport, faults []store.ImportFault) (string, []byte, error) {
		status, details = b.render(faults)
		return status, details, nil
	})
	var conflict *store.ConflictError
	var missing *store.MissingError
	switch {
	case errors.As(err, &missing) && missing.What == "data source":
		return errNotFound("data source")
	case errors.As(err, &conflict) && conflict.Field == "external_id":
		return errField("external_id", "An import with this external ID already exists in this data source.")
	case err != nil:
		return err
	}
	noteKnown(r, &b.imp.Known)
	now := eventTime(b.imp.CreatedAt)
	writeJSON(w, http.StatusOK, jsonImportOut{ID: b.imp.ID, DataSourceUUID: b.imp.DataSourceUUID, Status: status,
		ExternalID: ext, StatusDetails: details, CreatedAt: now, UpdatedAt: now})
	return nil
}

type jsonImportOut struct {
	ID             string          `json:"id"`
	DataSourceUUID string          `json:"data_source_uuid"`
	Status         string          `json:"status"`
	ExternalID     string          `json:"external_id"`
	StatusDetails  json.RawMessage `json:"status_details"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
}

func (a *API) getJSONImport(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.store.JSONImportRecord(r.Context(), account(r).ID, r.PathValue("uuid"), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jsonImportOut{ID: rec.ID, DataSourceUUID: rec.DataSourceUUID, Status: rec.Status, ExternalID: rec.ExternalID,
		StatusDetails: rec.Details, CreatedAt: eventTime(rec.CreatedAt), UpdatedAt: eventTime(rec.UpdatedAt)})
	return nil
}

// decodeBulk decodes and validates every object on its own, as the
// single-object endpoints do, and groups them by customer.
func (a *API) decodeBulk(r *http.Request, in *jsonImportIn) (*bulkImport, error) {
	acct := account(r)
	b := &bulkImport{imp: &store.JSONImport{}}
	imp := b.imp
	byCustomer := map[string]int{}
	group := func(ext string) int {
		g, ok := byCustomer[ext]
		if !ok {
			g = len(imp.Groups)
			byCustomer[ext] = g
			imp.Groups = append(imp.Groups, &store.ImportGroup{CustomerExternalID: ext})
			b.groups = append(b.groups, &bulkGroup{})
		}
		return g
	}
	object := func(kind string, k int, raw []byte, v any) *bulkObject {
		o := &bulkObject{kind: kind, index: k, errs: billing.FieldErrors{}}
		if field, msg, ok := walkObject(raw, v); !ok {
			// The path of a promoted field names the struct it comes from.
			field = strings.TrimPrefix(strings.TrimPrefix(field, "lineIn."), "transactionIn.")
			if field == "" {
				field = strings.TrimSuffix(kind, "s")
			}
			o.errs[field] = msg
			o.refs = &bulkRefs{}
			_ = json.Unmarshal(raw, o.refs)
		}
		return o
	}
	add := func(g int, o *bulkObject) {
		b.groups[g].objects = append(b.groups[g].objects, o)
		if len(o.errs) > 0 {
			imp.Groups[g].Invalid = true
		}
	}

	// Plans: a group of their own.
	for k, raw := range in.Plans {
		var pin planIn
		o := object(kindPlans, k, raw, &pin)
		p := billing.Plan{ExternalID: trimmed(pin.ExternalID)}
		if len(o.errs) == 0 {
			o.errs = pin.apply(&p)
		}
		o.externalID = strOrNil(p.ExternalID)
		imp.Plans = append(imp.Plans, p)
		b.plans = append(b.plans, o)
		imp.PlansInvalid = imp.PlansInvalid || len(o.errs) > 0
	}

	// Customers: each starts its group.
	for k, raw := range in.Customers {
		var cin customerIn
		o := object(kindCustomers, k, raw, &cin)
		c := billing.Customer{DataSourceUUID: r.PathValue("uuid"), ExternalID: o.ref(cin.ExternalID, refExternalID)}
		if len(o.errs) == 0 {
			o.errs = cin.apply(&c)
		}
		o.externalID = strOrNil(c.ExternalID)
		if c.ExternalID == "" {
			addFieldErr(o.errs, "external_id", "An external ID is required for each customer.")
			b.unassigned = append(b.unassigned, o)
			continue
		}
		g := group(c.ExternalID)
		if b.groups[g].customer != nil {
			addFieldErr(o.errs, "external_id", "This customer appears twice in this import.")
		} else {
			b.groups[g].customer, imp.Groups[g].Customer = o, &c
		}
		add(g, o)
	}

	// Invoices, with their nested lines and transactions.
	rates := recompute.NewStoreRates(r.Context(), a.store)
	type invoiceAt struct{ g, i int }
	invoices := map[string]invoiceAt{}
	for k, raw := range in.Invoices {
		var iin invoiceIn
		o := object(kindInvoices, k, raw, &iin)
		var inv billing.Invoice
		if len(o.errs) == 0 {
			inv = iin.domain(o.errs)
			for n := range inv.LineItems {
				billing.ValidateLine(lineName(n), "line_items.", &inv.LineItems[n], o.errs)
			}
			for n := range inv.Transactions {
				billing.ValidateTransaction(transactionName(n), "transactions.", &inv.Transactions[n], o.errs)
			}
		}
		o.externalID = strOrNil(o.ref(iin.ExternalID, refExternalID))
		ext := o.ref(iin.CustomerExternalID, refCustomer)
		if ext == "" {
			addFieldErr(o.errs, "customer_external_id", "Each invoice names its customer by customer_external_id.")
			b.unassigned = append(b.unassigned, o)
			continue
		}
		g := group(ext)
		grp := b.groups[g]
		if _, dup := invoices[inv.ExternalID]; !dup && inv.ExternalID != "" {
			invoices[inv.ExternalID] = invoiceAt{g, len(grp.invoices)}
		} else if o.externalID != nil && inv.ExternalID == "" {
			// Not decoded: its lines and transactions still join it.
			if _, dup := invoices[*o.externalID]; !dup {
				invoices[*o.externalID] = invoiceAt{g, len(grp.invoices)}
			}
		}
		inv.CustomerExternalID, inv.DataSourceUUID = "", ""
		grp.invoices = append(grp.invoices, &bulkInvoice{object: o, nestedLines: len(inv.LineItems),
			lines: make([]*bulkObject, len(inv.LineItems)), txs: make([]*bulkObject, len(inv.Transactions)), invoiceIndex: k})
		imp.Groups[g].Invoices = append(imp.Groups[g].Invoices, inv)
		add(g, o)
	}

	// Line items join their invoices.
	for k, raw := range in.LineItems {
		var lin bulkLineIn
		o := object(kindLineItems, k, raw, &lin)
		var l billing.LineItem
		if len(o.errs) == 0 {
			l = lin.domain(o.errs, "")
			if l.PlanUUID == "" {
				l.PlanExternalID = trimmed(lin.PlanExternalID)
			}
			billing.ValidateLine("Line item", "", &l, o.errs)
		}
		o.externalID = l.ExternalID
		at, ok := invoices[o.ref(lin.InvoiceExternalID, refInvoice)]
		if !ok {
			addFieldErr(o.errs, "invoice_external_id", msgNoImportInvoice)
			b.unassigned = append(b.unassigned, o)
			continue
		}
		inv := &imp.Groups[at.g].Invoices[at.i]
		inv.LineItems = append(inv.LineItems, l)
		bi := b.groups[at.g].invoices[at.i]
		bi.lines = append(bi.lines, o)
		add(at.g, o)
	}

	// Transactions join their invoices, in this import or stored.
	for k, raw := range in.Transactions {
		var tin bulkTransactionIn
		o := object(kindTransactions, k, raw, &tin)
		var t billing.Transaction
		if len(o.errs) == 0 {
			t = tin.domain(o.errs, "")
			billing.ValidateTransaction("Transaction", "", &t, o.errs)
		}
		o.externalID = t.ExternalID
		invExt := o.ref(tin.InvoiceExternalID, refInvoice)
		at, ok := invoices[invExt]
		if !ok {
			imp.StoredTransactions = append(imp.StoredTransactions, &store.StoredTransaction{InvoiceExternalID: invExt, Transaction: t,
				Invalid: len(o.errs) > 0})
			b.stored = append(b.stored, o)
			continue
		}
		inv := &imp.Groups[at.g].Invoices[at.i]
		inv.Transactions = append(inv.Transactions, t)
		bi := b.groups[at.g].invoices[at.i]
		bi.txs = append(bi.txs, o)
		add(at.g, o)
	}

	// Each invoice whole: its own fields, and rule 20's rates.
	for g, grp := range imp.Groups {
		for i := range grp.Invoices {
			inv, o := &grp.Invoices[i], b.groups[g].invoices[i].object
			billing.ValidateInvoiceHeader(inv, o.errs)
			if _, bad := o.errs["currency"]; !bad {
				msg, err := invoiceRate(rates, acct.Currency, inv)
				if err != nil {
					return nil, err
				}
				if msg != "" {
					o.errs["currency"] = msg
				}
			}
			if len(o.errs) > 0 {
				grp.Invalid = true
			}
		}
	}
	imp.LineName = func(g, i, n int) string {
		if n < b.groups[g].invoices[i].nestedLines {
			return lineName(n)
		}
		return "Line item"
	}
	imp.CheckStored = func(currency string, t *billing.Transaction) (string, string, error) {
		msg, err := rateMessage(rates, currency, acct.Currency, t.Date)
		return "currency", msg, err
	}

	// Subscription events.
	for k, raw := range in.SubscriptionEvents {
		var ein eventIn
		o := object(kindEvents, k, raw, &ein)
		var e billing.SubscriptionEvent
		if len(o.errs) == 0 {
			ein.internalIDs(a)
			ein.apply(&e, o.errs)
			e.DataSourceUUID = r.PathValue("uuid")
			billing.ValidateEvent(&e, o.errs)
			if len(o.errs) == 0 && priced(&e) {
				// The import's one set of rates, as its invoices'.
				msg, err := rateMessage(rates, *e.Currency, acct.Currency, e.EventDate)
				if err != nil {
					return nil, err
				}
				if msg != "" {
					o.errs["currency"] = msg
				}
			}
		}
		o.externalID = e.ExternalID
		if o.refs != nil {
			e.CustomerExternalID = o.ref(optString{}, refCustomer)
		}
		if e.CustomerExternalID == "" {
			addFieldErr(o.errs, "customer_external_id", "The customer_external_id is required.")
			b.unassigned = append(b.unassigned, o)
			continue
		}
		g := group(e.CustomerExternalID)
		b.groups[g].events = append(b.groups[g].events, o)
		imp.Groups[g].Events = append(imp.Groups[g].Events, e)
		add(g, o)
	}
	return b, nil
}

func lineName(n int) string        { return "Line item #" + itoa(int64(n+1)) }
func transactionName(n int) string { return "transactions (#" + itoa(int64(n+1)) + ")" }

// render builds status_details from the decoding's findings and the
// store's, and the import's status. It starts afresh each time: the store
// calls it once per run of its transaction.
func (b *bulkImport) render(faults []store.ImportFault) (string, []byte) {
	// Copies of what decoding found, the faults added on top.
	found := map[*bulkObject]billing.FieldErrors{}
	errsOf := func(o *bulkObject) billing.FieldErrors {
		e, ok := found[o]
		if !ok {
			e = billing.FieldErrors{}
			for k, v := range o.errs {
				e[k] = v
			}
			found[o] = e
		}
		return e
	}
	groupErrs := map[int]billing.FieldErrors{}
	for _, f := range faults {
		o := f.Object
		switch o.Kind {
		case store.ImportGroupItself:
			if groupErrs[o.Group] == nil {
				groupErrs[o.Group] = billing.FieldErrors{}
			}
			addFieldErr(groupErrs[o.Group], f.Field, f.Message)
		case store.ImportPlan:
			addFieldErr(errsOf(b.plans[o.Index]), f.Field, f.Message)
		case store.ImportCustomer:
			addFieldErr(errsOf(b.groups[o.Group].customer), f.Field, f.Message)
		case store.ImportInvoice:
			addFieldErr(errsOf(b.groups[o.Group].invoices[o.Index].object), f.Field, f.Message)
		case store.ImportInvoiceLine:
			bi := b.groups[o.Group].invoices[o.Index]
			if lo := bi.lines[o.Sub]; lo != nil {
				addFieldErr(errsOf(lo), f.Field, f.Message)
			} else {
				addFieldErr(errsOf(bi.object), "line_items."+f.Field, f.Message)
			}
		case store.ImportInvoiceTransaction:
			bi := b.groups[o.Group].invoices[o.Index]
			if to := bi.txs[o.Sub]; to != nil {
				addFieldErr(errsOf(to), f.Field, f.Message)
			} else {
				addFieldErr(errsOf(bi.object), "transactions."+f.Field, f.Message)
			}
		case store.ImportStoredTransaction:
			addFieldErr(errsOf(b.stored[o.Index]), f.Field, f.Message)
		case store.ImportEvent:
			addFieldErr(errsOf(b.groups[o.Group].events[o.Index]), f.Field, f.Message)
		}
	}
	report := func(objs []*bulkObject) map[string]any {
		out := map[string]any{}
		byKind := map[string][]map[string]any{}
		for _, o := range objs {
			e := errsOf(o)
			entry := map[string]any{"index": o.index, "external_id": o.externalID, "errors": e}
			byKind[o.kind] = append(byKind[o.kind], entry)
		}
		for kind, entries := range byKind {
			out[kind] = map[string]any{"status": statusFailed, "objects": entries}
		}
		return out
	}
	details := map[string]any{}
	imp := b.imp
	imported, failed := 0, 0
	if len(imp.Plans) > 0 {
		if imp.PlansFailed {
			failed++
			d := report(b.plans)[kindPlans].(map[string]any)
			details[kindPlans] = d
		} else {
			imported++
			details[kindPlans] = map[string]any{"status": statusImported}
		}
	}
	// Stored transactions join their groups for the report.
	extra := map[int][]*bulkObject{}
	var unassigned []*bulkObject
	unassigned = append(unassigned, b.unassigned...)
	for k, t := range imp.StoredTransactions {
		if t.Group < 0 {
			unassigned = append(unassigned, b.stored[k])
		} else {
			extra[t.Group] = append(extra[t.Group], b.stored[k])
		}
	}
	for g, grp := range imp.Groups {
		var objs []*bulkObject
		if g < len(b.groups) {
			objs = b.groups[g].objects
		}
		objs = append(objs, extra[g]...)
		var d map[string]any
		if grp.Failed {
			failed++
			d = report(objs)
			d["status"] = statusFailed
			if e := groupErrs[g]; e != nil {
				d["errors"] = e
			}
		} else {
			imported++
			d = map[string]any{"status": statusImported}
			for _, o := range objs {
				d[o.kind] = map[string]any{"status": statusImported}
			}
		}
		details[reportKey(grp.CustomerExternalID)] = d
	}
	if len(unassigned) > 0 {
		failed++
		d := report(unassigned)
		d["status"] = statusFailed
		details[unassignedKey] = d
	}
	status := importCompleted
	switch {
	case failed > 0 && imported == 0:
		status = importFailed
	case failed > 0:
		status = importPartial
	}
	out, _ := json.Marshal(details)
	return status, out
}

// reportKey is the status_details key of a customer's group: its
// external id, unless that is one of the keys Tally reports other objects
// under ("plans", "unassigned"), when it is prefixed with "customer:".
func reportKey(ext string) string {
	if ext == kindPlans || ext == unassignedKey || strings.HasPrefix(ext, "customer:") {
		return "customer:" + ext
	}
	return ext
}
