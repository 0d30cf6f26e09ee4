package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tally-analytics/tally/internal/billing"
)

// JSONImport is a bulk import (issue 13, POST
// /v1/data_sources/{uuid}/json_imports) as the store takes it: plans, and
// the objects of each customer as a group. A group is imported whole or
// not at all; the plans are one group of their own. What the caller found
// invalid it marks (Invalid); the store checks the rest against the
// database, writes every group that passes, the plans first, and the
// import's own record, all in one transaction.
type JSONImport struct {
	DataSourceUUID string
	ExternalID     string
	Plans          []billing.Plan
	PlansInvalid   bool
	Groups         []*ImportGroup
	// StoredTransactions name invoices of the data source that are not in
	// the request: each joins the group of its invoice's customer (the
	// store adds a group for a customer the request has none for), or is
	// refused with no group (Group -1).
	StoredTransactions []*StoredTransaction
	// LineName names an invoice's line in a message ("Line item #2"; the
	// default when nil).
	LineName func(g, i, n int) string
	// CheckStored, when not nil, checks a stored transaction against the
	// currency of its invoice (an exchange rate it needs): a message
	// refuses it, naming field.
	CheckStored func(currency string, t *billing.Transaction) (field, msg string, err error)

	// Set by the store.
	ID          string
	CreatedAt   time.Time
	PlansFailed bool
	// Known are the histories of the customers the import created, for
	// their recomputation (recompute.DirtyKnown).
	Known KnownHistories
}

// ImportGroup is one customer's objects in a bulk import.
type ImportGroup struct {
	CustomerExternalID string
	// Customer is a customer the import creates; nil names one already
	// in the data source by CustomerExternalID.
	Customer *billing.Customer
	// Invoices with their lines and transactions.
	Invoices []billing.Invoice
	Events   []billing.SubscriptionEvent
	// Invalid: the caller found an object of the group invalid.
	Invalid bool

	// Set by the store.
	Failed       bool
	CustomerUUID string
	transactions []int // indexes in JSONImport.StoredTransactions
}

// StoredTransaction is a transaction for an invoice already stored.
type StoredTransaction struct {
	InvoiceExternalID string
	Transaction       billing.Transaction
	Invalid           bool
	// Group is set by the store: the index of its group, or -1.
	Group int
}

// ImportFault is what the store found wrong with an object of a bulk
// import. Object says which.
type ImportFault struct {
	Object         ImportObject
	Field, Message string
}

// ImportObject names an object of a bulk import: its kind, its group
// (-1 for plans and for stored transactions without a group) and its
// index: a plan's in Plans, an invoice's or an event's in its group, a
// stored transaction's in StoredTransactions; Sub is a line's or a
// transaction's index in its invoice.
type ImportObject struct {
	Kind       ImportKind
	Group      int
	Index, Sub int
}

// ImportKind is the kind of an object of a bulk import.
type ImportKind int

const (
	ImportGroupItself ImportKind = iota // the group: its customer is unknown
	ImportCustomer
	ImportPlan
	ImportInvoice
	ImportInvoiceLine
	ImportInvoiceTransaction
	ImportStoredTransaction
	ImportEvent
)

// RenderImport turns an import's outcome into the record GET shows: the
// status and the status_details JSON. The store calls it inside its
// transaction, after the checks, so that the record is written with what
// it describes; on a retried transaction it is called again.
type RenderImport func(imp *JSONImport, faults []ImportFault) (status string, details []byte, err error)

