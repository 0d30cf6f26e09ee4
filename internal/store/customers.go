package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

// customerCols selects a customer with its state now, read from the MRR
// timeline the metrics engine stored (so it stays current as time passes
// without any write): MRR, status and the day it first became a customer.
func customerCols() string {
	at := strconv.FormatInt(millis(time.Now()), 10)
	return `c.id, c.uuid, ds.uuid, ds.system, c.external_id, c.name, c.email, c.company, c.country, c.state,
	c.city, c.zip, c.website_url, c.owner, c.lead_created_at, c.free_trial_started_at, c.tags, c.custom, ` +
		statusExpr(at) + `, COALESCE((SELECT p.mrr FROM mrr_points p WHERE p.customer_id = c.id AND p.at <= ` + at + `
		ORDER BY p.at DESC LIMIT 1), 0),
	(SELECT MIN(p.at) FROM mrr_points p WHERE p.customer_id = c.id AND p.active = 1 AND p.at <= ` + at + `), c.created_at`
}

// statusExpr is a customer's status at Unix ms at: Active while a
// customer, Cancelled after having been one, a New Lead before.
func statusExpr(at string) string {
	return `CASE WHEN (SELECT p.active FROM mrr_points p WHERE p.customer_id = c.id AND p.at <= ` + at + `
			ORDER BY p.at DESC LIMIT 1) = 1 THEN 'Active'
		WHEN EXISTS (SELECT 1 FROM mrr_points p WHERE p.customer_id = c.id AND p.active = 1 AND p.at <= ` + at + `) THEN 'Cancelled'
		ELSE 'New Lead' END`
}

const customerFrom = ` FROM customers c JOIN data_sources ds ON ds.id = c.data_source_id `

func scanCustomer(row interface{ Scan(...any) error }) (billing.Customer, error) {
	var c billing.Customer
	var country, state, zip, website, owner sql.NullString
	var lead, trial, since sql.NullInt64
	var tags, custom string
	var created int64
	err := row.Scan(&c.ID, &c.UUID, &c.DataSourceUUID, &c.DataSourceSystem, &c.ExternalID, &c.Name, &c.Email, &c.Company,
		&country, &state, &c.City, &zip, &website, &owner, &lead, &trial, &tags, &custom,
		&c.Status, &c.MRR, &since, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, &MissingError{What: "customer"}
	}
	if err != nil {
		return c, err
	}
	c.Country, c.State, c.Zip, c.WebsiteURL, c.Owner = strPtr(country), strPtr(state), strPtr(zip), strPtr(website), strPtr(owner)
	c.LeadCreatedAt, c.FreeTrialStartedAt, c.CustomerSince = timePtr(lead), timePtr(trial), timePtr(since)
	c.CreatedAt = fromMillis(created)
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return c, fmt.Errorf("decode tags of %s: %w", c.UUID, err)
	}
	if err := json.Unmarshal([]byte(custom), &c.Custom); err != nil {
		return c, fmt.Errorf("decode custom attributes of %s: %w", c.UUID, err)
	}
	return c, nil
}

func encodeAttributes(c *billing.Customer) (tags, custom string, err error) {
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.Custom == nil {
		c.Custom = map[string]billing.CustomAttribute{}
	}
	t, err := json.Marshal(c.Tags)
	if err != nil {
		return "", "", err
	}
	cu, err := json.Marshal(c.Custom)
	return string(t), string(cu), err
}

// CreateCustomer stores a new customer under the data source with UUID
// c.DataSourceUUID; (data source, external_id) is unique.
func (s *Store) CreateCustomer(ctx context.Context, acct int64, c *billing.Customer) error {
	tags, custom, err := encodeAttributes(c)
	if err != nil {
		return fmt.Errorf("create customer: %w", err)
	}
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		dsID, err := dataSourceID(ctx, tx, acct, c.DataSourceUUID)
		if err != nil {
			return err
		}
		c.UUID, c.CreatedAt, c.Status = NewUUID("cus_"), now(), billing.StatusNewLead // no history yet
		err = tx.QueryRowContext(ctx, `INSERT INTO customers (account_id, data_source_id, uuid, external_id, name, email,
			company, country, state, city, zip, website_url, owner, lead_created_at, free_trial_started_at, tags, custom,
			created_at, email_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id`,
			acct, dsID, c.UUID, c.ExternalID, c.Name, c.Email, c.Company, nullStr(c.Country), nullStr(c.State), c.City,
			nullStr(c.Zip), nullStr(c.WebsiteURL), nullStr(c.Owner), nullMillis(c.LeadCreatedAt), nullMillis(c.FreeTrialStartedAt),
			tags, custom, millis(c.CreatedAt), emailKey(c.Email)).Scan(&c.ID)
		if isUnique(err) {
			return &ConflictError{Field: "external_id"}
		}
		if err != nil {
			return fmt.Errorf("create customer: %w", err)
		}
		// A merged-away customer's identity lives on in another customer.
		_, err = tx.ExecContext(ctx, `INSERT INTO customer_identities (account_id, customer_id, data_source_id, external_id)
			VALUES ($1, $2, $3, $4)`, acct, c.ID, dsID, c.ExternalID)
		if isUnique(err) {
			return &ConflictError{Field: "external_id"}
		}
		if err != nil {
			return fmt.Errorf("create customer: %w", err)
		}
		c.Identities = []billing.Identity{{DataSourceUUID: c.DataSourceUUID, ExternalID: c.ExternalID}}
		return tx.QueryRowContext(ctx, `SELECT system FROM data_sources WHERE id = $1`, dsID).Scan(&c.DataSourceSystem)
	})
}

