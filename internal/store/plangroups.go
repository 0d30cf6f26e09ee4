package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tally-analytics/tally/internal/billing"
)

const planGroupCols = `g.id, g.uuid, g.name, (SELECT count(*) FROM plan_group_plans gp WHERE gp.plan_group_id = g.id)`

func scanPlanGroup(row interface{ Scan(...any) error }) (billing.PlanGroup, error) {
	var g billing.PlanGroup
	err := row.Scan(&g.ID, &g.UUID, &g.Name, &g.PlansCount)
	if errors.Is(err, sql.ErrNoRows) {
		return g, &MissingError{What: "plan group"}
	}
	return g, err
}

// setGroupPlans makes the group's plans exactly planUUIDs, which must be
// plans of the account.
func setGroupPlans(ctx context.Context, tx *sql.Tx, acct, groupID int64, planUUIDs []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM plan_group_plans WHERE plan_group_id = $1`, groupID); err != nil {
		return fmt.Errorf("set plan group plans: %w", err)
	}
	for i, uuid := range uniq(planUUIDs) {
		var planID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM plans WHERE account_id = $1 AND uuid = $2`, acct, uuid).Scan(&planID)
		if errors.Is(err, sql.ErrNoRows) {
			return billing.FieldErrors{"plan_ids": "Plan ids contain an unknown plan: " + uuid}
		}
		if err != nil {
			return fmt.Errorf("set plan group plans: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO plan_group_plans (plan_group_id, plan_id, position) VALUES ($1, $2, $3)`,
			groupID, planID, i); err != nil {
			return fmt.Errorf("set plan group plans: %w", err)
		}
	}
	return nil
}

// CreatePlanGroup stores a plan group with its plans.
func (s *Store) CreatePlanGroup(ctx context.Context, acct int64, name string, planUUIDs []string) (billing.PlanGroup, error) {
	var g billing.PlanGroup
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO plan_groups (account_id, uuid, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			acct, NewUUID("plg_"), name, millis(now())).Scan(&id); err != nil {
			return fmt.Errorf("create plan group: %w", err)
		}
		if err := setGroupPlans(ctx, tx, acct, id, planUUIDs); err != nil {
			return err
		}
		var err error
		g, err = scanPlanGroup(tx.QueryRowContext(ctx, `SELECT `+planGroupCols+` FROM plan_groups g WHERE g.id = $1`, id))
		return err
	})
	return g, err
}

// ListPlanGroups lists the account's plan groups in creation order.
func (s *Store) ListPlanGroups(ctx context.Context, acct int64, p Page) (Listed[billing.PlanGroup], error) {
	return list(ctx, s.reads(), "plan groups", `SELECT count(*) FROM plan_groups g WHERE g.account_id = $1`,
		`SELECT `+planGroupCols+` FROM plan_groups g WHERE g.account_id = $1 AND g.id > $2 ORDER BY g.id LIMIT $3 OFFSET $4`,
		[]any{acct}, p.AfterID, p, func(row interface{ Scan(...any) error }) (billing.PlanGroup, int64, error) {
			g, err := scanPlanGroup(row)
			return g, g.ID, err
		})
}

// PlanGroup finds one plan group of the account.
func (s *Store) PlanGroup(ctx context.Context, acct int64, uuid string) (billing.PlanGroup, error) {
	return scanPlanGroup(s.r.QueryRowContext(ctx, `SELECT `+planGroupCols+` FROM plan_groups g WHERE g.account_id = $1 AND g.uuid = $2`, acct, uuid))
}

// UpdatePlanGroup renames the group and/or replaces its plans.
func (s *Store) UpdatePlanGroup(ctx context.Context, acct int64, uuid string, name *string, planUUIDs *[]string) (billing.PlanGroup, error) {
	var g billing.PlanGroup
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM plan_groups WHERE account_id = $1 AND uuid = $2`, acct, uuid).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return &MissingError{What: "plan group"}
		}
		if err != nil {
			return fmt.Errorf("update plan group: %w", err)
		}
		if name != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE plan_groups SET name = $2 WHERE id = $1`, id, *name); err != nil {
				return fmt.Errorf("update plan group: %w", err)
			}
		}
		if planUUIDs != nil {
			if err := setGroupPlans(ctx, tx, acct, id, *planUUIDs); err != nil {
				return err
			}
		}
		g, err = scanPlanGroup(tx.QueryRowContext(ctx, `SELECT `+planGroupCols+` FROM plan_groups g WHERE g.id = $1`, id))
		return err
	})
	return g, err
}

// DeletePlanGroup removes a group; its plans stay.
func (s *Store) DeletePlanGroup(ctx context.Context, acct int64, uuid string) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM plan_groups WHERE account_id = $1 AND uuid = $2`, acct, uuid)
		if err != nil {
			return fmt.Errorf("delete plan group: %w", err)
		}
		return oneRow(res, "plan group")
	})
}

// PlanGroupPlans lists a group's plans in the order they were given.
func (s *Store) PlanGroupPlans(ctx context.Context, acct int64, uuid string, p Page) (Listed[billing.Plan], error) {
	g, err := s.PlanGroup(ctx, acct, uuid)
	if err != nil {
		return Listed[billing.Plan]{}, err
	}
	// The keyset is the position in the group (plus one, so that 0 means
	// "from the start").
	return list(ctx, s.r, "plan group plans", `SELECT count(*) FROM plan_group_plans WHERE plan_group_id = $1`,
		`SELECT `+planCols+`, gp.position`+planFrom+` JOIN plan_group_plans gp ON gp.plan_id = p.id
		WHERE gp.plan_group_id = $1 AND gp.position >= $2 ORDER BY gp.position LIMIT $3 OFFSET $4`,
		[]any{g.ID}, p.AfterID, p, func(row interface{ Scan(...any) error }) (billing.Plan, int64, error) {
			var pl billing.Plan
			var created, pos int64
			err := row.Scan(&pl.ID, &pl.UUID, &pl.DataSourceUUID, &pl.ExternalID, &pl.Name, &pl.IntervalCount, &pl.IntervalUnit, &created, &pos)
			pl.CreatedAt = fromMillis(created)
			return pl, pos + 1, err
		})
}
