package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tally-analytics/tally/internal/billing"
)

// ItemRef names a line item or a transaction (issue 13): by its UUID, or
// by its data source and external id.
type ItemRef struct {
	UUID           string
	DataSourceUUID string
	ExternalID     string
}

// where is the condition selecting the row of table alias t that ref
// names in account $1, with its arguments.
func (ref ItemRef) where(t string, acct int64) (string, []any) {
	if ref.UUID != "" {
		return t + `.account_id = $1 AND ` + t + `.uuid = $2`, []any{acct, ref.UUID}
	}
	return t + `.account_id = $1 AND ` + t + `.data_source_id = (SELECT ds.id FROM data_sources ds WHERE ds.account_id = $1 AND ds.uuid = $2)
		AND ` + t + `.external_id = $3`, []any{acct, ref.DataSourceUUID, ref.ExternalID}
}

// lineItemCols are a line item's columns as scanLineItem reads them, from
// lineItemFrom.
const lineItemCols = `l.id, l.uuid, l.external_id, l.type, s.uuid, s.external_id, l.subscription_set_external_id,
	p.uuid, l.service_period_start, l.service_period_end, l.amount_in_cents, l.quantity, l.prorated, l.proration_type,
	l.cancelled_at, l.discount_amount_in_cents, l.discount_code, l.discount_description, l.tax_amount_in_cents,
	l.transaction_fees_in_cents, l.transaction_fees_currency, l.account_code, l.description, l.event_order, l.balance_transfer,
	l.disabled_at, l.disabled_by, l.user_created`
const lineItemFrom = ` FROM line_items l LEFT JOIN subscriptions s ON s.id = l.subscription_id LEFT JOIN plans p ON p.id = l.plan_id `

// scanLineItem reads lineItemCols after the columns lead points to.
func scanLineItem(scan func(...any) error, lead ...any) (billing.LineItem, error) {
	var l billing.LineItem
	var ext, subUUID, subExt, setExt, planUUID, prorationType, discountDesc, feesCur, desc, disabledBy sql.NullString
	var start, end, cancelled, eventOrder, disabledAt sql.NullInt64
	var prorated, balance, userCreated int
	if err := scan(append(lead, &l.ID, &l.UUID, &ext, &l.Type, &subUUID, &subExt, &setExt, &planUUID, &start, &end,
		&l.AmountInCents, &l.Quantity, &prorated, &prorationType, &cancelled, &l.DiscountAmountInCents, &l.DiscountCode,
		&discountDesc, &l.TaxAmountInCents, &l.TransactionFeesInCents, &feesCur, &l.AccountCode, &desc, &eventOrder, &balance,
		&disabledAt, &disabledBy, &userCreated)...); err != nil {
		return l, err
	}
	l.Disabled, l.UserCreated = billing.Disabled{At: timePtr(disabledAt), By: strPtr(disabledBy)}, userCreated != 0
	l.ExternalID, l.SubscriptionUUID, l.SubscriptionExternalID, l.SubscriptionSetExternalID = strPtr(ext), subUUID.String, subExt.String, strPtr(setExt)
	l.PlanUUID, l.ServicePeriodStart, l.ServicePeriodEnd = planUUID.String, timePtr(start), timePtr(end)
	l.Prorated, l.ProrationType, l.CancelledAt, l.DiscountDescription = prorated != 0, strPtr(prorationType), timePtr(cancelled), strPtr(discountDesc)
	l.TransactionFeesCurrency, l.Description, l.EventOrder, l.BalanceTransfer = strPtr(feesCur), strPtr(desc), intPtr(eventOrder), balance != 0
	return l, nil
}

// lineRefs is what lines of one data source refer to in the database,
// looked up once for all of them: the lines that already hold their
// external ids, the plans they name, the subscriptions they name. An
// import and a line added to or edited in an invoice are checked against
// it alike (lineRefs.check).
type lineRefs struct {
	lines map[string]int64  // external id → the id of the stored line holding it
	subs  map[string]subRef // subscription external id → the stored subscription
	// info is, by UUID, each of the data source's plans among those
	// named; byExt the UUID of a plan named by external id (a bulk
	// import's lines may).
	info  map[string]planRef
	byExt map[string]string
}