// CustomerFilter narrows a customer list; empty fields do not filter.
type CustomerFilter struct {
	DataSourceUUID string
	ExternalID     string
	Status         string
	System         string
	Email          string
}

// ListCustomers lists the account's customers in creation order.
func (s *Store) ListCustomers(ctx context.Context, acct int64, f CustomerFilter, p Page) (Listed[billing.Customer], error) {
	// A customer is listed under every data source and external id it is
	// known by (merged identities included); each filter selects customer
	// ids through an index of its own.
	var inSource, ofSystem string
	var err error
	if f.DataSourceUUID != "" {
		if inSource, err = s.sourceIDs(ctx, acct, f.DataSourceUUID, ""); err != nil {
			return Listed[billing.Customer]{}, err
		}
	}
	if f.System != "" {
		if ofSystem, err = s.sourceIDs(ctx, acct, "", f.System); err != nil {
			return Listed[billing.Customer]{}, err
		}
	}
	bySource := `c.id IN (SELECT ci.customer_id FROM customer_identities ci WHERE ci.data_source_id ` + inSource + `)`
	if f.ExternalID != "" {
		// The external id picks a customer or two: check their data
		// sources one by one rather than list the data source's every
		// customer (the client's lookup before an import).
		bySource = `EXISTS (SELECT 1 FROM customer_identities ci WHERE ci.customer_id = c.id AND ci.data_source_id ` + inSource + `)`
	}
	where := `WHERE c.account_id = $1
		AND ` + filter(f.DataSourceUUID, `$2`, bySource) + `
		AND ` + filter(f.ExternalID, `$3`, `c.id IN (SELECT ci.customer_id FROM customer_identities ci WHERE ci.account_id = $1 AND ci.external_id = $3)`) + `
		AND ` + filter(f.Status, `$4`, `c.status = $4 AND `+statusExpr(strconv.FormatInt(millis(time.Now()), 10))+` = $4`) + `
		AND ` + filter(f.System, `$5`, `c.id IN (SELECT sc.id FROM customers sc WHERE sc.data_source_id `+ofSystem+`)`) + `
		AND ` + eq(`c.email_key`, `$6`, emailKey(f.Email))
	args := []any{acct, f.DataSourceUUID, f.ExternalID, f.Status, f.System, emailKey(f.Email)}
	l, err := list(ctx, s.reads(), "customers", `SELECT count(*) FROM customers c `+where,
		`SELECT `+customerCols()+customerFrom+where+` AND c.id > $7 ORDER BY c.id LIMIT $8 OFFSET $9`, args, p.AfterID, p,
		func(row interface{ Scan(...any) error }) (billing.Customer, int64, error) {
			c, err := scanCustomer(row)
			return c, c.ID, err
		})
	if err != nil {
		return l, err
	}
	if err := loadIdentities(ctx, s.reads(), l.Items); err != nil {
		return l, err
	}
	return l, nil
}

// Customer finds one customer of the account by UUID.
func (s *Store) Customer(ctx context.Context, acct int64, uuid string) (billing.Customer, error) {
	c, err := scanCustomer(s.r.QueryRowContext(ctx, `SELECT `+customerCols()+customerFrom+`WHERE c.account_id = $1 AND c.uuid = $2`, acct, uuid))
	if err != nil {
		return c, err
	}
	cs := []billing.Customer{c}
	err = loadIdentities(ctx, s.r, cs)
	return cs[0], err
}

