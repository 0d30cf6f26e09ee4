package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

const subscriptionCols = `s.id, s.uuid, s.external_id, s.subscription_set_external_id, c.uuid, ds.uuid,
	COALESCE((SELECT p.uuid FROM line_items l JOIN plans p ON p.id = l.plan_id WHERE l.subscription_id = s.id
	 ORDER BY l.service_period_start DESC, l.id DESC LIMIT 1), '')`
const subscriptionFrom = ` FROM subscriptions s JOIN customers c ON c.id = s.customer_id JOIN data_sources ds ON ds.id = s.data_source_id `

func scanSubscription(row interface{ Scan(...any) error }) (billing.Subscription, error) {
	var sub billing.Subscription
	var set sql.NullString
	err := row.Scan(&sub.ID, &sub.UUID, &sub.ExternalID, &set, &sub.CustomerUUID, &sub.DataSourceUUID, &sub.PlanUUID)
	if errors.Is(err, sql.ErrNoRows) {
		return sub, &MissingError{What: "subscription"}
	}
	sub.SubscriptionSetExternalID = strPtr(set)
	return sub, err
}

// loadCancellations fills in each subscription's cancellation history,
// oldest first.
func loadCancellations(ctx context.Context, d Dialect, q querier, subs []billing.Subscription) error {
	at := make(map[int64]int, len(subs))
	ids := make([]int64, len(subs))
	for i, s := range subs {
		at[s.ID], ids[i] = i, s.ID
		subs[i].CancellationDates = []time.Time{}
	}
	err := queryIn(ctx, d, q, `SELECT subscription_id, cancelled_at FROM cancellations WHERE subscription_id IN (%s)
		ORDER BY subscription_id, cancelled_at, id`, nil, ids, func(scan func(...any) error) error {
		var id, ms int64
		if err := scan(&id, &ms); err != nil {
			return err
		}
		s := &subs[at[id]]
		if t := fromMillis(ms); !slices.ContainsFunc(s.CancellationDates, t.Equal) {
			s.CancellationDates = append(s.CancellationDates, t)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load cancellations: %w", err)
	}
	return nil
}

// CustomerSubscriptions lists a customer's subscriptions in creation order.
func (s *Store) CustomerSubscriptions(ctx context.Context, acct int64, customerUUID string, p Page) (Listed[billing.Subscription], error) {
	customerID, err := resolveCustomer(ctx, s.r, acct, CustomerRef{UUID: customerUUID})
	if err != nil {
		return Listed[billing.Subscription]{}, err
	}
	l, err := list(ctx, s.r, "subscriptions", `SELECT count(*) FROM subscriptions s WHERE s.customer_id = $1`,
		`SELECT `+subscriptionCols+subscriptionFrom+`WHERE s.customer_id = $1 AND s.id > $2 ORDER BY s.id LIMIT $3 OFFSET $4`,
		[]any{customerID}, p.AfterID, p, func(row interface{ Scan(...any) error }) (billing.Subscription, int64, error) {
			sub, err := scanSubscription(row)
			return sub, sub.ID, err
		})
	if err != nil {
		return l, err
	}
	return l, loadCancellations(ctx, s.dialect, s.r, l.Items)
}

// subscription finds one subscription of the account by UUID.
func (s *Store) subscription(ctx context.Context, q querier, acct int64, uuid string) (billing.Subscription, error) {
	sub, err := scanSubscription(q.QueryRowContext(ctx, `SELECT `+subscriptionCols+subscriptionFrom+`WHERE s.account_id = $1 AND s.uuid = $2`, acct, uuid))
	if err != nil {
		return sub, err
	}
	subs := []billing.Subscription{sub}
	err = loadCancellations(ctx, s.dialect, q, subs)
	return subs[0], err
}

// CancelSubscription changes a subscription's cancellation history
// (metrics.md rule 9): with replace it becomes exactly those dates (none for
// an empty list), otherwise add is appended.
func (s *Store) CancelSubscription(ctx context.Context, acct int64, uuid string, add *time.Time, replace []time.Time) (billing.Subscription, error) {
	var sub billing.Subscription
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM subscriptions WHERE account_id = $1 AND uuid = $2`, acct, uuid).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return &MissingError{What: "subscription"}
		}
		if err != nil {
			return fmt.Errorf("cancel subscription: %w", err)
		}
		if err := markDirty(ctx, tx, `SELECT customer_id FROM subscriptions WHERE id = $1`, id); err != nil {
			return err
		}
		dates := replace
		if replace == nil {
			dates = []time.Time{*add}
		} else if _, err := tx.ExecContext(ctx, `DELETE FROM cancellations WHERE subscription_id = $1`, id); err != nil {
			return fmt.Errorf("cancel subscription: %w", err)
		}
		for _, d := range dates {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cancellations (account_id, subscription_id, cancelled_at) VALUES ($1, $2, $3)`,
				acct, id, millis(d)); err != nil {
				return fmt.Errorf("cancel subscription: %w", err)
			}
		}
		sub, err = s.subscription(ctx, tx, acct, uuid)
		return err
	})
	return sub, err
}
