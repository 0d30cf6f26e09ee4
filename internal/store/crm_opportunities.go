package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Opportunity is a sales opportunity with a customer (ref §2.5).
// EstimatedCloseDate is YYYY-MM-DD.
type Opportunity struct {
	ID                 int64
	UUID               string
	CustomerUUID       string
	Owner              string
	Pipeline           string
	PipelineStage      string
	EstimatedCloseDate string
	Currency           string
	AmountInCents      int64
	Type               *string
	ForecastCategory   *string
	WinLikelihood      *int64
	Custom             Custom
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// OpportunityFilter selects opportunities; empty fields select every one.
// CloseFrom and CloseBefore (YYYY-MM-DD) bound the estimated close date,
// the first inclusive, the second not.
type OpportunityFilter struct {
	CustomerUUID  string
	Owner         string
	Pipeline      string
	PipelineStage string
	CloseFrom     string
	CloseBefore   string
}

const opportunityCols = `o.id, o.uuid, cu.uuid, o.owner, o.pipeline, o.pipeline_stage, o.estimated_close_date, o.currency,
	o.amount_in_cents, o.type, o.forecast_category, o.win_likelihood, o.custom, o.created_at, o.updated_at`

const opportunityFrom = ` FROM opportunities o JOIN customers cu ON cu.id = o.customer_id`

func scanOpportunity(row interface{ Scan(...any) error }) (Opportunity, error) {
	var o Opportunity
	var typ, forecast sql.NullString
	var win sql.NullInt64
	var custom string
	var created, updated int64
	err := row.Scan(&o.ID, &o.UUID, &o.CustomerUUID, &o.Owner, &o.Pipeline, &o.PipelineStage, &o.EstimatedCloseDate, &o.Currency,
		&o.AmountInCents, &typ, &forecast, &win, &custom, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return o, &MissingError{What: "opportunity"}
	}
	if err != nil {
		return o, fmt.Errorf("read opportunity: %w", err)
	}
	o.Type, o.ForecastCategory, o.CreatedAt, o.UpdatedAt = strPtr(typ), strPtr(forecast), fromMillis(created), fromMillis(updated)
	if win.Valid {
		o.WinLikelihood = &win.Int64
	}
	o.Custom, err = decodeCustom(custom)
	return o, err
}

func readOpportunity(ctx context.Context, q querier, acct int64, uuid, lock string) (Opportunity, error) {
	return scanOpportunity(q.QueryRowContext(ctx, `SELECT `+opportunityCols+opportunityFrom+` WHERE o.account_id = $1 AND o.uuid = $2`+lock, acct, uuid))
}

// CreateOpportunity stores an opportunity with the customer with UUID
// customerUUID (an unknown one is a *MissingError), filling in its UUID
// (bare, as ChartMogul's) and times.
func (s *Store) CreateOpportunity(ctx context.Context, acct int64, customerUUID string, o *Opportunity) error {
	uuid := NewUUID("")
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		customer, origin, err := crmCustomer(ctx, tx, acct, customerUUID)
		if err != nil {
			return err
		}
		custom, err := encodeCustom(o.Custom)
		if err != nil {
			return err
		}
		t := millis(now())
		_, err = tx.ExecContext(ctx, `INSERT INTO opportunities (account_id, uuid, customer_id, origin_identity_id, owner, pipeline,
			pipeline_stage, estimated_close_date, currency, amount_in_cents, type, forecast_category, win_likelihood, custom,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`,
			acct, uuid, customer, origin, o.Owner, o.Pipeline, o.PipelineStage, o.EstimatedCloseDate, o.Currency, o.AmountInCents,
			nullStr(o.Type), nullStr(o.ForecastCategory), nullInt(o.WinLikelihood), custom, t)
		if err != nil {
			return fmt.Errorf("create opportunity: %w", err)
		}
		got, err := readOpportunity(ctx, tx, acct, uuid, "")
		if err != nil {
			return err
		}
		*o = got
		return nil
	})
}

// Opportunity finds one opportunity of the account by UUID.
func (s *Store) Opportunity(ctx context.Context, acct int64, uuid string) (Opportunity, error) {
	return readOpportunity(ctx, s.r, acct, uuid, "")
}

// ListOpportunities lists the account's opportunities that f selects, in
// creation order; an unknown customer is a *MissingError.
func (s *Store) ListOpportunities(ctx context.Context, acct int64, f OpportunityFilter, p Page) (Listed[Opportunity], error) {
	w := newCRMWhere(acct, "o.account_id", f.CustomerUUID != "")
	if err := crmCustomerFilter(ctx, s.reads(), acct, w, "o.customer_id", f.CustomerUUID); err != nil {
		return Listed[Opportunity]{}, err
	}
	for _, c := range []struct{ cond, v string }{
		{"o.owner = ?", f.Owner}, {"o.pipeline = ?", f.Pipeline}, {"o.pipeline_stage = ?", f.PipelineStage},
		{"o.estimated_close_date >= ?", f.CloseFrom}, {"o.estimated_close_date < ?", f.CloseBefore},
	} {
		if c.v != "" {
			w.add(c.cond, c.v)
		}
	}
	return list(ctx, s.reads(), "opportunities", "", w.page(opportunityCols, opportunityFrom, "o.id"), w.args, p.AfterID, p,
		func(row interface{ Scan(...any) error }) (Opportunity, int64, error) {
			o, err := scanOpportunity(row)
			return o, o.ID, err
		})
}

// UpdateOpportunity changes an opportunity: apply edits the stored one
// (its error aborts the update; it may run more than once, see tx).
func (s *Store) UpdateOpportunity(ctx context.Context, acct int64, uuid string, apply func(*Opportunity) error) (Opportunity, error) {
	var o Opportunity
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		if o, err = readOpportunity(ctx, tx, acct, uuid, s.forUpdate("o")); err != nil {
			return err
		}
		if err := apply(&o); err != nil {
			return err
		}
		custom, err := encodeCustom(o.Custom)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE opportunities SET owner = $3, pipeline = $4, pipeline_stage = $5,
			estimated_close_date = $6, currency = $7, amount_in_cents = $8, type = $9, forecast_category = $10,
			win_likelihood = $11, custom = $12, updated_at = $13 WHERE account_id = $1 AND id = $2`,
			acct, o.ID, o.Owner, o.Pipeline, o.PipelineStage, o.EstimatedCloseDate, o.Currency, o.AmountInCents, nullStr(o.Type),
			nullStr(o.ForecastCategory), nullInt(o.WinLikelihood), custom, millis(now()))
		if err != nil {
			return fmt.Errorf("update opportunity: %w", err)
		}
		o, err = readOpportunity(ctx, tx, acct, uuid, "")
		return err
	})
	return o, err
}

// DeleteOpportunity removes an opportunity.
func (s *Store) DeleteOpportunity(ctx context.Context, acct int64, uuid string) error {
	return s.crmDelete(ctx, acct, "opportunities", "opportunity", uuid)
}