// loadIdentities fills in the identities of the customers, own first.
func loadIdentities(ctx context.Context, q querier, cs []billing.Customer) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[int64]int, len(cs))
	args := make([]any, len(cs))
	marks := make([]string, len(cs))
	for i, c := range cs {
		byID[c.ID] = i
		args[i] = c.ID
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	rows, err := q.QueryContext(ctx, `SELECT ci.customer_id, ds.uuid, ci.external_id FROM customer_identities ci
		JOIN data_sources ds ON ds.id = ci.data_source_id
		WHERE ci.customer_id IN (`+strings.Join(marks, ",")+`) ORDER BY ci.id`, args...)
	if err != nil {
		return fmt.Errorf("load customer identities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ident billing.Identity
		if err := rows.Scan(&id, &ident.DataSourceUUID, &ident.ExternalID); err != nil {
			return fmt.Errorf("load customer identities: %w", err)
		}
		i := byID[id]
		cs[i].Identities = append(cs[i].Identities, ident)
	}
	return rows.Err()
}

// UpdateCustomer reads the customer, lets change edit it and writes the
// editable fields back, all in one transaction. An error from change
// aborts the update and is returned as is.
func (s *Store) UpdateCustomer(ctx context.Context, acct int64, uuid string, change func(*billing.Customer) error) (billing.Customer, error) {
	var c billing.Customer
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		c, err = s.updateCustomer(ctx, tx, acct, uuid, change)
		return err
	})
	return c, err
}

// UpdateCustomers applies change to each of the customers in one
// transaction: if it fails for one, none is changed (the by-email
// attribute endpoints).
func (s *Store) UpdateCustomers(ctx context.Context, acct int64, uuids []string, change func(*billing.Customer) error) ([]billing.Customer, error) {
	var out []billing.Customer
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		out = out[:0]
		for _, uuid := range uuids {
			c, err := s.updateCustomer(ctx, tx, acct, uuid, change)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

func (s *Store) updateCustomer(ctx context.Context, tx *sql.Tx, acct int64, uuid string, change func(*billing.Customer) error) (billing.Customer, error) {
	// The account row before the customer's, in the order the
	// recomputation takes them (its country feeds the geo filter, so the
	// customer gets a new results version).
	version, _, err := nextResultsVersion(ctx, tx, acct)
	if err != nil {
		return billing.Customer{}, err
	}
	// NO KEY UPDATE: an import inserting the customer's invoices holds a
	// key share on the row, which FOR UPDATE would wait for (and it for us).
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR NO KEY UPDATE OF c"
	}
	c, err := scanCustomer(tx.QueryRowContext(ctx, `SELECT `+customerCols()+customerFrom+`WHERE c.account_id = $1 AND c.uuid = $2`+lock, acct, uuid))
	if err != nil {
		return c, err
	}
	cs := []billing.Customer{c}
	if err := loadIdentities(ctx, tx, cs); err != nil {
		return c, err
	}
	c = cs[0]
	if err := change(&c); err != nil {
		return c, err
	}
	tags, custom, err := encodeAttributes(&c)
	if err != nil {
		return c, fmt.Errorf("update customer: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE customers SET name = $3, email = $4, company = $5, country = $6, state = $7,
		city = $8, zip = $9, website_url = $10, owner = $11, lead_created_at = $12, free_trial_started_at = $13,
		tags = $14, custom = $15, email_key = $16 WHERE account_id = $1 AND id = $2`,
		acct, c.ID, c.Name, c.Email, c.Company, nullStr(c.Country), nullStr(c.State), c.City, nullStr(c.Zip),
		nullStr(c.WebsiteURL), nullStr(c.Owner), nullMillis(c.LeadCreatedAt), nullMillis(c.FreeTrialStartedAt), tags, custom,
		emailKey(c.Email))
	if err != nil {
		return c, fmt.Errorf("update customer: %w", err)
	}
	return c, stampResults(ctx, tx, version, []int64{c.ID})
}

// DeleteCustomer removes a customer and everything under it.
func (s *Store) DeleteCustomer(ctx context.Context, acct int64, uuid string) error {
	return s.aloneTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM customers WHERE account_id = $1 AND uuid = $2`, acct, uuid)
		if err != nil {
			return fmt.Errorf("delete customer: %w", err)
		}
		if err := oneRow(res, "customer"); err != nil {
			return err
		}
		return customersRemoved(ctx, tx, acct)
	})
}

// emailKey is how emails are compared: trimmed and case-folded with
// Unicode rules, the same on both backends.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
