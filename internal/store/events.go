package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tally-analytics/tally/internal/billing"
)

const eventCols = `e.id, ds.uuid, e.customer_external_id, e.subscription_external_id, e.subscription_set_external_id,
	e.plan_external_id, e.external_id, e.event_type, e.event_date, e.effective_date, e.currency, e.amount_in_cents,
	e.quantity, e.tax_amount_in_cents, e.event_order, e.retracted_event_id, e.errors, e.created_at, e.updated_at,
	e.disabled_at, e.disabled_by`
const eventFrom = ` FROM subscription_events e JOIN data_sources ds ON ds.id = e.data_source_id `

func scanEvent(row interface{ Scan(...any) error }) (billing.SubscriptionEvent, error) {
	var e billing.SubscriptionEvent
	var set, plan, ext, cur, disabledBy sql.NullString
	var amount, qty, tax, order, retracted, disabledAt sql.NullInt64
	var eventDate, effective, created, updated int64
	var errs string
	err := row.Scan(&e.ID, &e.DataSourceUUID, &e.CustomerExternalID, &e.SubscriptionExternalID, &set, &plan, &ext, &e.EventType,
		&eventDate, &effective, &cur, &amount, &qty, &tax, &order, &retracted, &errs, &created, &updated, &disabledAt, &disabledBy)
	if errors.Is(err, sql.ErrNoRows) {
		return e, &MissingError{What: "subscription event"}
	}
	if err != nil {
		return e, err
	}
	e.SubscriptionSetExternalID, e.PlanExternalID, e.ExternalID, e.Currency = strPtr(set), strPtr(plan), strPtr(ext), strPtr(cur)
	e.AmountInCents, e.Quantity, e.TaxAmountInCents, e.EventOrder, e.RetractedEventID = intPtr(amount), intPtr(qty), intPtr(tax), intPtr(order), intPtr(retracted)
	e.EventDate, e.EffectiveDate, e.CreatedAt, e.UpdatedAt = fromMillis(eventDate), fromMillis(effective), fromMillis(created), fromMillis(updated)
	e.Disabled = billing.Disabled{At: timePtr(disabledAt), By: strPtr(disabledBy)}
	if err := json.Unmarshal([]byte(errs), &e.Errors); err != nil {
		return e, fmt.Errorf("decode event errors: %w", err)
	}
	return e, nil
}

// eventRefs are the rows an event points at, resolved in its account.
type eventRefs struct {
	dataSourceID, customerID, identityID int64
	planID                               any
}

// resolveEvent finds the data source, customer (by external id, merged
// identities included) and plan an event names; what is missing is a
// FieldErrors naming the field (a 422, api-reference.md §2.11).
func resolveEvent(ctx context.Context, q querier, acct int64, e *billing.SubscriptionEvent) (eventRefs, error) {
	var r eventRefs
	err := q.QueryRowContext(ctx, `SELECT id FROM data_sources WHERE account_id = $1 AND uuid = $2`, acct, e.DataSourceUUID).Scan(&r.dataSourceID)
	if errors.Is(err, sql.ErrNoRows) {
		return r, billing.FieldErrors{"data_source_uuid": "No data source with this UUID exists in the account."}
	}
	if err != nil {
		return r, fmt.Errorf("resolve event: %w", err)
	}
	err = q.QueryRowContext(ctx, `SELECT id, customer_id FROM customer_identities WHERE data_source_id = $1 AND external_id = $2`,
		r.dataSourceID, e.CustomerExternalID).Scan(&r.identityID, &r.customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return r, billing.FieldErrors{"customer_external_id": "No customer with this external ID exists in the data source."}
	}
	if err != nil {
		return r, fmt.Errorf("resolve event: %w", err)
	}
	if e.PlanExternalID != nil {
		var id int64
		err = q.QueryRowContext(ctx, `SELECT id FROM plans WHERE data_source_id = $1 AND external_id = $2`, r.dataSourceID, *e.PlanExternalID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return r, billing.FieldErrors{"plan_external_id": "No plan with this external ID exists in the data source."}
		}
		if err != nil {
			return r, fmt.Errorf("resolve event: %w", err)
		}
		r.planID = id
	}
	return r, nil
}

