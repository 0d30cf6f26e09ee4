package store

import (
	"context"
	"time"
)

// ScheduledEvent is a scheduled subscription event that still commits the
// account to a change of MRR: not retracted, and not yet realised by an
// invoice line starting on or after its effective date (nor, for a
// scheduled cancellation, by a cancellation recorded since it was made).
type ScheduledEvent struct {
	ID                     int64
	CustomerID             int64
	CustomerUUID           string
	SubscriptionUUID       string // "" for a subscription not invoiced yet
	DataSourceID           int64
	SubscriptionExternalID string
	EventType              string
	EventDate, Effective   time.Time
	Amount, Tax            int64
	Currency               string
	PlanUUID               string
	IntervalUnit           string
	IntervalCount          int
}

// ScheduledEvents lists the account's committed scheduled events.
func (s *Store) ScheduledEvents(ctx context.Context, acct int64) ([]ScheduledEvent, error) {
	var out []ScheduledEvent
	err := scanRows(ctx, s.r, `SELECT e.id, e.customer_id, c.uuid, COALESCE(sub.uuid, ''), e.data_source_id, e.subscription_external_id,
			e.event_type, e.event_date, e.effective_date, COALESCE(e.amount_in_cents, 0), COALESCE(e.tax_amount_in_cents, 0),
			COALESCE(e.currency, ''), COALESCE(p.uuid, ''), COALESCE(p.interval_unit, ''), COALESCE(p.interval_count, 0)
		FROM subscription_events e
		JOIN customers c ON c.id = e.customer_id
		LEFT JOIN subscriptions sub ON sub.data_source_id = e.data_source_id AND sub.external_id = e.subscription_external_id
		LEFT JOIN plans p ON p.id = e.plan_id
		WHERE e.account_id = $1 AND e.disabled_at IS NULL
		  AND e.event_type IN ('subscription_start_scheduled', 'subscription_update_scheduled', 'subscription_cancellation_scheduled')
		  AND NOT EXISTS (SELECT 1 FROM subscription_events r WHERE r.retracted_event_id = e.id AND r.event_type LIKE '%retracted' AND r.disabled_at IS NULL)
		  AND NOT EXISTS (SELECT 1 FROM line_items li JOIN invoices li_i ON li_i.id = li.invoice_id WHERE li.subscription_id = sub.id
		                  AND li.service_period_start >= e.effective_date AND li.disabled_at IS NULL AND li_i.disabled_at IS NULL)
		  AND NOT (e.event_type = 'subscription_cancellation_scheduled'
		       AND EXISTS (SELECT 1 FROM cancellations ca LEFT JOIN line_items ca_l ON ca_l.id = ca.line_item_id
		                   LEFT JOIN invoices ca_i ON ca_i.id = ca_l.invoice_id
		                   WHERE ca.subscription_id = sub.id AND ca.cancelled_at >= e.event_date
		                     AND (ca.line_item_id IS NULL OR (ca_l.disabled_at IS NULL AND ca_i.disabled_at IS NULL))))
		ORDER BY e.id`, []any{acct}, func(scan func(...any) error) error {
		var e ScheduledEvent
		var eventDate, effective int64
		err := scan(&e.ID, &e.CustomerID, &e.CustomerUUID, &e.SubscriptionUUID, &e.DataSourceID, &e.SubscriptionExternalID, &e.EventType,
			&eventDate, &effective, &e.Amount, &e.Tax, &e.Currency, &e.PlanUUID, &e.IntervalUnit, &e.IntervalCount)
		e.EventDate, e.Effective = fromMillis(eventDate), fromMillis(effective)
		out = append(out, e)
		return err
	})
	return out, err
}
