package store

import (
	"context"
	"database/sql"
	"errors"
)

// CancellationRecord is one stored cancellation: from the subscription's
// PATCH history, or from a line item's cancelled_at.
type CancellationRecord struct {
	ID                     int64
	SubscriptionUUID       string
	SubscriptionExternalID string
	CancelledAt            int64  // Unix ms
	LineItemUUID           string // set when a line's cancelled_at made it
}

// Cancellation finds one cancellation of the account.
func (s *Store) Cancellation(ctx context.Context, acct, id int64) (CancellationRecord, error) {
	var c CancellationRecord
	var line sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT ca.id, s.uuid, s.external_id, ca.cancelled_at, li.uuid
		FROM cancellations ca JOIN subscriptions s ON s.id = ca.subscription_id LEFT JOIN line_items li ON li.id = ca.line_item_id
		WHERE ca.account_id = $1 AND ca.id = $2`, acct, id).Scan(&c.ID, &c.SubscriptionUUID, &c.SubscriptionExternalID, &c.CancelledAt, &line)
	if errors.Is(err, sql.ErrNoRows) {
		return c, &MissingError{What: "cancellation"}
	}
	c.LineItemUUID = line.String
	return c, err
}

// ConnectedSubscription is a member of a connected group.
type ConnectedSubscription struct {
	UUID, ExternalID string
}

// ConnectionGroup lists the subscriptions of a connected group.
func (s *Store) ConnectionGroup(ctx context.Context, acct, group int64) ([]ConnectedSubscription, error) {
	var out []ConnectedSubscription
	err := scanRows(ctx, s.r, `SELECT s.uuid, s.external_id FROM subscription_connections sc JOIN subscriptions s ON s.id = sc.subscription_id
		WHERE sc.account_id = $1 AND sc.group_id = $2 ORDER BY s.id`, []any{acct, group}, func(scan func(...any) error) error {
		var c ConnectedSubscription
		err := scan(&c.UUID, &c.ExternalID)
		out = append(out, c)
		return err
	})
	return out, err
}