// matchRetraction finds the event a retraction withdraws and records it
// in e.RetractedEventID, or records in e.Errors why nothing matched (the
// retraction is still stored, as ChartMogul does).
//
//   - subscription_event_retracted names its target by retracted_event_id
//     (a numeric id, or the target's external id).
//   - A typed retraction (scheduled_*_retracted) withdraws the latest event
//     of the matching scheduled type on the same subscription, or on the
//     same subscription set, whose effective date is not after the
//     retraction's, unless it names its target by id.
func matchRetraction(ctx context.Context, q querier, dsID int64, e *billing.SubscriptionEvent) error {
	e.Errors = billing.FieldErrors{}
	if !billing.IsRetraction(e.EventType) {
		return nil
	}
	target, typed := billing.RetractionTargets[e.EventType]
	var id int64
	var typ string
	var err error
	switch {
	case e.RetractedEventID != nil:
		err = q.QueryRowContext(ctx, `SELECT id, event_type FROM subscription_events WHERE data_source_id = $1 AND id = $2 AND id <> $3`,
			dsID, *e.RetractedEventID, e.ID).Scan(&id, &typ)
	case e.RetractedExternalID != "":
		err = q.QueryRowContext(ctx, `SELECT id, event_type FROM subscription_events WHERE data_source_id = $1 AND external_id = $2 AND id <> $3`,
			dsID, e.RetractedExternalID, e.ID).Scan(&id, &typ)
	default:
		set := ""
		if e.SubscriptionSetExternalID != nil {
			set = *e.SubscriptionSetExternalID
		}
		err = q.QueryRowContext(ctx, `SELECT id, event_type FROM subscription_events
			WHERE data_source_id = $1 AND event_type = $2 AND id <> $3 AND effective_date <= $4
			  AND (subscription_external_id = $5 OR ($6 <> '' AND subscription_set_external_id = $6))
			ORDER BY effective_date DESC, id DESC LIMIT 1`,
			dsID, target, e.ID, millis(e.EffectiveDate), e.SubscriptionExternalID, set).Scan(&id, &typ)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		e.RetractedEventID = nil
		e.Errors["retracted_event_id"] = "No event matches this retraction; it is stored but withdraws nothing."
		return nil
	case err != nil:
		return fmt.Errorf("match retraction: %w", err)
	case typed && typ != target:
		e.Errors["retracted_event_id"] = fmt.Sprintf("A %s withdraws a %s event, not a %s one; it withdraws nothing.", e.EventType, target, typ)
		e.RetractedEventID = nil
		return nil
	}
	e.RetractedEventID = &id
	return nil
}

// CreateEvent stores a subscription event.
// currency is the account currency the caller checked the event's rate
// against.
func (s *Store) CreateEvent(ctx context.Context, acct int64, currency string, e *billing.SubscriptionEvent) error {
	in := *e
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		*e = in // a second run starts from the request, not from the first run's retraction match
		if err := s.checkCurrency(ctx, tx, acct, currency); err != nil {
			return err
		}
		customerID, err := insertEvent(ctx, tx, acct, e)
		if err != nil {
			return err
		}
		return markDirty(ctx, tx, `$1`, customerID)
	})
}

// insertEvent resolves what an event names, matches its retraction and
// stores it, returning its customer (for the caller to mark).
func insertEvent(ctx context.Context, tx *sql.Tx, acct int64, e *billing.SubscriptionEvent) (customerID int64, err error) {
	r, err := resolveEvent(ctx, tx, acct, e)
	if err != nil {
		return 0, err
	}
	if err := matchRetraction(ctx, tx, r.dataSourceID, e); err != nil {
		return 0, err
	}
	errs, _ := json.Marshal(e.Errors)
	e.CreatedAt = now()
	e.UpdatedAt = e.CreatedAt
	err = tx.QueryRowContext(ctx, `INSERT INTO subscription_events (account_id, data_source_id, customer_id, identity_id, plan_id,
		external_id, customer_external_id, subscription_external_id, subscription_set_external_id, plan_external_id, event_type,
		event_date, effective_date, currency, amount_in_cents, quantity, tax_amount_in_cents, event_order, retracted_event_id,
		errors, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) RETURNING id`,
		acct, r.dataSourceID, r.customerID, r.identityID, r.planID, nullStr(e.ExternalID), e.CustomerExternalID,
		e.SubscriptionExternalID, nullStr(e.SubscriptionSetExternalID), nullStr(e.PlanExternalID), e.EventType,
		millis(e.EventDate), millis(e.EffectiveDate), nullStr(e.Currency), nullInt(e.AmountInCents), nullInt(e.Quantity),
		nullInt(e.TaxAmountInCents), nullInt(e.EventOrder), nullInt(e.RetractedEventID), string(errs),
		millis(e.CreatedAt), millis(e.UpdatedAt)).Scan(&e.ID)
	return r.customerID, uniqueAs(err, "external_id", "create subscription event")
}

// EventRef addresses an event by id, or by data source and external id.
type EventRef struct {
	ID             int64
	DataSourceUUID string
	ExternalID     string
}

func (s *Store) eventByRef(ctx context.Context, q querier, acct int64, ref EventRef, lock bool) (billing.SubscriptionEvent, error) {
	where := `WHERE e.account_id = $1 AND e.id = $2`
	args := []any{acct, ref.ID}
	if ref.ID == 0 {
		where = `WHERE e.account_id = $1 AND ds.uuid = $2 AND e.external_id = $3`
		args = []any{acct, ref.DataSourceUUID, ref.ExternalID}
	}
	if lock {
		where += s.forUpdate("e")
	}
	return scanEvent(q.QueryRowContext(ctx, `SELECT `+eventCols+eventFrom+where, args...))
}

// Event finds one event of the account.
func (s *Store) Event(ctx context.Context, acct int64, ref EventRef) (billing.SubscriptionEvent, error) {
	return s.eventByRef(ctx, s.r, acct, ref, false)
}

// UpdateEvent reads the event, lets change edit it, re-resolves its
// references and its retraction, and writes it back in one transaction.
func (s *Store) UpdateEvent(ctx context.Context, acct int64, currency string, ref EventRef, change func(*billing.SubscriptionEvent) error) (billing.SubscriptionEvent, error) {
	var e billing.SubscriptionEvent
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		if err := s.checkCurrency(ctx, tx, acct, currency); err != nil {
			return err
		}
		var err error
		if e, err = s.eventByRef(ctx, tx, acct, ref, true); err != nil {
			return err
		}
		if err := markDirty(ctx, tx, `SELECT customer_id FROM subscription_events WHERE id = $1`, e.ID); err != nil {
			return err
		}
		if err := change(&e); err != nil {
			return err
		}
		r, err := resolveEvent(ctx, tx, acct, &e)
		if err != nil {
			return err
		}
		if err := matchRetraction(ctx, tx, r.dataSourceID, &e); err != nil {
			return err
		}
		if err := markDirty(ctx, tx, `$1`, r.customerID); err != nil {
			return err
		}
		errs, _ := json.Marshal(e.Errors)
		e.UpdatedAt = now()
		_, err = tx.ExecContext(ctx, `UPDATE subscription_events SET data_source_id = $3, customer_id = $4, identity_id = $5, plan_id = $6,
			external_id = $7, customer_external_id = $8, subscription_external_id = $9, subscription_set_external_id = $10,
			plan_external_id = $11, event_type = $12, event_date = $13, effective_date = $14, currency = $15, amount_in_cents = $16,
			quantity = $17, tax_amount_in_cents = $18, event_order = $19, retracted_event_id = $20, errors = $21, updated_at = $22
			WHERE account_id = $1 AND id = $2`,
			acct, e.ID, r.dataSourceID, r.customerID, r.identityID, r.planID, nullStr(e.ExternalID), e.CustomerExternalID,
			e.SubscriptionExternalID, nullStr(e.SubscriptionSetExternalID), nullStr(e.PlanExternalID), e.EventType,
			millis(e.EventDate), millis(e.EffectiveDate), nullStr(e.Currency), nullInt(e.AmountInCents), nullInt(e.Quantity),
			nullInt(e.TaxAmountInCents), nullInt(e.EventOrder), nullInt(e.RetractedEventID), string(errs), millis(e.UpdatedAt))
		return uniqueAs(err, "external_id", "update subscription event")
	})
	return e, err
}

// DeleteEvent removes an event; metrics then follow from what remains.
func (s *Store) DeleteEvent(ctx context.Context, acct int64, ref EventRef) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		e, err := s.eventByRef(ctx, tx, acct, ref, true)
		if err != nil {
			return err
		}
		if err := markDirty(ctx, tx, `SELECT customer_id FROM subscription_events WHERE id = $1`, e.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM subscription_events WHERE account_id = $1 AND id = $2`, acct, e.ID)
		if err != nil {
			return fmt.Errorf("delete subscription event: %w", err)
		}
		return nil
	})
}

// EventFilter narrows an event list; empty fields do not filter. Dates
// match the day they fall on (UTC), as the filters are dates.
type EventFilter struct {
	DataSourceUUID         string
	CustomerExternalID     string
	SubscriptionExternalID string
	PlanExternalID         string
	ExternalID             string
	EventType              string
	EventDate              *[2]int64 // [from, to) in Unix ms
	EffectiveDate          *[2]int64
	// WithDisabled lists disabled events too (issue 13).
	WithDisabled bool
}

// dayFilter is col in [from, to) when the filter r is set, else a
// condition on the parameters alone, true, so that they keep their
// numbers: a range on a column read every event for it, counting too
// (22 ms for 7,500 events).
func dayFilter(col, from, to string, r *[2]int64) string {
	if r == nil {
		return `CAST(` + from + ` AS BIGINT) < CAST(` + to + ` AS BIGINT)`
	}
	return col + ` >= ` + from + ` AND ` + col + ` < ` + to
}

// ListEvents lists the account's events newest first. Page.AfterID is
// the id the page continues below (0: from the newest).
func (s *Store) ListEvents(ctx context.Context, acct int64, f EventFilter, p Page) (Listed[billing.SubscriptionEvent], error) {
	bySource, every := `$2 = ''`, true
	if f.DataSourceUUID != "" {
		inSource, all, err := s.sourceIDs(ctx, acct, f.DataSourceUUID, "")
		if err != nil {
			return Listed[billing.SubscriptionEvent]{}, err
		}
		// Every data source of the account: every event (sourceIDs).
		bySource, every = `e.data_source_id `+inSource+` AND $2 <> ''`, all
		if all {
			bySource = `$2 <> ''`
		}
	}
	where := `WHERE ` + byAccount(`e.account_id`, !every) + ` AND ` + bySource + ` AND ` + eq(`e.customer_external_id`, `$3`, f.CustomerExternalID) + `
		AND ` + eq(`e.subscription_external_id`, `$4`, f.SubscriptionExternalID) + ` AND ` + eq(`e.plan_external_id`, `$5`, f.PlanExternalID) + `
		AND ` + eq(`e.external_id`, `$6`, f.ExternalID) + ` AND ` + eq(`e.event_type`, `$7`, f.EventType) + `
		AND ` + dayFilter(`e.event_date`, `$8`, `$9`, f.EventDate) + ` AND ` + dayFilter(`e.effective_date`, `$10`, `$11`, f.EffectiveDate)
	count := `SELECT count(*) FROM subscription_events e ` + where
	if !f.WithDisabled {
		// As ListInvoices: the matching events less the disabled ones.
		count = `SELECT (` + count + `) - (` + s.disabledOnly(count, `subscription_events e`, `subscription_events_disabled`) + ` AND e.disabled_at IS NOT NULL)`
		where += ` AND e.disabled_at IS NULL`
	}
	span := func(r *[2]int64) (int64, int64) {
		if r == nil {
			return -1 << 62, 1 << 62
		}
		return r[0], r[1]
	}
	ef, et := span(f.EventDate)
	ff, ft := span(f.EffectiveDate)
	args := []any{acct, f.DataSourceUUID, f.CustomerExternalID, f.SubscriptionExternalID, f.PlanExternalID, f.ExternalID, f.EventType, ef, et, ff, ft}
	before := p.AfterID
	if before == 0 {
		before = 1 << 62
	}
	return list(ctx, s.reads(), "subscription events", count,
		`SELECT `+eventCols+eventFrom+where+` AND e.id < $12 ORDER BY e.id DESC LIMIT $13 OFFSET $14`, args, before, p,
		func(row interface{ Scan(...any) error }) (billing.SubscriptionEvent, int64, error) {
			e, err := scanEvent(row)
			return e, e.ID, err
		})
}
