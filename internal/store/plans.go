package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tally-analytics/tally/internal/billing"
)

const planCols = `p.id, p.uuid, ds.uuid, p.external_id, p.name, p.interval_count, p.interval_unit, p.created_at`
const planFrom = ` FROM plans p JOIN data_sources ds ON ds.id = p.data_source_id `

func scanPlan(row interface{ Scan(...any) error }) (billing.Plan, error) {
	var p billing.Plan
	var created int64
	err := row.Scan(&p.ID, &p.UUID, &p.DataSourceUUID, &p.ExternalID, &p.Name, &p.IntervalCount, &p.IntervalUnit, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return p, &MissingError{What: "plan"}
	}
	p.CreatedAt = fromMillis(created)
	return p, err
}

// CreatePlan stores a new plan under the data source p.DataSourceUUID. A plan
// without external_id gets its UUID sans prefix (api-reference.md §1.9).
func (s *Store) CreatePlan(ctx context.Context, acct int64, p *billing.Plan) error {
	ext := p.ExternalID
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		p.ExternalID = ext // a second run derives it from its own UUID
		dsID, err := dataSourceID(ctx, tx, acct, p.DataSourceUUID)
		if err != nil {
			return err
		}
		newPlan(p)
		err = tx.QueryRowContext(ctx, `INSERT INTO plans (account_id, data_source_id, uuid, external_id, name,
			interval_count, interval_unit, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			acct, dsID, p.UUID, p.ExternalID, p.Name, p.IntervalCount, p.IntervalUnit, millis(p.CreatedAt)).Scan(&p.ID)
		if isUnique(err) {
			return &ConflictError{Field: "external_id"}
		}
		if err != nil {
			return fmt.Errorf("create plan: %w", err)
		}
		return nil
	})
}

// newPlan gives a plan about to be stored its UUID, its creation time and,
// without one, its external id.
func newPlan(p *billing.Plan) {
	p.UUID, p.CreatedAt = NewUUID("pl_"), now()
	if p.ExternalID == "" {
		p.ExternalID = p.UUID[len("pl_"):]
	}
}

// PlanFilter narrows a plan list; empty fields do not filter.
type PlanFilter struct {
	DataSourceUUID string
	ExternalID     string
	System         string
}

// ListPlans lists the account's plans in creation order.
func (s *Store) ListPlans(ctx context.Context, acct int64, f PlanFilter, pg Page) (Listed[billing.Plan], error) {
	where := `WHERE p.account_id = $1 AND ` + eq(`ds.uuid`, `$2`, f.DataSourceUUID) + ` AND ` + eq(`p.external_id`, `$3`, f.ExternalID) +
		` AND ` + eq(`ds.system`, `$4`, f.System)
	args := []any{acct, f.DataSourceUUID, f.ExternalID, f.System}
	return list(ctx, s.reads(), "plans", `SELECT count(*)`+planFrom+where,
		`SELECT `+planCols+planFrom+where+` AND p.id > $5 ORDER BY p.id LIMIT $6 OFFSET $7`, args, pg.AfterID, pg, scanPlanID)
}

func scanPlanID(row interface{ Scan(...any) error }) (billing.Plan, int64, error) {
	p, err := scanPlan(row)
	return p, p.ID, err
}

// Plan finds one plan of the account by UUID.
func (s *Store) Plan(ctx context.Context, acct int64, uuid string) (billing.Plan, error) {
	return scanPlan(s.r.QueryRowContext(ctx, `SELECT `+planCols+planFrom+`WHERE p.account_id = $1 AND p.uuid = $2`, acct, uuid))
}

// UpdatePlan reads the plan, lets change edit it, and writes name and
// interval back in one transaction.
func (s *Store) UpdatePlan(ctx context.Context, acct int64, uuid string, change func(*billing.Plan) error) (billing.Plan, error) {
	var p billing.Plan
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		p, err = scanPlan(tx.QueryRowContext(ctx, `SELECT `+planCols+planFrom+`WHERE p.account_id = $1 AND p.uuid = $2`+s.forUpdate("p"), acct, uuid))
		if err != nil {
			return err
		}
		if err := change(&p); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE plans SET name = $3, interval_count = $4, interval_unit = $5
			WHERE account_id = $1 AND id = $2`, acct, p.ID, p.Name, p.IntervalCount, p.IntervalUnit)
		if err != nil {
			return fmt.Errorf("update plan: %w", err)
		}
		// The interval normalises every line of the plan (rule 2).
		return markDirty(ctx, tx, `SELECT i.customer_id FROM line_items l JOIN invoices i ON i.id = l.invoice_id WHERE l.plan_id = $1`, p.ID)
	})
	return p, err
}

// DeletePlan removes a plan.
func (s *Store) DeletePlan(ctx context.Context, acct int64, uuid string) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE account_id = $1 AND uuid = $2`, acct, uuid)
		if isForeignKey(err) {
			return billing.FieldErrors{"plan_uuid": "The plan is used by invoice line items or subscription events; delete those first."}
		}
		if err != nil {
			return fmt.Errorf("delete plan: %w", err)
		}
		return oneRow(res, "plan")
	})
}
