package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// inList is where a query's IN list goes: queryIn and queryInExec take
// statements written with it, `col IN (%s)`, once.
const inList = "IN (%s)"

// inChunk bounds the parameters of one IN list on SQLite, well under its
// limit (32766).
const inChunk = 500

// inStatements gives the statements that test col against values, each
// with its arguments: on PostgreSQL one, `col = ANY($n)` with the values
// as one array argument after fixed (one text whatever the number of
// values, so pgx prepares it once per connection, and no chunks); on
// SQLite one per chunk of inChunk values, each a placeholder.
func inStatements[T any](d Dialect, query string, fixed []any, values []T) ([]string, [][]any, error) {
	if strings.Count(query, inList) != 1 {
		return nil, nil, fmt.Errorf("in-list query without one %q: %.60s", inList, query)
	}
	if d == Postgres {
		q := strings.Replace(query, inList, "= ANY($"+strconv.Itoa(len(fixed)+1)+")", 1)
		return []string{q}, [][]any{append(append([]any{}, fixed...), values)}, nil
	}
	var qs []string
	var args [][]any
	for start := 0; start < len(values); start += inChunk {
		chunk := values[start:min(start+inChunk, len(values))]
		a := append(make([]any, 0, len(fixed)+len(chunk)), fixed...)
		var marks strings.Builder
		for i, v := range chunk {
			a = append(a, v)
			if i > 0 {
				marks.WriteByte(',')
			}
			marks.WriteString("$" + strconv.Itoa(len(a)))
		}
		qs = append(qs, fmt.Sprintf(query, marks.String()))
		args = append(args, a)
	}
	return qs, args, nil
}

// queryIn runs query, whose one `IN (%s)` takes values (see
// inStatements), after the fixed arguments, handing each row to scan. On
// SQLite the rows come chunk by chunk: an ORDER BY orders each chunk's.
func queryIn[T any](ctx context.Context, d Dialect, q querier, query string, fixed []any, values []T, scan func(scan func(...any) error) error) error {
	if len(values) == 0 {
		return nil
	}
	qs, args, err := inStatements(d, query, fixed, values)
	if err != nil {
		return err
	}
	for i := range qs {
		if err := scanRows(ctx, q, qs[i], args[i], scan); err != nil {
			return err
		}
	}
	return nil
}

// queryInExec runs stmt, whose one `IN (%s)` takes values, as queryIn
// runs a query.
func queryInExec[T any](ctx context.Context, d Dialect, q querier, stmt string, fixed []any, values []T) error {
	if len(values) == 0 {
		return nil
	}
	qs, args, err := inStatements(d, stmt, fixed, values)
	if err != nil {
		return err
	}
	for i := range qs {
		if _, err := q.ExecContext(ctx, qs[i], args[i]...); err != nil {
			return err
		}
	}
	return nil
}

// scanFunc is a row's Scan as a function (what queryIn hands its scan),
// for the scanners that take a row.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }
