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
