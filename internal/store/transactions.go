package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tally-analytics/tally/internal/billing"
)

// transactionCols are a transaction's columns (alias t) as scanTransaction
// reads them.
const transactionCols = `t.id, t.uuid, t.external_id, t.type, t.result, t.date, t.amount_in_cents, t.transaction_fees_in_cents,
	t.transaction_fees_currency, t.disabled_at, t.disabled_by, t.user_created`

// scanTransaction reads transactionCols after the columns lead points to.
func scanTransaction(scan func(...any) error, lead ...any) (billing.Transaction, error) {
	var t billing.Transaction
	var date int64
	var ext, feesCur, disabledBy sql.NullString
	var amount, fees, disabledAt sql.NullInt64
	var userCreated int
	if err := scan(append(lead, &t.ID, &t.UUID, &ext, &t.Type, &t.Result, &date, &amount, &fees, &feesCur,
		&disabledAt, &disabledBy, &userCreated)...); err != nil {
		return t, err
	}
	t.Disabled, t.UserCreated = billing.Disabled{At: timePtr(disabledAt), By: strPtr(disabledBy)}, userCreated != 0
	t.ExternalID, t.Date, t.AmountInCents, t.TransactionFeesInCents, t.TransactionFeesCurrency = strPtr(ext), fromMillis(date), intPtr(amount), intPtr(fees), strPtr(feesCur)
	return t, nil
}

// InvoiceTransaction is a transaction on its own (the transaction routes),
// with what an edit needs of its invoice.
type InvoiceTransaction struct {
	billing.Transaction
	InvoiceUUID string
	// Currency is its invoice's.
	Currency   string
	customerID int64
}

// transactionByRef loads the transaction ref names, locking it for an
// edit when lock.
func (s *Store) transactionByRef(ctx context.Context, q querier, acct int64, ref ItemRef, lock bool) (InvoiceTransaction, error) {
	var out InvoiceTransaction
	where, args := ref.where("t", acct)
	query := `SELECT i.customer_id, i.uuid, i.currency, ` + transactionCols + ` FROM transactions t JOIN invoices i ON i.id = t.invoice_id WHERE ` + where
	if lock {
		query += s.forUpdate("t")
	}
	t, err := scanTransaction(q.QueryRowContext(ctx, query, args...).Scan, &out.customerID, &out.InvoiceUUID, &out.Currency)
	if errors.Is(err, sql.ErrNoRows) {
		return out, &MissingError{What: "transaction"}
	}
	if err != nil {
		return out, fmt.Errorf("find transaction: %w", err)
	}
	out.Transaction = t
	return out, nil
}

// Transaction finds one transaction of the account.
func (s *Store) Transaction(ctx context.Context, acct int64, ref ItemRef) (InvoiceTransaction, error) {
	return s.transactionByRef(ctx, s.r, acct, ref, false)
}

// UpdateTransaction edits a transaction in place (PATCH /v1/transactions):
// change applies the request (given the invoice's currency, for the
// caller's exchange-rate check) and says which fields it changed, which
// are recorded in its edit history under author. Its customer is marked
// for recomputation: a payment or refund moves cash flow, and a refund can
// make its invoice a refund document (metrics.md rule 5).
func (s *Store) UpdateTransaction(ctx context.Context, acct int64, accountCurrency string, ref ItemRef, author string,
	change func(t *billing.Transaction, currency string) ([]FieldEdit, error)) (InvoiceTransaction, error) {
	var out InvoiceTransaction
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		cur, err := s.transactionByRef(ctx, tx, acct, ref, true)
		if err != nil {
			return err
		}
		if err := s.checkCurrency(ctx, tx, acct, accountCurrency); err != nil {
			return err
		}
		t := cur.Transaction
		edits, err := change(&t, cur.Currency)
		if err != nil {
			return err
		}
		if err := markDirty(ctx, tx, `$1`, cur.customerID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE transactions SET external_id = $2, type = $3, result = $4, date = $5, amount_in_cents = $6,
			transaction_fees_in_cents = $7, transaction_fees_currency = $8 WHERE id = $1`,
			cur.ID, nullStr(t.ExternalID), t.Type, t.Result, millis(t.Date), nullInt(t.AmountInCents), nullInt(t.TransactionFeesInCents),
			nullStr(t.TransactionFeesCurrency))
		if err != nil {
			return uniqueAs(err, "external_id", "update transaction")
		}
		if err := recordEdits(ctx, tx, acct, EditTransaction, cur.ID, author, now(), edits); err != nil {
			return err
		}
		out, err = s.transactionByRef(ctx, tx, acct, ItemRef{UUID: cur.UUID}, false)
		return err
	})
	return out, err
}

// DeleteTransaction removes a transaction and its edit history; metrics
// then follow from what remains.
func (s *Store) DeleteTransaction(ctx context.Context, acct int64, ref ItemRef) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		t, err := s.transactionByRef(ctx, tx, acct, ref, true)
		if err != nil {
			return err
		}
		if err := markDirty(ctx, tx, `$1`, t.customerID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM transactions WHERE id = $1`, t.ID); err != nil {
			return fmt.Errorf("delete transaction: %w", err)
		}
		return nil
	})
}

// SetTransactionDisabled disables (or enables) a transaction: it stays,
// listed with with_disabled=true, and counts in no metric while disabled.
func (s *Store) SetTransactionDisabled(ctx context.Context, acct int64, ref ItemRef, disabled bool, author string) (InvoiceTransaction, error) {
	var out InvoiceTransaction
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		t, err := s.transactionByRef(ctx, tx, acct, ref, true)
		if err != nil {
			return err
		}
		if _, err := setDisabled(ctx, tx, acct, EditTransaction, t.ID, disabled, author, now()); err != nil {
			return err
		}
		out, err = s.transactionByRef(ctx, tx, acct, ItemRef{UUID: t.UUID}, false)
		return err
	})
	return out, err
}
