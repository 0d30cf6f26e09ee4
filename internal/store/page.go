package store

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
