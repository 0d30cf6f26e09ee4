package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tally-analytics/tally/internal/billing"
)

// InvoiceRef addresses an invoice by UUID, or by its data source and
// external id (issue 13: every by-uuid route has a by-external-id twin).
type InvoiceRef struct {
	UUID           string
	DataSourceUUID string
	ExternalID     string
}

// invoiceByRef finds one invoice of the account, without its lines and
// transactions; lock takes its row for the rest of the transaction.
func (s *Store) invoiceByRef(ctx context.Context, q querier, acct int64, ref InvoiceRef, lock bool) (billing.Invoice, error) {
	where := `WHERE i.account_id = $1 AND i.uuid = $2`
	args := []any{acct, ref.UUID}
	if ref.UUID == "" {
		where = `WHERE i.account_id = $1 AND ds.uuid = $2 AND i.external_id = $3`
		args = []any{acct, ref.DataSourceUUID, ref.ExternalID}
	}
	if lock {
		where += s.forUpdate("i")
	}
	return scanInvoice(q.QueryRowContext(ctx, `SELECT `+invoiceCols+invoiceFrom+where, args...))
}

// invoiceWithDetails is invoiceByRef with the lines and transactions.
func (s *Store) invoiceWithDetails(ctx context.Context, q querier, acct int64, ref InvoiceRef, lock bool) (billing.Invoice, error) {
	inv, err := s.invoiceByRef(ctx, q, acct, ref, lock)
	if err != nil {
		return inv, err
	}
	invs := []billing.Invoice{inv}
	err = loadInvoiceDetails(ctx, s.dialect, q, invs)
	return invs[0], err
}

// EditInvoice reads the invoice with its lines and transactions, lets
// change edit its date, due date, currency and collection method and say
// what it changed, and writes the invoice back with those changes in its
// edit history, in one transaction. author is who the history names (an
// API key's prefix); accountCurrency is the account currency change
// checked exchange rates against (metrics.md rule 20). The customer is
// marked for recomputation when anything changed.
func (s *Store) EditInvoice(ctx context.Context, acct int64, accountCurrency string, ref InvoiceRef, author string,
	change func(*billing.Invoice) ([]FieldEdit, error)) (billing.Invoice, error) {
	var inv billing.Invoice
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		if err := s.checkCurrency(ctx, tx, acct, accountCurrency); err != nil {
			return err
		}
		var err error
		if inv, err = s.invoiceWithDetails(ctx, tx, acct, ref, true); err != nil {
			return err
		}
		edits, err := change(&inv)
		if err != nil {
			return err
		}
		changed := false
		for _, e := range edits {
			changed = changed || string(e.Original) != string(e.Edited)
		}
		if !changed {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET date = $2, due_date = $3, currency = $4, collection_method = $5 WHERE id = $1`,
			inv.ID, millis(inv.Date), nullMillis(inv.DueDate), inv.Currency, nullStr(inv.CollectionMethod)); err != nil {
			return fmt.Errorf("edit invoice: %w", err)
		}
		if err := recordEdits(ctx, tx, acct, EditInvoice, inv.ID, author, now(), edits); err != nil {
			return err
		}
		return markDirty(ctx, tx, `SELECT customer_id FROM invoices WHERE id = $1`, inv.ID)
	})
	return inv, err
}

// SetInvoiceDisabled disables (or enables) an invoice, and with it every
// metric its lines and transactions feed; their own disabled state is left
// as it is, so that enabling the invoice brings back exactly what counted
// before. It answers the invoice with all its lines and transactions.
// Disabling a disabled invoice keeps its first date and author.
func (s *Store) SetInvoiceDisabled(ctx context.Context, acct int64, ref InvoiceRef, disabled bool, author string) (billing.Invoice, error) {
	var inv billing.Invoice
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		if inv, err = s.invoiceByRef(ctx, tx, acct, ref, true); err != nil {
			return err
		}
		if _, err := setDisabled(ctx, tx, acct, EditInvoice, inv.ID, disabled, author, now()); err != nil {
			return err
		}
		inv, err = s.invoiceWithDetails(ctx, tx, acct, InvoiceRef{UUID: inv.UUID}, false)
		return err
	})
	return inv, err
}

// DeleteInvoiceRef is DeleteInvoice for an invoice named either way.
func (s *Store) DeleteInvoiceRef(ctx context.Context, acct int64, ref InvoiceRef) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		inv, err := s.invoiceByRef(ctx, tx, acct, ref, true)
		if err != nil {
			return err
		}
		var customerID int64
		err = tx.QueryRowContext(ctx, `DELETE FROM invoices WHERE id = $1 RETURNING customer_id`, inv.ID).Scan(&customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return &MissingError{What: "invoice"}
		}
		if err != nil {
			return fmt.Errorf("delete invoice: %w", err)
		}
		if err := markDirty(ctx, tx, `$1`, customerID); err != nil {
			return err
		}
		return dropOrphanSubscriptions(ctx, tx, customerID)
	})
}

// SetEventDisabled disables (or enables) a subscription event: while
// disabled it counts in no metric (a disabled subscription_cancelled
// cancels nothing, a disabled retraction withdraws nothing).
func (s *Store) SetEventDisabled(ctx context.Context, acct int64, ref EventRef, disabled bool, author string) (billing.SubscriptionEvent, error) {
	var e billing.SubscriptionEvent
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		if e, err = s.eventByRef(ctx, tx, acct, ref, true); err != nil {
			return err
		}
		if _, err := setDisabled(ctx, tx, acct, EditSubscriptionEvent, e.ID, disabled, author, now()); err != nil {
			return err
		}
		e, err = s.eventByRef(ctx, tx, acct, EventRef{ID: e.ID}, false)
		return err
	})
	return e, err
}
