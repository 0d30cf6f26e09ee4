package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

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
	ids, err := s.allocIDsOf(ctx, tx, []idAlloc{{table, n}})
	if err != nil {
		return nil, err
	}
	return ids[0], nil
}

// idAlloc is n ids of a table to reserve.
type idAlloc struct {
	table string
	n     int
}

// allocIDsOf reserves the ids of several tables as allocIDs does, on
// PostgreSQL in one round trip: an import of one customer's invoices
// took one per table.
func (s *Store) allocIDsOf(ctx context.Context, tx querier, want []idAlloc) ([][]int64, error) {
	out := make([][]int64, len(want))
	if s.dialect == SQLite {
		for i, w := range want {
			out[i] = make([]int64, 0, w.n)
			if w.n == 0 {
				continue
			}
			// A table of public ids (AUTOINCREMENT: customers,
			// subscription events) never hands out an id again, even
			// one whose row was deleted: its high-water mark is in
			// sqlite_sequence.
			var top int64
			if err := tx.QueryRowContext(ctx, `SELECT MAX(COALESCE((SELECT MAX(id) FROM `+w.table+`), 0),
				COALESCE((SELECT seq FROM sqlite_sequence WHERE name = $1), 0))`, w.table).Scan(&top); err != nil {
				return nil, fmt.Errorf("allocate %s ids: %w", w.table, err)
			}
			for k := range w.n {
				out[i] = append(out[i], top+1+int64(k))
			}
		}
		return out, nil
	}
	// One row holding them all, as text: a row per id took a bulk import
	// a tenth of a second per table. One text for any number of tables
	// and ids (arrays of names and counts), so pgx prepares it once.
	tables, counts := make([]string, len(want)), make([]int64, len(want))
	total := 0
	for i, w := range want {
		tables[i], counts[i] = w.table, int64(w.n)
		out[i] = make([]int64, 0, w.n)
		total += w.n
	}
	if total == 0 {
		return out, nil
	}
	err := scanRows(ctx, tx, `SELECT w.i, (SELECT array_agg(x.id)::text FROM
			(SELECT nextval(pg_get_serial_sequence(w.t, 'id')) AS id FROM generate_series(1, w.n)) x)
		FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS w(t, n, i) WHERE w.n > 0`, []any{tables, counts},
		func(scan func(...any) error) error {
			var i int
			var list string
			if err := scan(&i, &list); err != nil {
				return err
			}
			for f := range strings.SplitSeq(strings.Trim(list, "{}"), ",") {
				id, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return err
				}
				out[i-1] = append(out[i-1], id)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("allocate ids: %w", err)
	}
	return out, nil
}

// maxParams keeps one statement's parameters under both backends' limits.
const maxParams = 30000

// bulkInsert inserts rows (each with one value per column) with as few
// multi-row INSERT statements as the parameter limit allows.
func (s *Store) bulkInsert(ctx context.Context, tx querier, table string, cols []string, rows [][]any) error {
	return s.bulkInsertWith(ctx, tx, table, cols, rows, "")
}

// bulkInsertWith is bulkInsert with a clause after the VALUES (an ON
// CONFLICT, say). Every full chunk has the same text, which the
// connection prepares once (SQLite's statement cache, stmtcache.go;
// pgx's on PostgreSQL).
func (s *Store) bulkInsertWith(ctx context.Context, tx querier, table string, cols []string, rows [][]any, suffix string) error {
	if conn, ok := ctx.Value(copyConnKey{}).(*sql.Conn); ok && s.dialect == Postgres && suffix == "" && len(rows) >= copyMinRows {
		return copyRows(ctx, conn, table, cols, rows)
	}
	per := max(1, min(500, maxParams/len(cols)))
	args := make([]any, 0, min(len(rows), per)*len(cols))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, s.insertStatement(table, cols, len(chunk), suffix), args...); err != nil {
			return err
		}
	}
	return nil
}

// copyConnKey marks a context whose writes run in a transaction on the
// connection it holds (Store.bulkTx): bulkInsert may COPY on it.
type copyConnKey struct{}

// withCopyConn marks ctx with conn; a nil conn (a transaction on a pool,
// not a connection of its own) leaves ctx as it is.
func withCopyConn(ctx context.Context, conn *sql.Conn) context.Context {
	if conn == nil {
		return ctx
	}
	return context.WithValue(ctx, copyConnKey{}, conn)
}

// copyMinRows is where COPY starts to beat a multi-row INSERT (a COPY
// asks for the table's column types first).
const copyMinRows = 100

// copyRows writes rows with PostgreSQL's COPY, on the connection of the
// transaction in progress: one round trip for any number of rows, where
// INSERTs of 500 rows took one each and bound every value as a parameter.
func copyRows(ctx context.Context, conn *sql.Conn, table string, cols []string, rows [][]any) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into %s: not a pgx connection", table)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}

// insertStatement is a multi-row INSERT of n rows.
// SQLite gets plain `?` placeholders: it binds `$N` by name, which costs a
// search per parameter and turns a 10,000-parameter INSERT quadratic.
func (s *Store) insertStatement(table string, cols []string, n int, suffix string) string {
	var q strings.Builder
	q.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	k := 0
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for j := range cols {
			if j > 0 {
				q.WriteByte(',')
			}
			k++
			if s.dialect == SQLite {
				q.WriteByte('?')
			} else {
				q.WriteString("$" + strconv.Itoa(k))
			}
		}
		q.WriteByte(')')
	}
	q.WriteString(suffix)
	return q.String()
}

// lookupIn selects cols of the rows of table in one data source whose
// keyCol is among keys, handing each row to scan. Columns in cols are
// qualified with `t.`. On PostgreSQL the keys go in as one array, each
// looked up by itself (a lateral subquery that OFFSET 0 keeps from being
// flattened into a join): that keeps the index lookup whatever the
// planner's statistics. A long IN list was scanned sequentially in a
// freshly filled table; and a plain join with unnest, once pgx's cached
// statement got PostgreSQL's generic plan (from the sixth run on), hashed
// every row of the data source's table, on every import: the import of a
// book slowed down with its size.
func (s *Store) lookupIn(ctx context.Context, q querier, cols, table, keyCol string, dsID int64, keys []string, scan func(scan func(...any) error) error) error {
	return s.lookupInHeld(ctx, q, false, cols, table, keyCol, dsID, keys, scan)
}

// lookupInHeld is lookupIn that, with hold, locks the rows it finds FOR
// KEY SHARE on PostgreSQL (against a delete until the transaction ends),
// as a foreign key's check of a row inserted under them would: a write
// without the checks (uncheckedTx) holds its parents so.
func (s *Store) lookupInHeld(ctx context.Context, q querier, hold bool, cols, table, keyCol string, dsID int64, keys []string,
	scan func(scan func(...any) error) error) error {
	if len(keys) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		lock := ""
		if hold {
			lock = ` FOR KEY SHARE`
		}
		return scanRows(ctx, q, `SELECT `+cols+` FROM unnest($2::text[]) AS k(v) CROSS JOIN LATERAL
			(SELECT * FROM `+table+` t WHERE t.data_source_id = $1 AND t.`+keyCol+` = k.v OFFSET 0`+lock+`) t`, []any{dsID, keys}, scan)
	}
	return queryIn(ctx, s.dialect, q, `SELECT `+cols+` FROM `+table+` t WHERE t.data_source_id = $1 AND t.`+keyCol+` IN (%s)`,
		[]any{dsID}, keys, scan)
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