// ImportJSON runs a bulk import (see JSONImport) in one transaction. An
// unknown data source is a *MissingError; an import external id already
// used in the data source a *ConflictError on external_id. currency is
// the account currency the caller checked rates against.
func (s *Store) ImportJSON(ctx context.Context, acct int64, currency string, imp *JSONImport, render RenderImport) error {
	// What the request holds; a run fills in what it stored, and a second
	// run must start again from the request.
	groups := len(imp.Groups)
	planExts := make([]string, len(imp.Plans))
	for k, p := range imp.Plans {
		planExts[k] = p.ExternalID
	}
	events := make([][]billing.SubscriptionEvent, groups)
	for g, grp := range imp.Groups {
		events[g] = slices.Clone(grp.Events)
	}
	return s.bulkTx(ctx, acct, true, func(tx *sql.Tx, conn *sql.Conn) error {
		imp.Groups = imp.Groups[:groups]
		for k := range imp.Plans {
			imp.Plans[k].ExternalID = planExts[k]
		}
		for g, grp := range imp.Groups {
			grp.Failed, grp.CustomerUUID, grp.transactions = grp.Invalid, "", nil
			copy(grp.Events, events[g])
			for i := range grp.Invoices {
				for n := range grp.Invoices[i].LineItems {
					if l := &grp.Invoices[i].LineItems[n]; l.PlanExternalID != "" {
						l.PlanUUID = "" // named by external id: the plan may be new, with a new UUID
					}
				}
			}
		}
		for _, t := range imp.StoredTransactions {
			t.Group = -1
		}
		imp.PlansFailed = imp.PlansInvalid
		run := &importRun{s: s, tx: tx, acct: acct, imp: imp}
		ctx := withCopyConn(ctx, conn)
		if err := run.check(ctx, currency); err != nil {
			return err
		}
		if err := run.write(ctx); err != nil {
			return err
		}
		status, details, err := render(imp, run.faults)
		if err != nil {
			return err
		}
		imp.ID, imp.CreatedAt = uuid.Must(uuid.NewV7()).String(), now()
		_, err = tx.ExecContext(ctx, `INSERT INTO json_imports (account_id, data_source_id, uuid, external_id, status, status_details,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			acct, run.ds.dataSourceID, imp.ID, imp.ExternalID, status, string(details), millis(imp.CreatedAt))
		return uniqueAs(err, "external_id", "record the import")
	})
}

// msgDuplicateEvent is what POST /v1/subscription_events answers for a
// duplicate external id.
const msgDuplicateEvent = "has already been taken"

// importRun is one run of an import's transaction.
type importRun struct {
	s      *Store
	tx     *sql.Tx
	acct   int64
	imp    *JSONImport
	ds     identity // the data source (id, uuid)
	faults []ImportFault
	// owners of the groups' invoices: the customer of each group.
	owners []invoiceOwner
	batch  *invoiceBatch
	where  []ImportObject // each invoice of batch: its group and index
	refs   batchRefs
	stored []storedInvoice // by StoredTransactions index
}

type storedInvoice struct {
	id, customerID int64
	identityID     int64
	currency       string
}

func (r *importRun) fail(o ImportObject, field, msg string) {
	r.faults = append(r.faults, ImportFault{Object: o, Field: field, Message: msg})
	switch {
	case o.Kind == ImportPlan:
		r.imp.PlansFailed = true
	case o.Group >= 0:
		r.imp.Groups[o.Group].Failed = true
	}
}

// check finds, without writing, which groups the database refuses, then
// writes the plans (if they pass: the groups' lines and events may name
// them).
func (r *importRun) check(ctx context.Context, currency string) error {
	imp, tx, s := r.imp, r.tx, r.s
	dsID, err := dataSourceID(ctx, tx, r.acct, imp.DataSourceUUID)
	if err != nil {
		return err
	}
	r.ds = identity{dataSourceID: dsID, dataSourceUUID: imp.DataSourceUUID}
	if err := s.lockDataSources(ctx, tx, []identity{r.ds}); err != nil {
		return err
	}
	if err := s.checkCurrency(ctx, tx, r.acct, currency); err != nil {
		return err
	}
	var taken bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM json_imports WHERE data_source_id = $1 AND external_id = $2)`,
		dsID, imp.ExternalID).Scan(&taken); err != nil {
		return fmt.Errorf("check import external id: %w", err)
	}
	if taken {
		return &ConflictError{Field: "external_id"}
	}
	if err := r.plans(ctx); err != nil {
		return err
	}
	if err := r.customers(ctx); err != nil {
		return err
	}
	if err := r.storedTransactions(ctx); err != nil {
		return err
	}
	if err := r.invoices(ctx); err != nil {
		return err
	}
	return r.events(ctx)
}

// plans checks the plans (external ids: new in the data source and once
// in the request) and writes them if none is refused.
func (r *importRun) plans(ctx context.Context) error {
	imp := r.imp
	if len(imp.Plans) == 0 {
		return nil
	}
	seen := map[string]int{}
	var exts []string
	for k, p := range imp.Plans {
		if p.ExternalID == "" {
			continue
		}
		if _, dup := seen[p.ExternalID]; dup {
			r.fail(ImportObject{Kind: ImportPlan, Group: -1, Index: k}, "external_id", billing.MsgDuplicatePlan)
			continue
		}
		seen[p.ExternalID] = k
		exts = append(exts, p.ExternalID)
	}
	err := r.s.lookupIn(ctx, r.tx, "t.external_id", "plans", "external_id", r.ds.dataSourceID, exts, func(scan func(...any) error) error {
		var ext string
		if err := scan(&ext); err != nil {
			return err
		}
		r.fail(ImportObject{Kind: ImportPlan, Group: -1, Index: seen[ext]}, "external_id", billing.MsgDuplicatePlan)
		return nil
	})
	if err != nil {
		return fmt.Errorf("check plan external ids: %w", err)
	}
	if imp.PlansFailed {
		return nil
	}
	ids, err := r.s.allocIDs(ctx, r.tx, "plans", len(imp.Plans))
	if err != nil {
		return err
	}
	rows := make([][]any, len(imp.Plans))
	for k := range imp.Plans {
		p := &imp.Plans[k]
		newPlan(p)
		p.ID, p.DataSourceUUID = ids[k], imp.DataSourceUUID
		rows[k] = []any{p.ID, r.acct, r.ds.dataSourceID, p.UUID, p.ExternalID, p.Name, p.IntervalCount, p.IntervalUnit, millis(p.CreatedAt)}
	}
	err = r.s.bulkInsert(ctx, r.tx, "plans", []string{"id", "account_id", "data_source_id", "uuid", "external_id", "name",
		"interval_count", "interval_unit", "created_at"}, rows)
	return uniqueAs(err, "plans.external_id", "import plans")
}

// customers finds each group's customer: one the import creates must be
// new in the data source, one it names must be there.
func (r *importRun) customers(ctx context.Context) error {
	imp := r.imp
	var newExt, oldExt []string
	byExt := map[string]int{}
	for g, grp := range imp.Groups {
		byExt[grp.CustomerExternalID] = g
		if grp.Customer != nil {
			newExt = append(newExt, grp.CustomerExternalID)
		} else {
			oldExt = append(oldExt, grp.CustomerExternalID)
		}
	}
	// A merged-away customer's identity lives on in another customer: an
	// identity or a customer row with the external id takes it.
	dup := map[int]bool{}
	for _, table := range []string{"customer_identities", "customers"} {
		err := r.s.lookupIn(ctx, r.tx, "t.external_id", table, "external_id", r.ds.dataSourceID, uniq(newExt), func(scan func(...any) error) error {
			var ext string
			if err := scan(&ext); err != nil {
				return err
			}
			if g := byExt[ext]; !dup[g] {
				dup[g] = true
				r.fail(ImportObject{Kind: ImportCustomer, Group: g}, "external_id", billing.MsgDuplicateCustomer)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("check customer external ids: %w", err)
		}
	}
	r.owners = make([]invoiceOwner, len(imp.Groups))
	for g, grp := range imp.Groups {
		// Until it is written, a new customer is known by its group.
		r.owners[g] = invoiceOwner{key: -int64(g) - 1, ident: identity{dataSourceID: r.ds.dataSourceID,
			dataSourceUUID: r.ds.dataSourceUUID, externalID: grp.CustomerExternalID}}
	}
	found, err := r.identities(ctx, uniq(oldExt))
	if err != nil {
		return err
	}
	for g, grp := range imp.Groups {
		if grp.Customer != nil {
			continue
		}
		o, ok := found[grp.CustomerExternalID]
		if !ok {
			r.fail(ImportObject{Kind: ImportGroupItself, Group: g}, "customer_external_id",
				"No customer with this external ID exists in the data source or in this import.")
			continue
		}
		r.owners[g] = o
	}
	return nil
}

// identities finds the customers of the data source with these external
// ids (merged identities included) as owners of invoices.
func (r *importRun) identities(ctx context.Context, exts []string) (map[string]invoiceOwner, error) {
	found := map[string]invoiceOwner{}
	err := r.s.lookupIn(ctx, r.tx, "t.external_id, t.id, t.customer_id", "customer_identities", "external_id", r.ds.dataSourceID, exts,
		func(scan func(...any) error) error {
			o := invoiceOwner{ident: r.ds}
			if err := scan(&o.ident.externalID, &o.ident.id, &o.customerID); err != nil {
				return err
			}
			o.key = o.customerID
			found[o.ident.externalID] = o
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("find customers: %w", err)
	}
	ids := make([]int64, 0, len(found))
	for _, o := range found {
		ids = append(ids, o.customerID)
	}
	uuids := map[int64]string{}
	err = queryIn(ctx, r.s.dialect, r.tx, `SELECT id, uuid FROM customers WHERE id IN (%s)`, nil, ids, func(scan func(...any) error) error {
		var id int64
		var u string
		err := scan(&id, &u)
		uuids[id] = u
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find customers: %w", err)
	}
	for ext, o := range found {
		o.customerUUID = uuids[o.customerID]
		found[ext] = o
	}
	return found, nil
}

// storedTransactions finds the invoice of each transaction that names
// one already stored, and puts the transaction in its customer's group.
func (r *importRun) storedTransactions(ctx context.Context) error {
	imp := r.imp
	if len(imp.StoredTransactions) == 0 {
		return nil
	}
	var exts []string
	for _, t := range imp.StoredTransactions {
		exts = append(exts, t.InvoiceExternalID)
	}
	invs := map[string]storedInvoice{}
	var identIDs []int64
	err := r.s.lookupIn(ctx, r.tx, "t.external_id, t.id, t.customer_id, t.identity_id, t.currency", "invoices", "external_id", r.ds.dataSourceID, uniq(exts),
		func(scan func(...any) error) error {
			var ext string
			var f storedInvoice
			err := scan(&ext, &f.id, &f.customerID, &f.identityID, &f.currency)
			invs[ext] = f
			identIDs = append(identIDs, f.identityID)
			return err
		})
	if err != nil {
		return fmt.Errorf("find invoices of transactions: %w", err)
	}
	// Each invoice's customer by the external id of its identity, as the
	// groups are keyed.
	owners := map[int64]invoiceOwner{}
	err = queryIn(ctx, r.s.dialect, r.tx, `SELECT ci.id, ci.external_id, c.id, c.uuid FROM customer_identities ci JOIN customers c ON c.id = ci.customer_id
		WHERE ci.id IN (%s)`, nil, identIDs, func(scan func(...any) error) error {
		o := invoiceOwner{ident: r.ds}
		if err := scan(&o.ident.id, &o.ident.externalID, &o.customerID, &o.customerUUID); err != nil {
			return err
		}
		o.key = o.customerID
		owners[o.ident.id] = o
		return nil
	})
	if err != nil {
		return fmt.Errorf("find customers of transactions: %w", err)
	}
	byExt := map[string]int{}
	for g, grp := range imp.Groups {
		byExt[grp.CustomerExternalID] = g
	}
	r.stored = make([]storedInvoice, len(imp.StoredTransactions))
	for k, t := range imp.StoredTransactions {
		f, ok := invs[t.InvoiceExternalID]
		if !ok {
			t.Group = -1
			r.fail(ImportObject{Kind: ImportStoredTransaction, Group: -1, Index: k}, "invoice_external_id",
				"No invoice with this external ID exists in the data source or in this import.")
			continue
		}
		o := owners[f.identityID]
		g, ok := byExt[o.ident.externalID]
		if !ok {
			g = len(imp.Groups)
			imp.Groups = append(imp.Groups, &ImportGroup{CustomerExternalID: o.ident.externalID})
			r.owners = append(r.owners, o)
			byExt[o.ident.externalID] = g
		}
		t.Group = g
		grp := imp.Groups[g]
		grp.transactions = append(grp.transactions, k)
		if t.Invalid {
			grp.Failed = true
		}
		r.stored[k] = f
		if imp.CheckStored != nil {
			field, msg, err := imp.CheckStored(f.currency, &t.Transaction)
			if err != nil {
				return err
			}
			if msg != "" {
				r.fail(ImportObject{Kind: ImportStoredTransaction, Group: g, Index: k}, field, msg)
			}
		}
	}
	// A transaction's external id is new in the data source.
	seen := map[string]int{}
	var txExt []string
	for k, t := range imp.StoredTransactions {
		if e := t.Transaction.ExternalID; e != nil && t.Group >= 0 {
			if _, dup := seen[*e]; dup {
				r.fail(ImportObject{Kind: ImportStoredTransaction, Group: t.Group, Index: k}, "external_id", billing.MsgDuplicateTransaction)
				continue
			}
			seen[*e] = k
			txExt = append(txExt, *e)
		}
	}
	err = r.s.lookupIn(ctx, r.tx, "t.external_id", "transactions", "external_id", r.ds.dataSourceID, txExt, func(scan func(...any) error) error {
		var ext string
		if err := scan(&ext); err != nil {
			return err
		}
		k := seen[ext]
		r.fail(ImportObject{Kind: ImportStoredTransaction, Group: imp.StoredTransactions[k].Group, Index: k}, "external_id", billing.MsgDuplicateTransaction)
		return nil
	})
	if err != nil {
		return fmt.Errorf("check transaction external ids: %w", err)
	}
	return nil
}

// invoices runs the per-customer import's checks on every group's
// invoices as one batch.
func (r *importRun) invoices(ctx context.Context) error {
	imp := r.imp
	lineName := imp.LineName
	if lineName == nil {
		lineName = func(_, _, n int) string { return fmt.Sprintf("Line item #%d", n+1) }
	}
	b := &invoiceBatch{}
	for g, grp := range imp.Groups {
		for i := range grp.Invoices {
			b.invs = append(b.invs, grp.Invoices[i])
			b.owners = append(b.owners, r.owners[g])
			r.where = append(r.where, ImportObject{Kind: ImportInvoice, Group: g, Index: i})
		}
	}
	at := func(i int, kind ImportKind, n int) ImportObject {
		o := r.where[i]
		o.Kind, o.Sub = kind, n
		return o
	}
	b.faults = invoiceFaults{
		invoice:     func(i int, key, msg string) { r.fail(at(i, ImportInvoice, 0), key, msg) },
		line:        func(i, n int, field, msg string) { r.fail(at(i, ImportInvoiceLine, n), field, msg) },
		transaction: func(i, n int, field, msg string) { r.fail(at(i, ImportInvoiceTransaction, n), field, msg) },
		lineName:    func(i, n int) string { return lineName(r.where[i].Group, r.where[i].Index, n) },
	}
	refs, err := r.s.checkInvoices(ctx, r.tx, b)
	if err != nil {
		return err
	}
	// The checks fill in plan UUIDs named by external id: back to the
	// groups' invoices.
	for i, o := range r.where {
		imp.Groups[o.Group].Invoices[o.Index] = b.invs[i]
	}
	r.batch, r.refs = b, refs
	return nil
}

// events checks what the groups' events name: a plan of the data source
// by external id, and an external id new in the data source (and once in
// the request).
func (r *importRun) events(ctx context.Context) error {
	imp := r.imp
	var plans, exts []string
	seen := map[string]ImportObject{}
	for g, grp := range imp.Groups {
		for k, e := range grp.Events {
			o := ImportObject{Kind: ImportEvent, Group: g, Index: k}
			if e.PlanExternalID != nil {
				plans = append(plans, *e.PlanExternalID)
			}
			if e.ExternalID != nil {
				if _, dup := seen[*e.ExternalID]; dup {
					r.fail(o, "external_id", msgDuplicateEvent)
					continue
				}
				seen[*e.ExternalID] = o
				exts = append(exts, *e.ExternalID)
			}
		}
	}
	known := map[string]bool{}
	err := r.s.lookupIn(ctx, r.tx, "t.external_id", "plans", "external_id", r.ds.dataSourceID, uniq(plans), func(scan func(...any) error) error {
		var ext string
		err := scan(&ext)
		known[ext] = true
		return err
	})
	if err != nil {
		return fmt.Errorf("find plans of events: %w", err)
	}
	err = r.s.lookupIn(ctx, r.tx, "t.external_id", "subscription_events", "external_id", r.ds.dataSourceID, exts, func(scan func(...any) error) error {
		var ext string
		if err := scan(&ext); err != nil {
			return err
		}
		r.fail(seen[ext], "external_id", msgDuplicateEvent)
		return nil
	})
	if err != nil {
		return fmt.Errorf("check event external ids: %w", err)
	}
	for g, grp := range imp.Groups {
		for k, e := range grp.Events {
			if e.PlanExternalID != nil && !known[*e.PlanExternalID] {
				r.fail(ImportObject{Kind: ImportEvent, Group: g, Index: k}, "plan_external_id",
					"No plan with this external ID exists in the data source.")
			}
		}
	}
	return nil
}

// write stores the groups that passed: their new customers, invoices,
// transactions and events, and marks every customer they touched.
func (r *importRun) write(ctx context.Context) error {
	imp, tx, s := r.imp, r.tx, r.s
	var fresh []int // groups whose customer the import creates
	for g, grp := range imp.Groups {
		if !grp.Failed && grp.Customer != nil {
			fresh = append(fresh, g)
		}
	}
	if err := r.newCustomers(ctx, fresh); err != nil {
		return err
	}
	var touched []int64
	b := &invoiceBatch{}
	var where []ImportObject
	for i, o := range r.where {
		if grp := imp.Groups[o.Group]; !grp.Failed {
			inv := r.batch.invs[i]
			b.invs = append(b.invs, inv)
			b.owners = append(b.owners, r.owners[o.Group])
			where = append(where, o)
		}
	}
	for g, grp := range imp.Groups {
		if !grp.Failed {
			grp.CustomerUUID = r.owners[g].customerUUID
			touched = append(touched, r.owners[g].customerID)
		}
	}
	if err := s.insertInvoices(ctx, tx, r.acct, b, r.refs); err != nil {
		return err
	}
	// The histories of the customers the import created, events aside
	// (a cancellation event and its retraction are the database's to
	// match), are what it just wrote.
	whole := map[int64]bool{}
	for _, g := range fresh {
		if len(imp.Groups[g].Events) == 0 {
			whole[r.owners[g].customerID] = true
		}
	}
	imp.Known = KnownHistories{Seq: mathrand.Int64(), Histories: knownHistories(b, r.refs, r.owners, fresh, whole)}
	for i, o := range where {
		imp.Groups[o.Group].Invoices[o.Index] = b.invs[i]
	}
	var txRows [][]any
	created := millis(now())
	for _, grp := range imp.Groups {
		if grp.Failed {
			continue
		}
		for _, k := range grp.transactions {
			t, inv := &imp.StoredTransactions[k].Transaction, r.stored[k]
			t.UUID = NewUUID("tr_")
			txRows = append(txRows, []any{r.acct, inv.id, r.ds.dataSourceID, t.UUID, nullStr(t.ExternalID), t.Type, t.Result,
				millis(t.Date), nullInt(t.AmountInCents), nullInt(t.TransactionFeesInCents), nullStr(t.TransactionFeesCurrency), created})
		}
	}
	if err := s.insertTransactionRows(ctx, tx, txRows); err != nil {
		return err
	}
	for _, grp := range imp.Groups {
		if grp.Failed {
			continue
		}
		for k := range grp.Events {
			e := &grp.Events[k]
			e.DataSourceUUID, e.CustomerExternalID = imp.DataSourceUUID, grp.CustomerExternalID
			if _, err := insertEvent(ctx, tx, r.acct, e); err != nil {
				var fe billing.FieldErrors
				if errors.As(err, &fe) {
					// The checks above found everything it needs.
					return fmt.Errorf("import subscription event: %w", err)
				}
				return err
			}
		}
	}
	return markDirtyIDs(ctx, s.dialect, tx, imp.Known.Seq, touched)
}

// newCustomers writes the customers (and their own identities) of the
// groups fresh names, and gives the groups' invoices their ids.
func (r *importRun) newCustomers(ctx context.Context, fresh []int) error {
	if len(fresh) == 0 {
		return nil
	}
	imp, tx, s := r.imp, r.tx, r.s
	both, err := s.allocIDsOf(ctx, tx, []idAlloc{{"customers", len(fresh)}, {"customer_identities", len(fresh)}})
	if err != nil {
		return err
	}
	ids, identIDs := both[0], both[1]
	rows, idents := make([][]any, len(fresh)), make([][]any, len(fresh))
	for k, g := range fresh {
		c := imp.Groups[g].Customer
		tags, custom, err := encodeAttributes(c)
		if err != nil {
			return fmt.Errorf("import customer: %w", err)
		}
		c.ID, c.UUID, c.CreatedAt, c.Status = ids[k], NewUUID("cus_"), now(), billing.StatusNewLead
		c.DataSourceUUID = imp.DataSourceUUID
		rows[k] = append([]any{c.ID}, customerRow(r.acct, r.ds.dataSourceID, c, tags, custom)...)
		idents[k] = []any{identIDs[k], r.acct, c.ID, r.ds.dataSourceID, c.ExternalID}
		o := &r.owners[g]
		o.key, o.customerID, o.customerUUID, o.ident.id = c.ID, c.ID, c.UUID, identIDs[k]
	}
	cols := append([]string{"id"}, strings.Split(strings.Join(strings.Fields(customerInsertCols), ""), ",")...)
	if err := s.bulkInsert(ctx, tx, "customers", cols, rows); err != nil {
		return uniqueAs(err, "external_id", "import customers")
	}
	err = s.bulkInsert(ctx, tx, "customer_identities", []string{"id", "account_id", "customer_id", "data_source_id", "external_id"}, idents)
	return uniqueAs(err, "external_id", "import customer identities")
}

// ImportRecord is a bulk import as GET shows it.
type ImportRecord struct {
	ID             string
	DataSourceUUID string
	ExternalID     string
	Status         string
	Details        []byte
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// JSONImportRecord finds an import of the data source by its id or its
// external id (ChartMogul's track-status page names it by either).
func (s *Store) JSONImportRecord(ctx context.Context, acct int64, dsUUID, id string) (ImportRecord, error) {
	rec := ImportRecord{DataSourceUUID: dsUUID}
	if _, err := dataSourceID(ctx, s.r, acct, dsUUID); err != nil {
		return rec, err
	}
	var details string
	var created, updated int64
	err := s.r.QueryRowContext(ctx, `SELECT j.uuid, j.external_id, j.status, j.status_details, j.created_at, j.updated_at
		FROM json_imports j JOIN data_sources ds ON ds.id = j.data_source_id
		WHERE ds.account_id = $1 AND ds.uuid = $2 AND (j.uuid = $3 OR j.external_id = $3)
		ORDER BY CASE WHEN j.uuid = $3 THEN 0 ELSE 1 END LIMIT 1`, acct, dsUUID, id).
		Scan(&rec.ID, &rec.ExternalID, &rec.Status, &details, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, &MissingError{What: "import"}
	}
	if err != nil {
		return rec, fmt.Errorf("find import: %w", err)
	}
	rec.Details, rec.CreatedAt, rec.UpdatedAt = []byte(details), fromMillis(created), fromMillis(updated)
	return rec, nil
}

// knownHistories builds, for the customers in whole, the histories that
// histories() would read back once b is stored: their subscriptions in id
// order with their subscription lines in id order (metrics.md rule 5's
// refund documents marked), the cancellations their lines made, and
// their invoices' currencies. A store test compares the two. fresh lists
// the groups whose customers the import created: one without an invoice
// has an empty history.
func knownHistories(b *invoiceBatch, refs batchRefs, owners []invoiceOwner, fresh []int, whole map[int64]bool) map[int64]*History {
	out := make(map[int64]*History, len(whole))
	for _, g := range fresh {
		if o := owners[g]; whole[o.customerID] {
			out[o.customerID] = &History{CustomerID: o.customerID, CustomerUUID: o.customerUUID}
		}
	}
	subs := map[int64]*HistorySubscription{}
	currencies := map[int64][]string{}
	ms := func(t time.Time) time.Time { return fromMillis(millis(t)) }
	for i := range b.invs {
		inv, o := &b.invs[i], b.owners[i]
		h := out[o.customerID]
		if h == nil {
			continue
		}
		if !slices.Contains(currencies[o.customerID], inv.Currency) {
			currencies[o.customerID] = append(currencies[o.customerID], inv.Currency)
		}
		refunded, paid := false, false
		for _, t := range inv.Transactions {
			refunded = refunded || (t.Type == "refund" && t.Result == "successful")
			paid = paid || t.Type == "payment"
		}
		for n := range inv.LineItems {
			l := &inv.LineItems[n]
			if !l.HasSubscription() {
				continue
			}
			ref := refs.subs[o.ident.dataSourceID][l.SubscriptionExternalID]
			sub := subs[ref.id]
			if sub == nil {
				sub = &HistorySubscription{ID: ref.id, UUID: ref.uuid, ExternalID: l.SubscriptionExternalID}
				subs[ref.id] = sub
				h.Subscriptions = append(h.Subscriptions, sub)
			}
			p := refs.plans[o.ident.dataSourceID][l.PlanUUID]
			hl := HistoryLine{SubscriptionID: ref.id, UUID: l.UUID, InvoiceUUID: inv.UUID, Type: l.Type, PlanUUID: p.uuid,
				PlanExternalID: p.externalID, PlanName: p.name, IntervalUnit: p.intervalUnit, IntervalCount: p.intervalCount,
				Start: ms(*l.ServicePeriodStart), End: ms(*l.ServicePeriodEnd), Amount: l.AmountInCents, Quantity: l.Quantity,
				Tax: l.TaxAmountInCents, Fees: l.TransactionFeesInCents, Currency: inv.Currency, Prorated: l.Prorated,
				Seq: l.ID, RefundDocument: refunded && !paid}
			if l.ProrationType != nil {
				hl.ProrationType = *l.ProrationType
			}
			if l.EventOrder != nil {
				order := *l.EventOrder
				hl.EventOrder = &order
			}
			sub.Lines = append(sub.Lines, hl)
			if id, ok := b.cancellations[l.ID]; ok {
				sub.Cancellations = append(sub.Cancellations, ms(*l.CancelledAt))
				sub.CancellationSources = append(sub.CancellationSources, "cancellation:"+strconv.FormatInt(id, 10))
			}
		}
	}
	for id, cur := range currencies {
		slices.Sort(cur)
		out[id].Currencies = cur
	}
	return out
}
