package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

// CustomerRef names a customer by UUID, or by one of its identities.
type CustomerRef struct {
	UUID           string
	DataSourceUUID string
	ExternalID     string
}

func resolveCustomer(ctx context.Context, q querier, acct int64, ref CustomerRef) (int64, error) {
	var id int64
	var err error
	if ref.UUID != "" {
		err = q.QueryRowContext(ctx, `SELECT id FROM customers WHERE account_id = $1 AND uuid = $2`, acct, ref.UUID).Scan(&id)
	} else {
		err = q.QueryRowContext(ctx, `SELECT ci.customer_id FROM customer_identities ci JOIN data_sources ds ON ds.id = ci.data_source_id
			WHERE ci.account_id = $1 AND ds.uuid = $2 AND ci.external_id = $3`, acct, ref.DataSourceUUID, ref.ExternalID).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &MissingError{What: "customer"}
	}
	return id, err
}

// mergedProfile is what an unmerge restores of a merged-away customer.
type mergedProfile struct {
	UUID               string                             `json:"uuid"`
	Name               string                             `json:"name"`
	Email              string                             `json:"email"`
	Company            string                             `json:"company"`
	Country            *string                            `json:"country"`
	State              *string                            `json:"state"`
	City               string                             `json:"city"`
	Zip                *string                            `json:"zip"`
	WebsiteURL         *string                            `json:"website_url"`
	Owner              *string                            `json:"owner"`
	LeadCreatedAt      *int64                             `json:"lead_created_at"`
	FreeTrialStartedAt *int64                             `json:"free_trial_started_at"`
	Tags               []string                           `json:"tags"`
	Custom             map[string]billing.CustomAttribute `json:"custom"`
}

// reassign moves rows of one customer to another in every table that
// records the owner.
func reassign(ctx context.Context, tx *sql.Tx, from, into int64, where string, args ...any) error {
	for _, table := range []string{"customer_identities", "invoices", "subscriptions", "subscription_events"} {
		q := `UPDATE ` + table + ` SET customer_id = $1 WHERE customer_id = $2` + where
		if _, err := tx.ExecContext(ctx, q, append([]any{into, from}, args...)...); err != nil {
			return fmt.Errorf("move %s: %w", table, err)
		}
	}
	return nil
}