// lookupLineRefs reads what lines, all of the data source dsID, refer to.
// With hold, it locks the plans and subscriptions it finds against a
// delete (see lookupInHeld).
func (s *Store) lookupLineRefs(ctx context.Context, q querier, dsID int64, lines []*billing.LineItem, hold bool) (lineRefs, error) {
	r := lineRefs{lines: map[string]int64{}, subs: map[string]subRef{}, info: map[string]planRef{},
		byExt: map[string]string{}}
	var lineExt, planUUIDs, planExts, subExt []string
	for _, l := range lines {
		if l.ExternalID != nil {
			lineExt = append(lineExt, *l.ExternalID)
		}
		if l.HasSubscription() {
			if l.PlanUUID == "" && l.PlanExternalID != "" {
				planExts = append(planExts, l.PlanExternalID)
			} else {
				planUUIDs = append(planUUIDs, l.PlanUUID)
			}
			subExt = append(subExt, l.SubscriptionExternalID)
		}
	}
	if err := s.lookupIn(ctx, q, "t.external_id, t.id", "line_items", "external_id", dsID, uniq(lineExt),
		func(scan func(...any) error) error {
			var ext string
			var id int64
			err := scan(&ext, &id)
			r.lines[ext] = id
			return err
		}); err != nil {
		return r, fmt.Errorf("check line item external ids: %w", err)
	}
	// A plan found by UUID or by external id is known by both.
	plan := func(scan func(...any) error) error {
		var p planRef
		err := scan(&p.uuid, &p.id, &p.externalID, &p.name, &p.intervalUnit, &p.intervalCount)
		r.info[p.uuid], r.byExt[p.externalID] = p, p.uuid
		return err
	}
	const planCols = "t.uuid, t.id, t.external_id, t.name, t.interval_unit, t.interval_count"
	if err := s.lookupInHeld(ctx, q, hold, planCols, "plans", "uuid", dsID, uniq(planUUIDs), plan); err != nil {
		return r, fmt.Errorf("find plans: %w", err)
	}
	if err := s.lookupInHeld(ctx, q, hold, planCols, "plans", "external_id", dsID, uniq(planExts), plan); err != nil {
		return r, fmt.Errorf("find plans: %w", err)
	}
	if err := s.lookupInHeld(ctx, q, hold, "t.external_id, t.id, t.customer_id, t.uuid", "subscriptions", "external_id", dsID, uniq(subExt),
		func(scan func(...any) error) error {
			var ext string
			var sub subRef
			err := scan(&ext, &sub.id, &sub.customerID, &sub.uuid)
			r.subs[ext] = sub
			return err
		}); err != nil {
		return r, fmt.Errorf("find subscriptions: %w", err)
	}
	return r, nil
}

// resolvePlan gives a line that names its plan by external id the plan's
// UUID, if the data source has that plan.
func (r lineRefs) resolvePlan(l *billing.LineItem) {
	if l.PlanUUID == "" && l.PlanExternalID != "" {
		l.PlanUUID = r.byExt[l.PlanExternalID]
	}
}

// check hands fail what is wrong with line l of customerID against the
// database: an external id another line of the data source holds (self
// is l's own id, 0 for a new line), a plan not in the data source, a
// subscription of another customer. what names the line in messages and
// prefix starts the keys, as for billing.ValidateLine.
func (r lineRefs) check(l *billing.LineItem, self, customerID int64, what, prefix string, fail func(key, msg string)) {
	if l.ExternalID != nil {
		if id, ok := r.lines[*l.ExternalID]; ok && id != self {
			fail(prefix+"external_id", billing.MsgDuplicateLineItem)
		}
	}
	if !l.HasSubscription() {
		return
	}
	if _, ok := r.info[l.PlanUUID]; !ok {
		if l.PlanUUID == "" && l.PlanExternalID != "" {
			fail(prefix+"plan_external_id", fmt.Sprintf("%s: no plan with the external ID %s in the invoice's data source.", what, l.PlanExternalID))
		} else {
			fail(prefix+"plan_uuid", fmt.Sprintf("%s: no plan %s in the invoice's data source.", what, l.PlanUUID))
		}
	}
	if sub, ok := r.subs[l.SubscriptionExternalID]; ok && sub.customerID != customerID {
		fail(prefix+"subscription_external_id", fmt.Sprintf("%s: subscription %s belongs to another customer.", what, l.SubscriptionExternalID))
	}
}

