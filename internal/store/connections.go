package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/tally-analytics/tally/internal/billing"
)

// SubscriptionRef names a subscription by UUID, or by data source and
// external id (clients send either, api-reference.md §2.4 C9).
type SubscriptionRef struct {
	UUID           string
	DataSourceUUID string
	ExternalID     string
}

// customerSubscriptionIDs resolves refs to subscriptions of the customer;
// one that does not exist or is another customer's is not found.
func customerSubscriptionIDs(ctx context.Context, q querier, acct int64, customerUUID string, refs []SubscriptionRef) (customerID int64, ids []int64, err error) {
	if customerID, err = resolveCustomer(ctx, q, acct, CustomerRef{UUID: customerUUID}); err != nil {
		return 0, nil, err
	}
	for _, r := range refs {
		var id int64
		if r.UUID != "" {
			err = q.QueryRowContext(ctx, `SELECT id FROM subscriptions WHERE customer_id = $1 AND uuid = $2`, customerID, r.UUID).Scan(&id)
		} else {
			err = q.QueryRowContext(ctx, `SELECT s.id FROM subscriptions s JOIN data_sources ds ON ds.id = s.data_source_id
				WHERE s.customer_id = $1 AND ds.uuid = $2 AND s.external_id = $3`, customerID, r.DataSourceUUID, r.ExternalID).Scan(&id)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil, &MissingError{What: "subscription"}
		}
		if err != nil {
			return 0, nil, err
		}
		ids = append(ids, id)
	}
	return customerID, ids, nil
}

// ConnectSubscriptions joins the subscriptions (and whatever they are
// already connected to) into one connected group, so the metrics treat them
// as one subscription moving between billing systems.
func (s *Store) ConnectSubscriptions(ctx context.Context, acct int64, customerUUID string, refs []SubscriptionRef) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		customerID, ids, err := customerSubscriptionIDs(ctx, tx, acct, customerUUID, refs)
		if err != nil {
			return err
		}
		// Naming one subscription twice (by uuid and by external id, say)
		// connects it to itself: a client's mistake, not a connection.
		if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
			return billing.FieldErrors{"subscriptions": "Each subscription may be named only once."}
		}
		// The group is the union of the subscriptions and their groups.
		members := map[int64]bool{}
		for _, id := range ids {
			members[id] = true
			var group int64
			err := tx.QueryRowContext(ctx, `SELECT group_id FROM subscription_connections WHERE subscription_id = $1`, id).Scan(&group)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("connect subscriptions: %w", err)
			}
			if err := scanRows(ctx, tx, `SELECT subscription_id FROM subscription_connections WHERE customer_id = $1 AND group_id = $2`,
				[]any{customerID, group}, func(scan func(...any) error) error {
					var m int64
					err := scan(&m)
					members[m] = true
					return err
				}); err != nil {
				return fmt.Errorf("connect subscriptions: %w", err)
			}
		}
		if err := markDirty(ctx, tx, `$1`, customerID); err != nil {
			return err
		}
		group := int64(0)
		for m := range members {
			if group == 0 || m < group {
				group = m
			}
		}
		for m := range members {
			if _, err := tx.ExecContext(ctx, `DELETE FROM subscription_connections WHERE subscription_id = $1`, m); err != nil {
				return fmt.Errorf("connect subscriptions: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO subscription_connections (subscription_id, account_id, customer_id, group_id)
				VALUES ($1, $2, $3, $4)`, m, acct, customerID, group); err != nil {
				return fmt.Errorf("connect subscriptions: %w", err)
			}
		}
		return nil
	})
}

// DisconnectSubscriptions takes the subscriptions out of their connected
// groups; a group left with one member dissolves.
func (s *Store) DisconnectSubscriptions(ctx context.Context, acct int64, customerUUID string, refs []SubscriptionRef) error {
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		customerID, ids, err := customerSubscriptionIDs(ctx, tx, acct, customerUUID, refs)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM subscription_connections WHERE subscription_id = $1`, id); err != nil {
				return fmt.Errorf("disconnect subscriptions: %w", err)
			}
		}
		if err := markDirty(ctx, tx, `$1`, customerID); err != nil {
			return err
		}
		return dropLoneConnections(ctx, tx, customerID)
	})
}

// dropLoneConnections dissolves the customer's groups that have one
// member left.
func dropLoneConnections(ctx context.Context, tx *sql.Tx, customerID int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM subscription_connections WHERE customer_id = $1 AND group_id IN
		(SELECT group_id FROM subscription_connections WHERE customer_id = $1 GROUP BY group_id HAVING count(*) < 2)`, customerID)
	if err != nil {
		return fmt.Errorf("dissolve connections: %w", err)
	}
	return nil
}

// ConnectedGroups returns, for a customer, each connected subscription's
// group (the smallest member id), keyed by subscription UUID.
func (s *Store) ConnectedGroups(ctx context.Context, acct int64, customerUUID string) (map[string]int64, error) {
	out := map[string]int64{}
	err := scanRows(ctx, s.r, `SELECT s.uuid, sc.group_id FROM subscription_connections sc JOIN subscriptions s ON s.id = sc.subscription_id
		JOIN customers c ON c.id = sc.customer_id WHERE sc.account_id = $1 AND c.uuid = $2`, []any{acct, customerUUID},
		func(scan func(...any) error) error {
			var uuid string
			var g int64
			err := scan(&uuid, &g)
			out[uuid] = g
			return err
		})
	return out, err
}