// MergeCustomers merges from into into (api-reference.md C7): into keeps
// its profile, gains from's identities, invoices, subscriptions, events,
// tags and custom attributes (its own values win), contacts, notes,
// opportunities and tasks, and from is gone.
// Invoices later imported under from's external id land on into.
func (s *Store) MergeCustomers(ctx context.Context, acct int64, from, into CustomerRef) error {
	// Alone: it deletes a customer, with DeleteCustomer's cascades.
	return s.aloneTx(ctx, acct, func(tx *sql.Tx) error {
		fromID, err := resolveCustomer(ctx, tx, acct, from)
		if err != nil {
			return err
		}
		intoID, err := resolveCustomer(ctx, tx, acct, into)
		if err != nil {
			return err
		}
		if fromID == intoID {
			return billing.FieldErrors{"from": "A customer cannot be merged into itself."}
		}
		src, err := scanCustomer(tx.QueryRowContext(ctx, `SELECT `+customerCols()+customerFrom+`WHERE c.id = $1`, fromID))
		if err != nil {
			return err
		}
		profile, _ := json.Marshal(mergedProfile{UUID: src.UUID, Name: src.Name, Email: src.Email, Company: src.Company,
			Country: src.Country, State: src.State, City: src.City, Zip: src.Zip, WebsiteURL: src.WebsiteURL, Owner: src.Owner,
			LeadCreatedAt: nullMs(src.LeadCreatedAt), FreeTrialStartedAt: nullMs(src.FreeTrialStartedAt), Tags: src.Tags, Custom: src.Custom})
		if _, err := tx.ExecContext(ctx, `UPDATE customer_identities SET merged_profile = $2 WHERE customer_id = $1 AND merged_profile IS NULL`,
			fromID, string(profile)); err != nil {
			return fmt.Errorf("merge customers: %w", err)
		}
		if err := reassign(ctx, tx, fromID, intoID, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscription_connections SET customer_id = $1 WHERE customer_id = $2`, intoID, fromID); err != nil {
			return fmt.Errorf("merge customers: %w", err)
		}
		// Contacts follow the identities they belong to; notes,
		// opportunities and tasks follow the customer.
		if err := moveCRM(ctx, tx, fromID, intoID); err != nil {
			return err
		}
		dst, err := scanCustomer(tx.QueryRowContext(ctx, `SELECT `+customerCols()+customerFrom+`WHERE c.id = $1`+s.forUpdate("c"), intoID))
		if err != nil {
			return err
		}
		custom := maps.Clone(src.Custom)
		maps.Copy(custom, dst.Custom)
		dst.Tags, dst.Custom = mergeTags(dst.Tags, src.Tags), custom
		tags, cu, err := encodeAttributes(&dst)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET tags = $2, custom = $3 WHERE id = $1`, intoID, tags, cu); err != nil {
			return fmt.Errorf("merge customers: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM customers WHERE id = $1`, fromID); err != nil {
			return fmt.Errorf("merge customers: %w", err)
		}
		if err := customersRemoved(ctx, tx, acct); err != nil {
			return err
		}
		return markDirty(ctx, tx, `$1`, intoID)
	})
}

func nullMs(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

func mergeTags(a, b []string) []string {
	out := append([]string{}, a...)
	seen := map[string]bool{}
	for _, t := range out {
		seen[t] = true
	}
	for _, t := range b {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// UnmergeCustomer splits the identity (data source, external id) out of a
// merged customer into a customer of its own (api-reference.md C8): the
// profile it had when merged comes back, with the invoices, subscriptions
// and events imported under that identity and the contacts that belong to
// it, and the notes, opportunities and tasks first made on it that moves
// names. It returns the new customer's UUID (its old one when known).
func (s *Store) UnmergeCustomer(ctx context.Context, acct int64, customerUUID, dsUUID, externalID string, moves UnmergeMoves) (string, error) {
	var newUUID string
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var customerID, ownDS int64
		var ownExt string
		err := tx.QueryRowContext(ctx, `SELECT id, data_source_id, external_id FROM customers WHERE account_id = $1 AND uuid = $2`,
			acct, customerUUID).Scan(&customerID, &ownDS, &ownExt)
		if errors.Is(err, sql.ErrNoRows) {
			return &MissingError{What: "customer"}
		}
		if err != nil {
			return fmt.Errorf("unmerge: %w", err)
		}
		var identID, dsID int64
		var profileJSON sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT ci.id, ci.data_source_id, ci.merged_profile FROM customer_identities ci
			JOIN data_sources ds ON ds.id = ci.data_source_id WHERE ci.customer_id = $1 AND ds.uuid = $2 AND ci.external_id = $3`,
			customerID, dsUUID, externalID).Scan(&identID, &dsID, &profileJSON)
		if errors.Is(err, sql.ErrNoRows) {
			return billing.FieldErrors{"external_id": "The customer has no merged identity with this data_source_uuid and external_id."}
		}
		if err != nil {
			return fmt.Errorf("unmerge: %w", err)
		}
		if dsID == ownDS && externalID == ownExt {
			return billing.FieldErrors{"external_id": "This is the customer's own identity; only merged identities can be split out."}
		}
		var p mergedProfile
		if profileJSON.Valid {
			_ = json.Unmarshal([]byte(profileJSON.String), &p)
		}
		newUUID = p.UUID
		if newUUID == "" {
			newUUID = NewUUID("cus_")
		}
		c := billing.Customer{Tags: p.Tags, Custom: p.Custom}
		tags, custom, err := encodeAttributes(&c)
		if err != nil {
			return err
		}
		var newID int64
		err = tx.QueryRowContext(ctx, `INSERT INTO customers (account_id, data_source_id, uuid, external_id, name, email, email_key,
			company, country, state, city, zip, website_url, owner, lead_created_at, free_trial_started_at, tags, custom, created_at,
			name_key, external_keys)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id`,
			acct, dsID, newUUID, externalID, p.Name, p.Email, emailKey(p.Email), p.Company, nullStr(p.Country), nullStr(p.State), p.City,
			nullStr(p.Zip), nullStr(p.WebsiteURL), nullStr(p.Owner), nullInt(p.LeadCreatedAt), nullInt(p.FreeTrialStartedAt),
			tags, custom, millis(now()), textKey(p.Name), textKey(externalID)).Scan(&newID)
		if err != nil {
			return uniqueAs(err, "external_id", "unmerge")
		}
		// Move the identity and what was imported under it.
		if _, err := tx.ExecContext(ctx, `UPDATE customer_identities SET customer_id = $1, merged_profile = NULL WHERE id = $2`, newID, identID); err != nil {
			return fmt.Errorf("unmerge: %w", err)
		}
		for _, table := range []string{"invoices", "subscriptions", "subscription_events"} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET customer_id = $1 WHERE identity_id = $2`, newID, identID); err != nil {
				return fmt.Errorf("unmerge %s: %w", table, err)
			}
		}
		if err := moveCRMBack(ctx, tx, moves, identID, customerID, newID); err != nil {
			return err
		}
		// A connection cannot span two customers.
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscription_connections WHERE subscription_id IN
			(SELECT id FROM subscriptions WHERE identity_id = $1)`, identID); err != nil {
			return fmt.Errorf("unmerge: %w", err)
		}
		if err := markDirty(ctx, tx, `$1, $2`, customerID, newID); err != nil {
			return err
		}
		return dropLoneConnections(ctx, tx, customerID)
	})
	return newUUID, err
}
