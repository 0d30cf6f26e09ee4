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

// CashTransactionsSince loads the transactions of the account's customers
// whose results version is above since (all of them for since < 0), each
// with its invoice's currency and lines and its customer's country, by
// customer. The results version moves with every write that can change
// them (an import, a transaction, a deletion, a customer's country), so a
// cache keyed on it stays current; the version comes back too, read
// before the rows.
func (s *Store) CashTransactionsSince(ctx context.Context, acct, since int64) (map[int64][]CashTransaction, int64, int64, error) {
	if since < 0 {
		return s.allCashTransactions(ctx, acct)
	}
	version, resets, err := s.ResultsState(ctx, acct)
	if err != nil {
		return nil, 0, 0, err
	}
	txs, err := s.cashTransactions(ctx, `t.account_id = $1 AND c.results_version > $2`, []any{acct, since})
	if err != nil {
		return nil, 0, 0, err
	}
	out := map[int64][]CashTransaction{}
	// Customers whose transactions all went still need replacing.
	err = scanRows(ctx, s.r, `SELECT id FROM customers WHERE account_id = $1 AND results_version > $2`, []any{acct, since},
		func(scan func(...any) error) error {
			var id int64
			err := scan(&id)
			out[id] = nil
			return err
		})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("load changed customers: %w", err)
	}
	for _, t := range txs {
		out[t.CustomerID] = append(out[t.CustomerID], t)
	}
	return out, version, resets, nil
}

// allCashTransactions loads every transaction of the account table by
// table in one read transaction, joining in memory: each table is read in
// order, where the one-statement join looked every invoice, customer and
// line up by id and took 3.5 s for 10,000 customers on SQLite.
func (s *Store) allCashTransactions(ctx context.Context, acct int64) (map[int64][]CashTransaction, int64, int64, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for the five reads
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("load transactions: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var version, resets int64
	if err := tx.QueryRowContext(ctx, `SELECT results_seq, results_reset FROM accounts WHERE id = $1`, acct).Scan(&version, &resets); err != nil {
		return nil, 0, 0, fmt.Errorf("results state: %w", err)
	}
	type invoice struct {
		customer int64
		currency string
		lines    []CashLine
	}
	countries := map[int64]string{}
	plans := map[int64]string{}
	invoices := map[int64]*invoice{}
	reads := []struct {
		what, query string
		scan        func(scan func(...any) error) error
	}{
		{"customers", `SELECT id, COALESCE(country, '') FROM customers WHERE account_id = $1`, func(scan func(...any) error) error {
			var id int64
			var country string
			err := scan(&id, &country)
			countries[id] = country
			return err
		}},
		{"plans", `SELECT id, uuid FROM plans WHERE account_id = $1`, func(scan func(...any) error) error {
			var id int64
			var uuid string
			err := scan(&id, &uuid)
			plans[id] = uuid
			return err
		}},
		{"invoices", `SELECT id, customer_id, currency FROM invoices WHERE account_id = $1`, func(scan func(...any) error) error {
			inv := &invoice{}
			var id int64
			err := scan(&id, &inv.customer, &inv.currency)
			invoices[id] = inv
			return err
		}},
		{"lines", `SELECT invoice_id, id, type, amount_in_cents, COALESCE(plan_id, 0) FROM line_items WHERE account_id = $1`,
			func(scan func(...any) error) error {
				var invID, planID int64
				var l CashLine
				if err := scan(&invID, &l.ID, &l.Type, &l.Amount, &planID); err != nil {
					return err
				}
				l.PlanUUID = plans[planID]
				if inv := invoices[invID]; inv != nil {
					inv.lines = append(inv.lines, l)
				}
				return nil
			}},
	}
	for _, r := range reads {
		if err := scanRows(ctx, tx, r.query, []any{acct}, r.scan); err != nil {
			return nil, 0, 0, fmt.Errorf("load %s: %w", r.what, err)
		}
	}
	out := map[int64][]CashTransaction{}
	err = scanRows(ctx, tx, `SELECT id, invoice_id, type, result, date, amount_in_cents FROM transactions WHERE account_id = $1`, []any{acct},
		func(scan func(...any) error) error {
			var t CashTransaction
			var invID, ms int64
			var amount sql.NullInt64
			if err := scan(&t.ID, &invID, &t.Type, &t.Result, &ms, &amount); err != nil {
				return err
			}
			inv := invoices[invID]
			if inv == nil {
				return nil
			}
			t.At, t.Amount = fromMillis(ms), intPtr(amount)
			t.CustomerID, t.Country, t.Currency, t.Lines = inv.customer, countries[inv.customer], inv.currency, inv.lines
			out[t.CustomerID] = append(out[t.CustomerID], t)
			return nil
		})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("load transactions: %w", err)
	}
	for _, inv := range invoices {
		slices.SortFunc(inv.lines, func(a, b CashLine) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, version, resets, nil
}

// cashTransactions loads the transactions scope selects. One statement,
// so that a concurrent write is seen whole or not at all. The rows (one
// per line) are grouped and sorted here: an ORDER BY took 0.4 s of 0.7 s
// for 116,000 transactions on SQLite.
func (s *Store) cashTransactions(ctx context.Context, scope string, args []any) ([]CashTransaction, error) {
	var out []CashTransaction
	at := map[int64]int{} // transaction id → index in out
	err := scanRows(ctx, s.r, `SELECT t.id, i.customer_id, COALESCE(c.country, ''), t.type, t.result, t.date, t.amount_in_cents, i.currency,
			l.id, COALESCE(l.type, ''), COALESCE(l.amount_in_cents, 0), COALESCE(p.uuid, '')
		FROM transactions t
		JOIN invoices i ON i.id = t.invoice_id
		JOIN customers c ON c.id = i.customer_id
		LEFT JOIN line_items l ON l.invoice_id = i.id
		LEFT JOIN plans p ON p.id = l.plan_id
		WHERE `+scope, args,
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
