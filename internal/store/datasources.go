package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tally-analytics/tally/internal/billing"
)

// MissingError says which referenced object was not found, so the API can
// name it (a data source in a body is a 422, in a path a 404).
type MissingError struct{ What string }

func (e *MissingError) Error() string        { return e.What + " not found" }
func (e *MissingError) Is(target error) bool { return target == ErrNotFound }

const dataSourceCols = `ds.id, ds.uuid, ds.name, ds.system, ds.created_at,
	CASE WHEN EXISTS (SELECT 1 FROM customers c WHERE c.data_source_id = ds.id)
	       OR EXISTS (SELECT 1 FROM plans p WHERE p.data_source_id = ds.id)
	     THEN 'import_complete' ELSE 'never_imported' END`

func scanDataSource(row interface{ Scan(...any) error }) (billing.DataSource, error) {
	var d billing.DataSource
	var created int64
	err := row.Scan(&d.ID, &d.UUID, &d.Name, &d.System, &created, &d.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return d, &MissingError{What: "data source"}
	}
	d.CreatedAt = fromMillis(created)
	return d, err
}

// CreateDataSource stores a new data source; its name is unique in the account.
func (s *Store) CreateDataSource(ctx context.Context, acct int64, name, system string) (billing.DataSource, error) {
	d := billing.DataSource{UUID: NewUUID("ds_"), Name: name, System: system, CreatedAt: now(), Status: "never_imported"}
	err := s.w.QueryRowContext(ctx,
		`INSERT INTO data_sources (account_id, uuid, name, system, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		acct, d.UUID, d.Name, d.System, millis(d.CreatedAt)).Scan(&d.ID)
	if isUnique(err) {
		return d, &ConflictError{Field: "name"}
	}
	if err != nil {
		return d, fmt.Errorf("create data source: %w", err)
	}
	return d, nil
}

// ListDataSources lists the account's data sources, filtered by exact name
// and system when those are not empty.
func (s *Store) ListDataSources(ctx context.Context, acct int64, name, system string) ([]billing.DataSource, error) {
	rows, err := s.reads().QueryContext(ctx, `SELECT `+dataSourceCols+` FROM data_sources ds
		WHERE ds.account_id = $1 AND `+eq(`ds.name`, `$2`, name)+` AND `+eq(`ds.system`, `$3`, system)+`
		ORDER BY ds.id`, acct, name, system)
	if err != nil {
		return nil, fmt.Errorf("list data sources: %w", err)
	}
	defer rows.Close()
	out := []billing.DataSource{}
	for rows.Next() {
		d, err := scanDataSource(rows)
		if err != nil {
			return nil, fmt.Errorf("list data sources: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DataSource finds one data source of the account by UUID.
func (s *Store) DataSource(ctx context.Context, acct int64, uuid string) (billing.DataSource, error) {
	return scanDataSource(s.r.QueryRowContext(ctx,
		`SELECT `+dataSourceCols+` FROM data_sources ds WHERE ds.account_id = $1 AND ds.uuid = $2`, acct, uuid))
}

// ProcessedObjects counts, for each of the account's data sources, the
// invoices and subscription events it holds: the objects whose import
// moves its metrics (api.md, data sources: processing_status). Every one
// of them is processed before its request is answered, so this is all
// there is to report. Sources of other accounts are absent from the map.
func (s *Store) ProcessedObjects(ctx context.Context, acct int64) (map[int64]int64, error) {
	rows, err := s.reads().QueryContext(ctx, `SELECT ds.id,
		(SELECT COUNT(*) FROM invoices i WHERE i.data_source_id = ds.id),
		(SELECT COUNT(*) FROM subscription_events e WHERE e.data_source_id = ds.id)
		FROM data_sources ds WHERE ds.account_id = $1`, acct)
	if err != nil {
		return nil, fmt.Errorf("count processed objects: %w", err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, invoices, events int64
		if err := rows.Scan(&id, &invoices, &events); err != nil {
			return nil, fmt.Errorf("count processed objects: %w", err)
		}
		out[id] = invoices + events
	}
	return out, rows.Err()
}

// dataSourceID resolves a data source UUID inside a transaction.
func dataSourceID(ctx context.Context, q querier, acct int64, uuid string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM data_sources WHERE account_id = $1 AND uuid = $2`, acct, uuid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &MissingError{What: "data source"}
	}
	return id, err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// DeleteDataSource removes a data source and, through the schema's
// cascades, everything under it, in one transaction (api.md rule 9).
func (s *Store) DeleteDataSource(ctx context.Context, acct int64, uuid string) error {
	return s.aloneTx(ctx, acct, func(tx *sql.Tx) error {
		// Customers of other sources that merged an identity of this one
		// lose its invoices.
		if err := markDirty(ctx, tx, `SELECT ci.customer_id FROM customer_identities ci JOIN data_sources d ON d.id = ci.data_source_id
			JOIN customers cu ON cu.id = ci.customer_id WHERE d.account_id = $1 AND d.uuid = $2 AND cu.data_source_id <> d.id`, acct, uuid); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM data_sources WHERE account_id = $1 AND uuid = $2`, acct, uuid)
		if err != nil {
			return fmt.Errorf("delete data source: %w", err)
		}
		if err := oneRow(res, "data source"); err != nil {
			return err
		}
		return customersRemoved(ctx, tx, acct)
	})
}

// EmptyDataSource removes the data under a data source but keeps the source
// itself. With keepCustomers (ChartMogul's "dependent" purge) customers stay.
func (s *Store) EmptyDataSource(ctx context.Context, acct int64, uuid string, keepCustomers bool) error {
	return s.aloneTx(ctx, acct, func(tx *sql.Tx) error {
		id, err := dataSourceID(ctx, tx, acct, uuid)
		if err != nil {
			return err
		}
		if err := markDirty(ctx, tx, `SELECT customer_id FROM customer_identities WHERE data_source_id = $1`, id); err != nil {
			return err
		}
		// Children before the plans their lines and events point at.
		tables := []string{"invoices", "subscription_events", "subscriptions", "plans"}
		if !keepCustomers {
			tables = append(tables, "customers", "customer_identities")
		}
		for _, table := range tables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE account_id = $1 AND data_source_id = $2`, acct, id); err != nil {
				return fmt.Errorf("empty data source: %w", err)
			}
		}
		return customersRemoved(ctx, tx, acct)
	})
}

func oneRow(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return &MissingError{What: what}
	}
	return nil
}
