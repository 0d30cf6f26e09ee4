package store

import (
	"context"
	"fmt"
)

// ActivityKey is where an activities export stands: the date and UUID of
// the last activity it wrote. Both are values, not a row to look up, and
// an activity's UUID survives recomputation (it is derived from the
// customer, instant and type), so a recompute that deletes and writes a
// customer's activities again while an export is read neither stops the
// export nor makes it repeat a row.
type ActivityKey struct {
	At   int64 // Unix ms
	UUID string
}

// ExportActivities lists up to limit activities of the filter (its
// CustomerUUID, CustomerIDs, Type, From and To; Descending is ignored) in
// (date, UUID) order after the key (nil: from the start).
func (s *Store) ExportActivities(ctx context.Context, acct int64, f ActivityFilter, after *ActivityKey, limit int) ([]Activity, error) {
	from, to := int64(-1<<62), int64(1<<62)
	if f.From != nil {
		from = *f.From
	}
	if f.To != nil {
		to = *f.To
	}
	// (at, uuid) > (afterAt, afterUUID), spelled so that both dialects
	// range-scan the (account_id, at) index from afterAt.
	afterAt, afterUUID := from, ""
	if after != nil {
		afterAt, afterUUID = max(after.At, from), after.UUID
	}
	args := []any{acct, f.CustomerUUID, f.Type, to, afterAt, afterUUID, limit}
	account, set := `a.account_id = $1`, ``
	if f.CustomerIDs != nil {
		// As activityWhere: a few customers' activities by customer, many
		// tested against each activity read in date order.
		cond, few := s.idSet(`a.customer_id`, f.CustomerIDs, &args)
		account, set = byAccount(`a.account_id`, few), ` AND `+cond
	}
	var out []Activity
	err := scanRows(ctx, s.r, `SELECT `+activityCols+activityFrom+`
		WHERE `+account+` AND ($2 = '' OR c.uuid = $2) AND ($3 = '' OR a.type = $3) AND a.at < $4
		  AND a.at >= $5 AND (a.at > $5 OR a.uuid > $6)`+set+`
		ORDER BY a.at, a.uuid LIMIT $7`, args,
		func(scan func(...any) error) error {
			a, err := scanActivity(rowScanner(scan))
			out = append(out, a)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("export activities: %w", err)
	}
	return out, nil
}

// rowScanner lets a scanRows callback use a row scanning function.
type rowScanner func(...any) error

func (f rowScanner) Scan(dest ...any) error { return f(dest...) }
