package store

import (
	"context"
	"fmt"
)

// Page asks for the rows after the row with id AfterID (0: from the start),
// at most Limit of them, in id order.
// Offset skips rows first, for clients still sending the legacy page number.
type Page struct {
	AfterID int64
	Offset  int
	Limit   int
}

// Listed is one page of a list: the rows, whether more follow, and how many
// rows match in all (for the legacy total_pages field).
type Listed[T any] struct {
	Items   []T
	HasMore bool
	Total   int
	// LastID is the id of the last item, for the next page's cursor.
	LastID int64
}

// trim cuts a result fetched with Limit+1 rows down to the page.
func trim[T any](items []T, ids []int64, limit int, total int) Listed[T] {
	l := Listed[T]{Items: items, Total: total}
	if len(items) > limit {
		l.Items, l.HasMore = items[:limit], true
		ids = ids[:limit]
	}
	if len(ids) > 0 {
		l.LastID = ids[len(ids)-1]
	}
	return l
}

// list runs one page of a list: count counts every matching row (for the
// legacy total_pages), query selects the page with args plus the keyset
// position, limit+1 and offset appended as its last three parameters, and
// scan reads one row, returning it with its keyset id.
func list[T any](ctx context.Context, q querier, what, count, query string, args []any, after int64, p Page,
	scan func(row interface{ Scan(...any) error }) (T, int64, error)) (Listed[T], error) {
	var total int
	if err := q.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return Listed[T]{}, fmt.Errorf("count %s: %w", what, err)
	}
	rows, err := q.QueryContext(ctx, query, append(args, after, p.Limit+1, p.Offset)...)
	if err != nil {
		return Listed[T]{}, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var items []T
	var ids []int64
	for rows.Next() {
		item, id, err := scan(rows)
		if err != nil {
			return Listed[T]{}, fmt.Errorf("list %s: %w", what, err)
		}
		items, ids = append(items, item), append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return Listed[T]{}, fmt.Errorf("list %s: %w", what, err)
	}
	return trim(items, ids, p.Limit, total), nil
}