// InvoiceLine is a line item on its own (the line-item routes), with what
// they show and an edit needs of its invoice.
type InvoiceLine struct {
	billing.LineItem
	// PlanExternalID is its plan's external id ("" for a line without one).
	PlanExternalID string
	InvoiceUUID    string
	// Currency is its invoice's.
	Currency string
	home     lineHome
}

// lineHome is where a line lives: its invoice, and the invoice's data
// source, customer and identity.
type lineHome struct {
	invoiceID, dataSourceID, customerID, identityID int64
}

// lineByRef loads the line ref names, locking it for an edit when lock.
func (s *Store) lineByRef(ctx context.Context, q querier, acct int64, ref ItemRef, lock bool) (InvoiceLine, error) {
	var out InvoiceLine
	where, args := ref.where("l", acct)
	query := `SELECT i.id, i.data_source_id, i.customer_id, i.identity_id, i.uuid, i.currency, COALESCE(p.external_id, ''), ` +
		lineItemCols + lineItemFrom + `JOIN invoices i ON i.id = l.invoice_id WHERE ` + where
	if lock {
		query += s.forUpdate("l")
	}
	h := &out.home
	l, err := scanLineItem(q.QueryRowContext(ctx, query, args...).Scan, &h.invoiceID, &h.dataSourceID, &h.customerID, &h.identityID,
		&out.InvoiceUUID, &out.Currency, &out.PlanExternalID)
	if errors.Is(err, sql.ErrNoRows) {
		return out, &MissingError{What: "line item"}
	}
	if err != nil {
		return out, fmt.Errorf("find line item: %w", err)
	}
	out.LineItem = l
	return out, nil
}

// LineItem finds one line item of the account.
func (s *Store) LineItem(ctx context.Context, acct int64, ref ItemRef) (InvoiceLine, error) {
	return s.lineByRef(ctx, s.r, acct, ref, false)
}

// AddLineItem adds line l to an imported invoice (POST
// /v1/import/invoices/{uuid}/line_items), checked against the database as
// an import checks its lines (lineRefs.check) and stored as an import
// stores them (saveLine); it is user_created. check is given the invoice's
// currency (the caller's exchange-rate check); accountCurrency is the one
// the caller checked rates against.
func (s *Store) AddLineItem(ctx context.Context, acct int64, invoiceUUID, accountCurrency string, l *billing.LineItem,
	check func(currency string) error) (InvoiceLine, error) {
	var out InvoiceLine
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		l.ID, l.UUID, l.SubscriptionUUID = 0, "", "" // a second run starts again
		var h lineHome
		var currency string
		var lines, position int
		err := tx.QueryRowContext(ctx, `SELECT i.id, i.data_source_id, i.customer_id, i.identity_id, i.currency,
			(SELECT count(*) FROM line_items l WHERE l.invoice_id = i.id), (SELECT COALESCE(max(l.position), -1) + 1 FROM line_items l WHERE l.invoice_id = i.id)
			FROM invoices i WHERE i.account_id = $1 AND i.uuid = $2`, acct, invoiceUUID).
			Scan(&h.invoiceID, &h.dataSourceID, &h.customerID, &h.identityID, &currency, &lines, &position)
		if errors.Is(err, sql.ErrNoRows) {
			return &MissingError{What: "invoice"}
		}
		if err != nil {
			return fmt.Errorf("add line item: %w", err)
		}
		// Locks in an import's order: the data source, then the account.
		if err := s.lockDataSources(ctx, tx, []identity{{dataSourceID: h.dataSourceID}}); err != nil {
			return err
		}
		if err := s.checkCurrency(ctx, tx, acct, accountCurrency); err != nil {
			return err
		}
		if err := check(currency); err != nil {
			return err
		}
		if lines >= billing.MaxItems {
			return billing.FieldErrors{"line_items": fmt.Sprintf("An invoice holds at most %d line items; this one is full.", billing.MaxItems)}
		}
		l.UUID, l.UserCreated = NewUUID("li_"), true
		if err := s.saveLine(ctx, tx, acct, h, l, position); err != nil {
			return err
		}
		out, err = s.lineByRef(ctx, tx, acct, ItemRef{UUID: l.UUID}, false)
		return err
	})
	return out, err
}

