package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Note is a customer note or call log (ref §2.5): Type "note" or "call",
// a call's duration in seconds, and its author as sent (an e-mail).
type Note struct {
	ID           int64
	UUID         string
	CustomerUUID string
	Type         string
	Text         string
	CallDuration int64
	Author       *string
	// CreatedAt may be set on create (a note written down later); zero
	// means now.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NoteFilter selects notes; empty fields select every one.
type NoteFilter struct {
	CustomerUUID string
	Type         string
	Author       string
}

const noteCols = `n.id, n.uuid, cu.uuid, n.type, n.text, n.call_duration, n.author, n.created_at, n.updated_at`

const noteFrom = ` FROM customer_notes n JOIN customers cu ON cu.id = n.customer_id`

func scanNote(row interface{ Scan(...any) error }) (Note, error) {
	var n Note
	var author sql.NullString
	var created, updated int64
	err := row.Scan(&n.ID, &n.UUID, &n.CustomerUUID, &n.Type, &n.Text, &n.CallDuration, &author, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return n, &MissingError{What: "customer note"}
	}
	if err != nil {
		return n, fmt.Errorf("read customer note: %w", err)
	}
	n.Author, n.CreatedAt, n.UpdatedAt = strPtr(author), fromMillis(created), fromMillis(updated)
	return n, nil
}

func readNote(ctx context.Context, q querier, acct int64, uuid, lock string) (Note, error) {
	return scanNote(q.QueryRowContext(ctx, `SELECT `+noteCols+noteFrom+` WHERE n.account_id = $1 AND n.uuid = $2`+lock, acct, uuid))
}

// CreateNote stores a note on the customer with UUID customerUUID (an
// unknown one is a *MissingError), filling in its UUID and times.
func (s *Store) CreateNote(ctx context.Context, acct int64, customerUUID string, n *Note) error {
	uuid := NewUUID("note_")
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		customer, origin, err := crmCustomer(ctx, tx, acct, customerUUID)
		if err != nil {
			return err
		}
		updated := now()
		created := updated
		if !n.CreatedAt.IsZero() {
			created = n.CreatedAt
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO customer_notes (account_id, uuid, customer_id, origin_identity_id, type, text,
			call_duration, author, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			acct, uuid, customer, origin, n.Type, n.Text, n.CallDuration, nullStr(n.Author), millis(created), millis(updated))
		if err != nil {
			return fmt.Errorf("create customer note: %w", err)
		}
		got, err := readNote(ctx, tx, acct, uuid, "")
		if err != nil {
			return err
		}
		*n = got
		return nil
	})
}

// Note finds one note of the account by UUID.
func (s *Store) Note(ctx context.Context, acct int64, uuid string) (Note, error) {
	return readNote(ctx, s.r, acct, uuid, "")
}

// ListNotes lists the account's notes that f selects, in creation order;
// an unknown customer is a *MissingError.
func (s *Store) ListNotes(ctx context.Context, acct int64, f NoteFilter, p Page) (Listed[Note], error) {
	w := newCRMWhere(acct, "n.account_id", f.CustomerUUID != "")
	if err := crmCustomerFilter(ctx, s.reads(), acct, w, "n.customer_id", f.CustomerUUID); err != nil {
		return Listed[Note]{}, err
	}
	if f.Type != "" {
		w.add("n.type = ?", f.Type)
	}
	if f.Author != "" {
		w.add("n.author = ?", f.Author)
	}
	return list(ctx, s.reads(), "customer notes", "", w.page(noteCols, noteFrom, "n.id"), w.args, p.AfterID, p,
		func(row interface{ Scan(...any) error }) (Note, int64, error) {
			n, err := scanNote(row)
			return n, n.ID, err
		})
}

// UpdateNote changes a note: apply edits the stored one (its error aborts
// the update; it may run more than once, see tx).
func (s *Store) UpdateNote(ctx context.Context, acct int64, uuid string, apply func(*Note) error) (Note, error) {
	var n Note
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		if n, err = readNote(ctx, tx, acct, uuid, s.forUpdate("n")); err != nil {
			return err
		}
		if err := apply(&n); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE customer_notes SET type = $3, text = $4, call_duration = $5, author = $6,
			created_at = $7, updated_at = $8 WHERE account_id = $1 AND id = $2`,
			acct, n.ID, n.Type, n.Text, n.CallDuration, nullStr(n.Author), millis(n.CreatedAt), millis(now()))
		if err != nil {
			return fmt.Errorf("update customer note: %w", err)
		}
		n, err = readNote(ctx, tx, acct, uuid, "")
		return err
	})
	return n, err
}

// DeleteNote removes a note.
func (s *Store) DeleteNote(ctx context.Context, acct int64, uuid string) error {
	return s.crmDelete(ctx, acct, "customer_notes", "customer note", uuid)
}
