package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

// Segment is a saved segment (issue 12, Tally's own): a name, unique in
// its account, and a CFL expression, kept as written (names of plans in
// it are resolved each time it is used, as they are then).
type Segment struct {
	ID        int64
	UUID      string
	Name      string
	Filters   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const segmentCols = `g.id, g.uuid, g.name, g.filters, g.created_at, g.updated_at`

func scanSegment(row interface{ Scan(...any) error }) (Segment, error) {
	var g Segment
	var created, updated int64
	err := row.Scan(&g.ID, &g.UUID, &g.Name, &g.Filters, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return g, &MissingError{What: "segment"}
	}
	g.CreatedAt, g.UpdatedAt = fromMillis(created), fromMillis(updated)
	return g, err
}

// CreateSegment stores a new segment, filling in its UUID and times; a
// name the account already has is a *ConflictError on "name".
func (s *Store) CreateSegment(ctx context.Context, acct int64, g *Segment) error {
	g.UUID, g.CreatedAt = NewUUID("seg_"), now()
	g.UpdatedAt = g.CreatedAt
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM segments WHERE account_id = $1`, acct).Scan(&n); err != nil {
			return fmt.Errorf("count segments: %w", err)
		}
		if n >= billing.MaxSegments {
			return billing.FieldErrors{"name": fmt.Sprintf("An account holds at most %d segments; delete one first.", billing.MaxSegments)}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO segments (account_id, uuid, name, filters, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, acct, g.UUID, g.Name, g.Filters, millis(g.CreatedAt), millis(g.UpdatedAt)).Scan(&g.ID)
		if isUnique(err) {
			return &ConflictError{Field: "name"}
		}
		if err != nil {
			return fmt.Errorf("create segment: %w", err)
		}
		return nil
	})
}

// ListSegments lists the account's segments in creation order.
func (s *Store) ListSegments(ctx context.Context, acct int64, p Page) (Listed[Segment], error) {
	return list(ctx, s.reads(), "segments", `SELECT count(*) FROM segments g WHERE g.account_id = $1`,
		`SELECT `+segmentCols+` FROM segments g WHERE g.account_id = $1 AND g.id > $2 ORDER BY g.id LIMIT $3 OFFSET $4`,
		[]any{acct}, p.AfterID, p, func(row interface{ Scan(...any) error }) (Segment, int64, error) {
			g, err := scanSegment(row)
			return g, g.ID, err
		})
}

// Segment finds one segment of the account by UUID.
func (s *Store) Segment(ctx context.Context, acct int64, uuid string) (Segment, error) {
	return scanSegment(s.r.QueryRowContext(ctx, `SELECT `+segmentCols+` FROM segments g WHERE g.account_id = $1 AND g.uuid = $2`, acct, uuid))
}

// UpdateSegment renames the segment and/or replaces its filters (nil
// leaves a field as it is).
func (s *Store) UpdateSegment(ctx context.Context, acct int64, uuid string, name, filters *string) (Segment, error) {
	var g Segment
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE segments SET name = COALESCE($3, name), filters = COALESCE($4, filters), updated_at = $5
			WHERE account_id = $1 AND uuid = $2`, acct, uuid, nullStr(name), nullStr(filters), millis(now()))
		if isUnique(err) {
			return &ConflictError{Field: "name"}
		}
		if err != nil {
			return fmt.Errorf("update segment: %w", err)
		}
		if err := oneRow(res, "segment"); err != nil {
			return err
		}
		g, err = scanSegment(tx.QueryRowContext(ctx, `SELECT `+segmentCols+` FROM segments g WHERE g.account_id = $1 AND g.uuid = $2`, acct, uuid))
		return err
	})
	return g, err
}

// DeleteSegment removes a segment.
func (s *Store) DeleteSegment(ctx context.Context, acct int64, uuid string) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM segments WHERE account_id = $1 AND uuid = $2`, acct, uuid)
		if err != nil {
			return fmt.Errorf("delete segment: %w", err)
		}
		return oneRow(res, "segment")
	})
}

// ResolvePlanGroups gives the plan UUIDs of each of the account's plan
// groups named by UUID (an empty list for a group without plans), and the
// UUIDs of no group of the account (a segment's plan_group filter).
func (s *Store) ResolvePlanGroups(ctx context.Context, acct int64, uuids []string) (plans map[string][]string, unknown []string, err error) {
	plans = map[string][]string{}
	err = queryIn(ctx, s.dialect, s.reads(), `SELECT g.uuid, COALESCE(p.uuid, '') FROM plan_groups g
		LEFT JOIN plan_group_plans gp ON gp.plan_group_id = g.id LEFT JOIN plans p ON p.id = gp.plan_id
		WHERE g.account_id = $1 AND g.uuid IN (%s) ORDER BY g.id, gp.position`, []any{acct}, uniq(uuids),
		func(scan func(...any) error) error {
			var g, p string
			if err := scan(&g, &p); err != nil {
				return err
			}
			if _, ok := plans[g]; !ok {
				plans[g] = []string{}
			}
			if p != "" {
				plans[g] = append(plans[g], p)
			}
			return nil
		})
	if err != nil {
		return nil, nil, fmt.Errorf("resolve plan groups: %w", err)
	}
	for _, u := range uuids {
		if _, ok := plans[u]; !ok {
			unknown = append(unknown, u)
		}
	}
	return plans, unknown, nil
}

// ResolveDataSources gives those of uuids that name data sources of the
// account, and the others (a segment's data_source filter).
func (s *Store) ResolveDataSources(ctx context.Context, acct int64, uuids []string) (known, unknown []string, err error) {
	found := map[string]bool{}
	err = queryIn(ctx, s.dialect, s.reads(), `SELECT uuid FROM data_sources WHERE account_id = $1 AND uuid IN (%s) ORDER BY id`, []any{acct}, uniq(uuids),
		func(scan func(...any) error) error {
			var u string
			if err := scan(&u); err != nil {
				return err
			}
			known, found[u] = append(known, u), true
			return nil
		})
	if err != nil {
		return nil, nil, fmt.Errorf("resolve data sources: %w", err)
	}
	for _, u := range uuids {
		if !found[u] {
			unknown = append(unknown, u)
		}
	}
	return known, unknown, nil
}
