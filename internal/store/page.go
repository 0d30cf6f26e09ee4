package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
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

// eq is a list filter on column col compared with the parameter param:
// when value is empty it filters nothing, and says so without naming the
// column ("$n = ”", true for every row, so that the parameter keeps its
// number). The filters are never written "($n = ” OR col = $n)": such an
// OR keeps SQLite (which plans before it sees the value) from using any
// index for col, and it scanned every row of the account.
func eq(col, param, value string) string {
	return filter(value, param, col+" = "+param)
}

// byAccount is the account condition of a list whose filters may select
// its rows through an index of their own: with a narrowing filter the
// column is written "+col" (an expression, which no index serves), so
// that SQLite, which plans without statistics, does not walk the account's
// index instead of the filter's.
func byAccount(col string, narrowed bool) string {
	if narrowed {
		return "+" + col + " = $1"
	}
	return col + " = $1"
}

// filter is cond when value is set, else eq's "$n = ”" for param. A
// cond that does not name param itself (the value was resolved before)
// adds "$n <> ”", true for a set value, to keep it numbered.
func filter(value, param, cond string) string {
	if value == "" {
		return param + " = ''"
	}
	if !strings.Contains(cond, param) {
		cond += " AND " + param + " <> ''"
	}
	return cond
}

// sourceIDs resolves a data source filter (a UUID and/or a system) to the
// ids of the account's matching data sources, as the right-hand side of an
// SQL comparison ("= 3", "IN (3,5)", "= 0" when none match: one id is an
// equality, so that an index on (data_source_id, id) serves the page order). Lists filter on this list rather than join the
// data sources: the planner then sees the ids, and PostgreSQL's statistics
// tell it how many rows one data source holds (a join on the UUID reads
// to it as "half the account" with two data sources, and it walked the
// whole account).
//
// every says that the filter selects every data source of the account,
// so that it selects every row of a list of the account's rows: a list
// then leaves it out (issue 14: at 10,000 customers in one data source, a
// customer list filtered on it read the data source's every customer
// into a set, 24 ms, and crossed it with any other set of ids, 20 s with
// a plan's).
func (s *Store) sourceIDs(ctx context.Context, acct int64, uuid, system string) (cond string, every bool, err error) {
	var ids []string
	all := 0
	err = scanRows(ctx, s.reads(), `SELECT id, uuid, system FROM data_sources WHERE account_id = $1`, []any{acct},
		func(scan func(...any) error) error {
			var id int64
			var u, sys string
			if err := scan(&id, &u, &sys); err != nil {
				return err
			}
			all++
			if (uuid == "" || u == uuid) && (system == "" || sys == system) {
				ids = append(ids, strconv.FormatInt(id, 10))
			}
			return nil
		})
	if err != nil {
		return "", false, fmt.Errorf("find data sources: %w", err)
	}
	switch len(ids) {
	case 0:
		return "= 0", false, nil
	case 1:
		return "= " + ids[0], all == 1, nil
	}
	return "IN (" + strings.Join(ids, ",") + ")", len(ids) == all, nil
}

// disabledOnly is count (of "FROM table alias") reading the partial
// index of the disabled rows by account, which on SQLite it names: SQLite, planning
// without statistics, read the rows through another index of the account
// instead, every one of them.
func (s *Store) disabledOnly(count, from, index string) string {
	if s.dialect != SQLite {
		return count
	}
	// The index starts with the account, which a narrowed list writes
	// "+alias.account_id" (byAccount) for its other indexes.
	_, alias, _ := strings.Cut(from, " ")
	count = strings.ReplaceAll(count, `+`+alias+`.account_id = $1`, alias+`.account_id = $1`)
	return strings.Replace(count, `FROM `+from+` `, `FROM `+from+` INDEXED BY `+index+` `, 1)
}

// reads is what list queries run on: the reader pool, or, when a test has
// set onRead, the pool with each query shown to onRead first (the query
// plan test explains every list query this way).
func (s *Store) reads() querier {
	if s.onRead != nil {
		return tracedQuerier{s.r, s.onRead}
	}
	return s.r
}

type tracedQuerier struct {
	q     querier
	trace func(query string, args []any)
}

func (t tracedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.trace(query, args)
	return t.q.QueryRowContext(ctx, query, args...)
}

func (t tracedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.trace(query, args)
	return t.q.QueryContext(ctx, query, args...)
}

func (t tracedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.trace(query, args)
	return t.q.ExecContext(ctx, query, args...)
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
// legacy total_pages; "" for a list that shows none), query selects the page with args plus the keyset
// position, limit+1 and offset appended as its last three parameters, and
// scan reads one row, returning it with its keyset id.
func list[T any](ctx context.Context, q querier, what, count, query string, args []any, after int64, p Page,
	scan func(row interface{ Scan(...any) error }) (T, int64, error)) (Listed[T], error) {
	var total int
	if count != "" { // a list whose answer shows no total is not counted
		if err := q.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
			return Listed[T]{}, fmt.Errorf("count %s: %w", what, err)
		}
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

// idSet is the SQL condition that col is one of ids, whose values it
// appends to args. However many they are it binds one or two parameters
// (one an id would pass both databases' limits at a whole account):
//
//   - a few (at most sortMatches), as a list (SQLite's JSON array,
//     PostgreSQL's bigint array) that the planner reads through col's
//     index: the list's rows are found by id and sorted;
//   - more, as a map of one byte per id from the smallest to the largest,
//     1 for a member, which a row is tested against in constant time: the
//     list reads its order's index and stops when the page is full. At
//     100,000 customers a page of every one of them took 40 to 95 ms
//     through the list (the set hashed or sorted for each statement,
//     PostgreSQL planning over every element) and takes 0.1 to 0.3 ms
//     through the map; counting them 17 to 30 ms instead of 45 to 80.
//
// few says which: with few, a list's other conditions should leave col's
// index to the set (byAccount).
func (s *Store) idSet(col string, ids []int64, args *[]any) (cond string, few bool) {
	arg := func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	}
	if lo, hi, ok := idRange(ids); ok && len(ids) > sortMatches && hi-lo < maxIDMap {
		m := make([]byte, hi-lo+1)
		for _, id := range ids {
			m[id-lo] = 1
		}
		// A position below 1 (an id under the smallest) reads nothing, as
		// one past the end does.
		if s.dialect == Postgres {
			mp, base := arg(m), arg(lo)
			return `substring(CAST(` + mp + ` AS BYTEA) from CAST(GREATEST(LEAST(` + col + ` - ` + base + ` + 1, 2147483647), 0) AS INTEGER) for 1) = '\x01'::bytea`, false
		}
		mp, base := arg(m), arg(lo)
		return `substr(` + mp + `, max(` + col + ` - ` + base + ` + 1, 0), 1) = x'01'`, false
	}
	if s.dialect == Postgres {
		if ids == nil {
			ids = []int64{}
		}
		return col + ` = ANY(CAST(` + arg(ids) + ` AS BIGINT[]))`, true
	}
	b := make([]byte, 0, 2+8*len(ids))
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return col + ` IN (SELECT value FROM json_each(` + arg(string(append(b, ']'))) + `))`, true
}

// maxIDMap bounds an idSet map (16 MiB): ids further apart are bound as a
// list.
const maxIDMap = 1 << 24

// idRange is the smallest and largest of ids; not ok for none.
func idRange(ids []int64) (lo, hi int64, ok bool) {
	if len(ids) == 0 {
		return 0, 0, false
	}
	lo, hi = ids[0], ids[0]
	for _, id := range ids[1:] {
		lo, hi = min(lo, id), max(hi, id)
	}
	return lo, hi, true
}