// UpdateLineItem edits a line item in place (PATCH /v1/line_items): change
// applies the request to the line (given its invoice's currency, for the
// caller's exchange-rate check) and says which fields it changed, which
// are recorded in the line's edit history under author. The edited line is
// checked and stored as an import checks and stores its lines, so every
// invariant of an import holds after it: its plan is one of the invoice's
// data source, its subscription is no other customer's and is created on
// first sight, a subscription it leaves without lines is dropped (as
// DeleteInvoice does), and its cancelled_at is its subscription's
// cancellation for as long as it says so.
func (s *Store) UpdateLineItem(ctx context.Context, acct int64, accountCurrency string, ref ItemRef, author string,
	change func(l *billing.LineItem, currency string) ([]FieldEdit, error)) (InvoiceLine, error) {
	var out InvoiceLine
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		cur, err := s.lineByRef(ctx, tx, acct, ref, true)
		if err != nil {
			return err
		}
		if err := s.lockDataSources(ctx, tx, []identity{{dataSourceID: cur.home.dataSourceID}}); err != nil {
			return err
		}
		if err := s.checkCurrency(ctx, tx, acct, accountCurrency); err != nil {
			return err
		}
		l := cur.LineItem
		edits, err := change(&l, cur.Currency)
		if err != nil {
			return err
		}
		l.ID, l.UUID, l.Disabled, l.UserCreated = cur.ID, cur.UUID, cur.Disabled, cur.UserCreated
		if err := s.saveLine(ctx, tx, acct, cur.home, &l, -1); err != nil {
			return err
		}
		if err := recordEdits(ctx, tx, acct, EditLineItem, l.ID, author, now(), edits); err != nil {
			return err
		}
		out, err = s.lineByRef(ctx, tx, acct, ItemRef{UUID: l.UUID}, false)
		return err
	})
	return out, err
}

