package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// EditObject is a kind of object that can be edited in place and disabled
// (issue 13), named as edit histories name it.
type EditObject string

// The editable objects.
const (
	EditInvoice           EditObject = "invoice"
	EditLineItem          EditObject = "line_item"
	EditTransaction       EditObject = "transaction"
	EditSubscriptionEvent EditObject = "subscription_event"
)

// table is the object's table; column its column in edit_histories;
// customer the SQL that finds the customer of the row whose id is $1.
func (o EditObject) table() (table, column, customer string) {
	switch o {
	case EditInvoice:
		return "invoices", "invoice_id", `SELECT customer_id FROM invoices WHERE id = $1`
	case EditLineItem:
		return "line_items", "line_item_id", `SELECT i.customer_id FROM line_items l JOIN invoices i ON i.id = l.invoice_id WHERE l.id = $1`
	case EditTransaction:
		return "transactions", "transaction_id", `SELECT i.customer_id FROM transactions t JOIN invoices i ON i.id = t.invoice_id WHERE t.id = $1`
	case EditSubscriptionEvent:
		return "subscription_events", "subscription_event_id", `SELECT customer_id FROM subscription_events WHERE id = $1`
	}
	panic("store: unknown edit object " + string(o))
}

// FieldEdit is one field an edit changed, with its values before and after
// as the API writes them (JSON).
type FieldEdit struct {
	Field            string
	Original, Edited json.RawMessage
}

// EditRecord is a stored FieldEdit: who made it (an API key's prefix) and
// when.
type EditRecord struct {
	FieldEdit
	Author string
	At     time.Time
}

// recordEdits stores what one edit of an object changed. Fields whose
// values did not change are left out.
func recordEdits(ctx context.Context, tx querier, acct int64, o EditObject, id int64, author string, at time.Time, edits []FieldEdit) error {
	_, column, _ := o.table()
	for _, e := range edits {
		if string(e.Original) == string(e.Edited) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO edit_histories (account_id, `+column+`, field, original_value, edited_value, author, edited_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, acct, id, e.Field, jsonText(e.Original), jsonText(e.Edited), author, millis(at)); err != nil {
			return fmt.Errorf("record %s edit: %w", o, err)
		}
	}
	return nil
}

func jsonText(v json.RawMessage) any {
	if v == nil {
		return "null"
	}
	return string(v)
}

// EditHistories loads the edit records of the given objects of one kind,
// by object id, oldest first.
func (s *Store) EditHistories(ctx context.Context, acct int64, o EditObject, ids []int64) (map[int64][]EditRecord, error) {
	_, column, _ := o.table()
	out := map[int64][]EditRecord{}
	err := queryIn(ctx, s.dialect, s.reads(), `SELECT `+column+`, field, original_value, edited_value, author, edited_at FROM edit_histories
		WHERE account_id = $1 AND `+column+` IN (%s) ORDER BY id`, []any{acct}, ids, func(scan func(...any) error) error {
		var id, at int64
		var r EditRecord
		var original, edited sql.NullString
		if err := scan(&id, &r.Field, &original, &edited, &r.Author, &at); err != nil {
			return err
		}
		r.Original, r.Edited, r.At = json.RawMessage(nullJSON(original)), json.RawMessage(nullJSON(edited)), fromMillis(at)
		out[id] = append(out[id], r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s edit histories: %w", o, err)
	}
	return out, nil
}

func nullJSON(s sql.NullString) string {
	if !s.Valid {
		return "null"
	}
	return s.String
}

// setDisabled sets (disabled) or clears an object's disabled state inside
// tx, records the change in its edit history as the field "disabled", and
// marks its customer for recomputation. It reports whether anything
// changed: disabling a disabled object keeps its first date and author.
func setDisabled(ctx context.Context, tx querier, acct int64, o EditObject, id int64, disabled bool, author string, at time.Time) (bool, error) {
	table, _, customer := o.table()
	var res sql.Result
	var err error
	if disabled {
		res, err = tx.ExecContext(ctx, `UPDATE `+table+` SET disabled_at = $1, disabled_by = $2 WHERE id = $3 AND disabled_at IS NULL`,
			millis(at), author, id)
	} else {
		res, err = tx.ExecContext(ctx, `UPDATE `+table+` SET disabled_at = NULL, disabled_by = NULL WHERE id = $1 AND disabled_at IS NOT NULL`, id)
	}
	if err != nil {
		return false, fmt.Errorf("set %s disabled state: %w", o, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	before, after := json.RawMessage("false"), json.RawMessage("true")
	if !disabled {
		before, after = after, before
	}
	if err := recordEdits(ctx, tx, acct, o, id, author, at, []FieldEdit{{Field: "disabled", Original: before, Edited: after}}); err != nil {
		return false, err
	}
	return true, markDirty(ctx, tx, customer, id)
}
