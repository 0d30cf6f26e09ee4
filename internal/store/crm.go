package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The CRM objects (issue 13 item 8: contacts, customer notes and call
// logs, opportunities, tasks) hang off customers; no metric reads them.
// This file holds what their four files share.

// crmCustomer finds a customer of the account by UUID: its id and its own
// identity (the one of its data source and external id), which notes,
// opportunities and tasks record as their origin. An unknown UUID, or
// another account's, is a *MissingError.
func crmCustomer(ctx context.Context, q querier, acct int64, uuid string) (id int64, own sql.NullInt64, err error) {
	err = q.QueryRowContext(ctx, `SELECT c.id, ci.id FROM customers c LEFT JOIN customer_identities ci
		ON ci.customer_id = c.id AND ci.data_source_id = c.data_source_id AND ci.external_id = c.external_id
		WHERE c.account_id = $1 AND c.uuid = $2`, acct, uuid).Scan(&id, &own)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, own, &MissingError{What: "customer"}
	}
	if err != nil {
		return 0, own, fmt.Errorf("find customer: %w", err)
	}
	return id, own, nil
}

// crmWhere builds a list's conditions with numbered parameters, the
// account's always first.
type crmWhere struct {
	conds []string
	args  []any
}

// newCRMWhere starts a list of col's account, written as byAccount writes
// it for a list narrowed by a filter.
func newCRMWhere(acct int64, col string, narrowed bool) *crmWhere {
	return &crmWhere{conds: []string{byAccount(col, narrowed)}, args: []any{acct}}
}

// add appends cond, whose "?" stands for v's parameter.
func (w *crmWhere) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(w.args))))
}

// page is the list query over from, in id order after the keyset position
// (list appends it, the limit and the offset as the last parameters).
func (w *crmWhere) page(cols, from, idCol string) string {
	n := len(w.args)
	return `SELECT ` + cols + from + ` WHERE ` + strings.Join(w.conds, " AND ") +
		fmt.Sprintf(` AND %s > $%d ORDER BY %s LIMIT $%d OFFSET $%d`, idCol, n+1, idCol, n+2, n+3)
}

// crmCustomerFilter narrows w to the customer with UUID uuid (col is the
// list's customer column); an unknown customer is a *MissingError, so that
// a customer's notes, opportunities and tasks answer as its contacts do.
func crmCustomerFilter(ctx context.Context, q querier, acct int64, w *crmWhere, col, uuid string) error {
	if uuid == "" {
		return nil
	}
	id, _, err := crmCustomer(ctx, q, acct, uuid)
	if err != nil {
		return err
	}
	w.add(col+" = ?", id)
	return nil
}

// Custom holds a CRM object's custom fields, each value the JSON it was
// sent as (a string, number, true or false).
type Custom map[string]json.RawMessage

func encodeCustom(c Custom) (string, error) {
	if c == nil {
		return "{}", nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode custom fields: %w", err)
	}
	return string(b), nil
}

func decodeCustom(s string) (Custom, error) {
	c := Custom{}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("decode custom fields: %w", err)
	}
	return c, nil
}

// crmDelete deletes the row of table with UUID uuid in the account.
func (s *Store) crmDelete(ctx context.Context, acct int64, table, what, uuid string) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE account_id = $1 AND uuid = $2`, acct, uuid)
		if err != nil {
			return fmt.Errorf("delete %s: %w", what, err)
		}
		return oneRow(res, what)
	})
}

// moveCRM gives customer into the notes, opportunities and tasks of
// customer from (a merge: ChartMogul's merged customer "includes
// opportunities, tasks, call logs and notes from both records").
func moveCRM(ctx context.Context, tx *sql.Tx, from, into int64) error {
	for _, table := range []string{"customer_notes", "opportunities", "tasks"} {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET customer_id = $1 WHERE customer_id = $2`, into, from); err != nil {
			return fmt.Errorf("move %s: %w", table, err)
		}
	}
	return nil
}

// UnmergeMoves says which CRM objects an unmerge moves to the customer it
// splits out (ChartMogul's move_to_new_customer): those first made on that
// customer, before it was merged. The others, and every object when a kind
// is not named, stay with the customer unmerged from.
type UnmergeMoves struct {
	Notes, Opportunities, Tasks bool
}

// moveCRMBack moves from customer from to customer into the objects that
// moves names whose origin is the identity identID.
func moveCRMBack(ctx context.Context, tx *sql.Tx, moves UnmergeMoves, identID, from, into int64) error {
	for _, m := range []struct {
		on    bool
		table string
	}{{moves.Notes, "customer_notes"}, {moves.Opportunities, "opportunities"}, {moves.Tasks, "tasks"}} {
		if !m.on {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+m.table+` SET customer_id = $1 WHERE customer_id = $2 AND origin_identity_id = $3`,
			into, from, identID); err != nil {
			return fmt.Errorf("move %s: %w", m.table, err)
		}
	}
	return nil
}
