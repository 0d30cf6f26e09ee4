package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// CustomerResults is one customer's stored engine output.
type CustomerResults struct {
	CustomerID int64
	Points     []ResultPoint
	Activities []ResultActivity
}

// Results loads every customer's stored timeline and activities, of the
// customers in countries when that is not empty (the geo filter).
func (s *Store) Results(ctx context.Context, acct int64, countries []string) ([]*CustomerResults, error) {
	where := `WHERE c.account_id = $1`
	args := []any{acct}
	if len(countries) > 0 {
		marks := make([]string, len(countries))
		for i, c := range countries {
			args = append(args, c)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		where += ` AND c.country IN (` + strings.Join(marks, ",") + `)`
	}
	by := map[int64]*CustomerResults{}
	var out []*CustomerResults
	get := func(id int64) *CustomerResults {
		r, ok := by[id]
		if !ok {
			r = &CustomerResults{CustomerID: id}
			by[id] = r
			out = append(out, r)
		}
		return r
	}
	err := scanRows(ctx, s.r, `SELECT p.customer_id, p.at, p.mrr, p.active FROM mrr_points p JOIN customers c ON c.id = p.customer_id `+
		where+` ORDER BY p.customer_id, p.at`, args, func(scan func(...any) error) error {
		var id, at int64
		var p ResultPoint
		var active int
		if err := scan(&id, &at, &p.MRR, &active); err != nil {
			return err
		}
		p.At, p.Active = fromMillis(at), active != 0
		r := get(id)
		r.Points = append(r.Points, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load timelines: %w", err)
	}
	err = scanRows(ctx, s.r, `SELECT a.customer_id, a.at, a.type, a.amount, a.mrr_after FROM activities a JOIN customers c ON c.id = a.customer_id `+
		where+` ORDER BY a.customer_id, a.at, a.id`, args, func(scan func(...any) error) error {
		var id, at int64
		var a ResultActivity
		if err := scan(&id, &at, &a.Type, &a.Amount, &a.MRRAfter); err != nil {
			return err
		}
		a.At = fromMillis(at)
		r := get(id)
		r.Activities = append(r.Activities, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load activities: %w", err)
	}
	return out, nil
}

// Activity is a stored activity with what the Activities API shows of its
// customer and data source.
type Activity struct {
	ID                 int64
	UUID               string
	CustomerUUID       string
	CustomerExternalID string
	CustomerName       string
	DataSourceUUID     string
	ResultActivity
}

// ActivityFilter narrows an activity list.
type ActivityFilter struct {
	CustomerUUID string
	Type         string
	From, To     *int64 // Unix ms, [From, To)
	Descending   bool
}

// ListActivities lists activities by date (then id); Page.AfterID is the
// id of the last activity already seen.
func (s *Store) ListActivities(ctx context.Context, acct int64, f ActivityFilter, p Page) (Listed[Activity], error) {
	from, to := int64(-1<<62), int64(1<<62)
	if f.From != nil {
		from = *f.From
	}
	if f.To != nil {
		to = *f.To
	}
	where := `WHERE a.account_id = $1 AND ($2 = '' OR c.uuid = $2) AND ($3 = '' OR a.type = $3) AND a.at >= $4 AND a.at < $5`
	args := []any{acct, f.CustomerUUID, f.Type, from, to}
	order, cmp := `a.at, a.id`, `>`
	if f.Descending {
		order, cmp = `a.at DESC, a.id DESC`, `<`
	}
	// Keyset on (at, id): continue after the activity with id AfterID.
	after := `$6 = 0 OR (a.at, a.id) ` + cmp + ` (SELECT x.at, x.id FROM activities x WHERE x.id = $6)`
	if s.dialect == SQLite {
		after = `$6 = 0 OR a.at ` + cmp + ` (SELECT x.at FROM activities x WHERE x.id = $6)
			OR (a.at = (SELECT x.at FROM activities x WHERE x.id = $6) AND a.id ` + cmp + ` $6)`
	}
	return list(ctx, s.r, "activities", `SELECT count(*) FROM activities a JOIN customers c ON c.id = a.customer_id `+where,
		`SELECT a.id, a.uuid, c.uuid, c.external_id, c.name, ds.uuid, a.at, a.type, a.amount, a.mrr_after,
			a.subscription_external_ids, COALESCE(a.plan_external_id, ''), COALESCE(a.plan_name, '')
		FROM activities a JOIN customers c ON c.id = a.customer_id JOIN data_sources ds ON ds.id = c.data_source_id `+where+
			` AND (`+after+`) ORDER BY `+order+` LIMIT $7 OFFSET $8`, args, p.AfterID, p,
		func(row interface{ Scan(...any) error }) (Activity, int64, error) {
			var a Activity
			var at int64
			var subs string
			err := row.Scan(&a.ID, &a.UUID, &a.CustomerUUID, &a.CustomerExternalID, &a.CustomerName, &a.DataSourceUUID, &at, &a.Type,
				&a.Amount, &a.MRRAfter, &subs, &a.PlanExternalID, &a.PlanName)
			if err != nil {
				return a, 0, err
			}
			a.At = fromMillis(at)
			_ = json.Unmarshal([]byte(subs), &a.SubscriptionExternalIDs)
			return a, a.ID, nil
		})
}

// ActivityIDByUUID resolves an activity UUID (Go's start-after) to its id.
func (s *Store) ActivityIDByUUID(ctx context.Context, acct int64, uuid string) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM activities WHERE account_id = $1 AND uuid = $2`, acct, uuid).Scan(&id)
	if err != nil {
		return 0, &MissingError{What: "activity"}
	}
	return id, nil
}

// AccountHistories loads the histories of every customer of the account,
// of the customers in countries when that is not empty.
func (s *Store) AccountHistories(ctx context.Context, acct int64, countries []string) ([]*History, error) {
	where := `WHERE account_id = $1`
	args := []any{acct}
	if len(countries) > 0 {
		marks := make([]string, len(countries))
		for i, c := range countries {
			args = append(args, c)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		where += ` AND country IN (` + strings.Join(marks, ",") + `)`
	}
	var ids []int64
	if err := scanRows(ctx, s.r, `SELECT id FROM customers `+where+` ORDER BY id`, args, func(scan func(...any) error) error {
		var id int64
		err := scan(&id)
		ids = append(ids, id)
		return err
	}); err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	hs, err := histories(ctx, s.r, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*History, 0, len(ids))
	for _, id := range ids {
		out = append(out, hs[id])
	}
	return out, nil
}

// ResolvePlans turns a plans filter's names, UUIDs or external ids
// (metrics.md rule 19) into plan UUIDs; unknown names come back in the
// second list.
func (s *Store) ResolvePlans(ctx context.Context, acct int64, tokens []string) (uuids []string, unknown []string, err error) {
	for _, t := range tokens {
		found := false
		err := scanRows(ctx, s.r, `SELECT uuid FROM plans WHERE account_id = $1 AND (uuid = $2 OR name = $2 OR external_id = $2)`,
			[]any{acct, t}, func(scan func(...any) error) error {
				var u string
				found = true
				err := scan(&u)
				uuids = append(uuids, u)
				return err
			})
		if err != nil {
			return nil, nil, fmt.Errorf("resolve plans: %w", err)
		}
		if !found {
			unknown = append(unknown, t)
		}
	}
	return uuids, unknown, nil
}

// ActivityExport is a requested export of activities.
type ActivityExport struct {
	UUID      string
	Type      string
	From, To  *int64
	CreatedAt time.Time
}

// CreateActivityExport records an export request.
func (s *Store) CreateActivityExport(ctx context.Context, acct int64, x *ActivityExport) error {
	x.UUID, x.CreatedAt = uuid.Must(uuid.NewV7()).String(), now()
	_, err := s.w.ExecContext(ctx, `INSERT INTO activity_exports (uuid, account_id, activity_type, start_at, end_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, x.UUID, acct, x.Type, nullInt(x.From), nullInt(x.To), millis(x.CreatedAt))
	if err != nil {
		return fmt.Errorf("create activity export: %w", err)
	}
	return nil
}

// ActivityExportByUUID finds an export of the account.
func (s *Store) ActivityExportByUUID(ctx context.Context, acct int64, id string) (ActivityExport, error) {
	var x ActivityExport
	var from, to sql.NullInt64
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT uuid, activity_type, start_at, end_at, created_at FROM activity_exports
		WHERE account_id = $1 AND uuid = $2`, acct, id).Scan(&x.UUID, &x.Type, &from, &to, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return x, &MissingError{What: "activities export"}
	}
	if err != nil {
		return x, fmt.Errorf("find activity export: %w", err)
	}
	x.From, x.To, x.CreatedAt = intPtr(from), intPtr(to), fromMillis(created)
	return x, nil
}