// saveLine checks line l of the invoice at h against the database and
// stores it: inserted at position, or (position < 0) written over the
// stored line l.ID. Its subscription is found or created, its cancelled_at
// recorded as a cancellation of that subscription from this line (and any
// earlier one from it removed), subscriptions left without a line are
// dropped, and the customer is marked for recomputation. The caller holds
// the data source's lock (lockDataSources), as an import does, so that
// two writers cannot both create one subscription.
func (s *Store) saveLine(ctx context.Context, tx *sql.Tx, acct int64, h lineHome, l *billing.LineItem, position int) error {
	refs, err := s.lookupLineRefs(ctx, tx, h.dataSourceID, []*billing.LineItem{l}, false)
	if err != nil {
		return err
	}
	errs := billing.FieldErrors{}
	refs.check(l, l.ID, h.customerID, "The line item", "", func(key, msg string) {
		if _, ok := errs[key]; !ok {
			errs[key] = msg
		}
	})
	if len(errs) > 0 {
		return errs
	}
	var subID, planID any
	if l.HasSubscription() {
		sub, ok := refs.subs[l.SubscriptionExternalID]
		if !ok {
			// Created on first sight, as an import creates it.
			sub = subRef{uuid: NewUUID("sub_"), customerID: h.customerID}
			err := tx.QueryRowContext(ctx, `INSERT INTO subscriptions (account_id, data_source_id, customer_id, identity_id, uuid,
				external_id, subscription_set_external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				acct, h.dataSourceID, h.customerID, h.identityID, sub.uuid, l.SubscriptionExternalID, nullStr(l.SubscriptionSetExternalID),
				millis(now())).Scan(&sub.id)
			if err != nil {
				return uniqueAs(err, "subscription_external_id", "create subscription")
			}
		}
		l.SubscriptionUUID, subID, planID = sub.uuid, sub.id, refs.info[l.PlanUUID].id
	}
	values := []any{nullStr(l.ExternalID), l.Type, subID, nullStr(l.SubscriptionSetExternalID), planID,
		nullMillis(l.ServicePeriodStart), nullMillis(l.ServicePeriodEnd), l.AmountInCents, l.Quantity, boolInt(l.Prorated),
		nullStr(l.ProrationType), nullMillis(l.CancelledAt), l.DiscountAmountInCents, l.DiscountCode, nullStr(l.DiscountDescription),
		l.TaxAmountInCents, l.TransactionFeesInCents, nullStr(l.TransactionFeesCurrency), l.AccountCode, nullStr(l.Description),
		nullInt(l.EventOrder), boolInt(l.BalanceTransfer)}
	if position >= 0 {
		err = tx.QueryRowContext(ctx, `INSERT INTO line_items (external_id, type, subscription_id, subscription_set_external_id, plan_id,
			service_period_start, service_period_end, amount_in_cents, quantity, prorated, proration_type, cancelled_at,
			discount_amount_in_cents, discount_code, discount_description, tax_amount_in_cents, transaction_fees_in_cents,
			transaction_fees_currency, account_code, description, event_order, balance_transfer,
			account_id, invoice_id, data_source_id, uuid, position, user_created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
			$23, $24, $25, $26, $27, $28) RETURNING id`,
			append(values, acct, h.invoiceID, h.dataSourceID, l.UUID, position, boolInt(l.UserCreated))...).Scan(&l.ID)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE line_items SET external_id = $1, type = $2, subscription_id = $3,
			subscription_set_external_id = $4, plan_id = $5, service_period_start = $6, service_period_end = $7, amount_in_cents = $8,
			quantity = $9, prorated = $10, proration_type = $11, cancelled_at = $12, discount_amount_in_cents = $13, discount_code = $14,
			discount_description = $15, tax_amount_in_cents = $16, transaction_fees_in_cents = $17, transaction_fees_currency = $18,
			account_code = $19, description = $20, event_order = $21, balance_transfer = $22
			WHERE id = $23`, append(values, l.ID)...)
	}
	if err != nil {
		return uniqueAs(err, "external_id", "save line item")
	}
	// The line's cancelled_at is its subscription's cancellation while
	// the line says so (metrics.md rule 9), as an import records it.
	if _, err := tx.ExecContext(ctx, `DELETE FROM cancellations WHERE line_item_id = $1`, l.ID); err != nil {
		return fmt.Errorf("save line item cancellation: %w", err)
	}
	if l.HasSubscription() && l.CancelledAt != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cancellations (account_id, subscription_id, line_item_id, cancelled_at) VALUES ($1, $2, $3, $4)`,
			acct, subID, l.ID, millis(*l.CancelledAt)); err != nil {
			return fmt.Errorf("save line item cancellation: %w", err)
		}
	}
	if err := markDirty(ctx, tx, `$1`, h.customerID); err != nil {
		return err
	}
	return dropOrphanSubscriptions(ctx, tx, h.customerID)
}

// DeleteLineItem removes a line item, its cancellation and edit history,
// and any subscription it leaves without a line. An invoice keeps at least
// one line, as an import requires (api.md "Line items"): deleting its last
// is refused, and deleting the invoice is what removes it.
func (s *Store) DeleteLineItem(ctx context.Context, acct int64, ref ItemRef) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		l, err := s.lineByRef(ctx, tx, acct, ref, true)
		if err != nil {
			return err
		}
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM line_items WHERE invoice_id = $1 AND id <> $2`, l.home.invoiceID, l.ID).
			Scan(&others); err != nil {
			return fmt.Errorf("delete line item: %w", err)
		}
		if others == 0 {
			return billing.FieldErrors{"line_items": "An invoice needs at least one line item: this is its last one; delete the invoice instead."}
		}
		if err := markDirty(ctx, tx, `$1`, l.home.customerID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM line_items WHERE id = $1`, l.ID); err != nil {
			return fmt.Errorf("delete line item: %w", err)
		}
		return dropOrphanSubscriptions(ctx, tx, l.home.customerID)
	})
}

// SetLineItemDisabled disables (or enables) a line item: it stays, listed
// with with_disabled=true, and counts in no metric while disabled
// (setDisabled records the change and marks the customer).
func (s *Store) SetLineItemDisabled(ctx context.Context, acct int64, ref ItemRef, disabled bool, author string) (InvoiceLine, error) {
	var out InvoiceLine
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		l, err := s.lineByRef(ctx, tx, acct, ref, true)
		if err != nil {
			return err
		}
		if _, err := setDisabled(ctx, tx, acct, EditLineItem, l.ID, disabled, author, now()); err != nil {
			return err
		}
		out, err = s.lineByRef(ctx, tx, acct, ItemRef{UUID: l.UUID}, false)
		return err
	})
	return out, err
}
