package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// CashTransaction is one payment or refund attempt with what cash flow
// (metrics.md rule 21) needs of its invoice and customer.
type CashTransaction struct {
	ID         int64
	CustomerID int64
	Country    string // "" for none
	Type       string
	Result     string
	At         time.Time
	Amount     *int64 // nil when the transaction names no amount
	Currency   string // the invoice's
	Lines      []CashLine
}

// CashLine is one line of a transaction's invoice.
type CashLine struct {
	ID       int64
	Type     string
	Amount   int64
	PlanUUID string // "" for a line without a plan
}

// CashTransactions loads the account's transactions dated in [from, to),
// oldest first, each with its invoice's currency and lines and its
// customer's country. One statement, so that a concurrent write is seen
// whole or not at all. The rows (one per line) are grouped and sorted here:
// an ORDER BY took 0.4 s of 0.7 s for 116,000 transactions on SQLite.
func (s *Store) CashTransactions(ctx context.Context, acct int64, from, to time.Time) ([]CashTransaction, error) {
	var out []CashTransaction
	at := map[int64]int{} // transaction id → index in out
	err := scanRows(ctx, s.r, `SELECT t.id, i.customer_id, COALESCE(c.country, ''), t.type, t.result, t.date, t.amount_in_cents, i.currency,
			l.id, COALESCE(l.type, ''), COALESCE(l.amount_in_cents, 0), COALESCE(p.uuid, '')
		FROM transactions t
		JOIN invoices i ON i.id = t.invoice_id
		JOIN customers c ON c.id = i.customer_id
		LEFT JOIN line_items l ON l.invoice_id = i.id
		LEFT JOIN plans p ON p.id = l.plan_id
		WHERE t.account_id = $1 AND t.date >= $2 AND t.date < $3`, []any{acct, millis(from), millis(to)},
		func(scan func(...any) error) error {
			var tx CashTransaction
			var ms int64
			var amount, lineID sql.NullInt64
			var l CashLine
			if err := scan(&tx.ID, &tx.CustomerID, &tx.Country, &tx.Type, &tx.Result, &ms, &amount, &tx.Currency,
				&lineID, &l.Type, &l.Amount, &l.PlanUUID); err != nil {
				return err
			}
			i, ok := at[tx.ID]
			if !ok {
				tx.At, tx.Amount = fromMillis(ms), intPtr(amount)
				i = len(out)
				at[tx.ID] = i
				out = append(out, tx)
			}
			if lineID.Valid {
				l.ID = lineID.Int64
				out[i].Lines = append(out[i].Lines, l)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("load transactions: %w", err)
	}
	slices.SortFunc(out, func(a, b CashTransaction) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	for _, tx := range out {
		slices.SortFunc(tx.Lines, func(a, b CashLine) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}
