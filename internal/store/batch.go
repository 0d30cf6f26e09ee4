package store

import (
	"context"
	"fmt"
	"strings"
)

// inChunk bounds the parameters of one IN list, well under both backends'
// limits (SQLite 32766, PostgreSQL 65535).
const inChunk = 500

// queryIn runs query once per chunk of values, with `%s` in query replaced
// by the chunk's placeholders (numbered after the fixed args), and hands
// each row to scan.
func queryIn[T any](ctx context.Context, q querier, query string, fixed []any, values []T, scan func(scan func(...any) error) error) error {
	for start := 0; start < len(values); start += inChunk {
		chunk := values[start:min(start+inChunk, len(values))]
		args := append([]any{}, fixed...)
		marks := make([]string, len(chunk))
		for i, v := range chunk {
			args = append(args, v)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		rows, err := q.QueryContext(ctx, fmt.Sprintf(query, strings.Join(marks, ",")), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows.Scan); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// uniq returns the distinct non-empty values in first-seen order.
func uniq(values []string) []string {
	seen := make(map[string]bool, len(values))
	out := make([]string, 0, len(values))
	for _, v := range values {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// allocIDs reserves n new ids of table so that a batch can be inserted
// with multi-row INSERTs and still link its rows. SQLite runs writes one at
// a time (IMMEDIATE transactions on one connection), so max(id) is safe
// there; PostgreSQL hands out identity values from the column's sequence.
func (s *Store) allocIDs(ctx context.Context, tx querier, table string, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if n == 0 {
		return ids, nil
	}
	if s.dialect == SQLite {
		var top int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+table).Scan(&top); err != nil {
			return nil, fmt.Errorf("allocate %s ids: %w", table, err)
		}
		for i := range n {
			ids = append(ids, top+1+int64(i))
		}
		return ids, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, table, n)
	if err != nil {
		return nil, fmt.Errorf("allocate %s ids: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// maxParams keeps one statement's parameters under both backends' limits.
const maxParams = 30000

// bulkInsert inserts rows (each with one value per column) with as few
// multi-row INSERT statements as the parameter limit allows.
// SQLite gets plain `?` placeholders: it binds `$N` by name, which costs a
// search per parameter and turns a 10,000-parameter INSERT quadratic.
func (s *Store) bulkInsert(ctx context.Context, tx querier, table string, cols []string, rows [][]any) error {
	return s.bulkInsertWith(ctx, tx, table, cols, rows, "")
}

// bulkInsertWith is bulkInsert with a clause after the VALUES (an ON
// CONFLICT, say).
func (s *Store) bulkInsertWith(ctx context.Context, tx querier, table string, cols []string, rows [][]any, suffix string) error {
	per := max(1, min(500, maxParams/len(cols)))
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, len(chunk)*len(cols))
		for i, r := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('(')
			for j, v := range r {
				if j > 0 {
					q.WriteByte(',')
				}
				args = append(args, v)
				if s.dialect == SQLite {
					q.WriteByte('?')
				} else {
					fmt.Fprintf(&q, "$%d", len(args))
				}
			}
			q.WriteByte(')')
		}
		q.WriteString(suffix)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// lookupIn selects cols of the rows of table in one data source whose
// keyCol is among keys, handing each row to scan. Columns in cols are
// qualified with `t.`. On PostgreSQL the keys go in as one array joined
// through unnest, which keeps the index lookup even before the planner
// has statistics of a freshly filled table (a long IN list would be
// scanned sequentially there).
func (s *Store) lookupIn(ctx context.Context, q querier, cols, table, keyCol string, dsID int64, keys []string, scan func(scan func(...any) error) error) error {
	if len(keys) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		return scanRows(ctx, q, `SELECT `+cols+` FROM unnest($2::text[]) AS k(v) JOIN `+table+` t
			ON t.data_source_id = $1 AND t.`+keyCol+` = k.v`, []any{dsID, keys}, scan)
	}
	for start := 0; start < len(keys); start += inChunk {
		chunk := keys[start:min(start+inChunk, len(keys))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, dsID)
		for _, k := range chunk {
			args = append(args, k)
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")
		if err := scanRows(ctx, q, `SELECT `+cols+` FROM `+table+` t WHERE t.data_source_id = ? AND t.`+keyCol+` IN (`+marks+`)`, args, scan); err != nil {
			return err
		}
	}
	return nil
}

func scanRows(ctx context.Context, q querier, query string, args []any, scan func(scan func(...any) error) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
