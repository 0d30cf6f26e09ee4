package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tally-analytics/tally/internal/billing"
)

// Contact is a person at a customer (ref §2.5). It belongs to one identity
// of its customer, a data source and the customer's external id there, and
// follows that identity through merges and unmerges. Unset fields are nil.
type Contact struct {
	ID                 int64
	UUID               string
	CustomerUUID       string
	CustomerExternalID string
	DataSourceUUID     string
	ExternalID         *string
	// Position orders a customer's contacts; 0 on create means after the
	// customer's last one.
	Position  int64
	FirstName *string
	LastName  *string
	Title     *string
	Email     *string
	Phone     *string
	LinkedIn  *string
	Twitter   *string
	Notes     *string
	Custom    Custom

	identityID, dataSourceID int64
}

// ContactOwner names the customer identity a contact belongs to: a
// customer by UUID and one of its data sources (its own identity there
// first, else the oldest merged one), or a data source and the external id
// a customer has there.
type ContactOwner struct {
	CustomerUUID       string
	DataSourceUUID     string
	CustomerExternalID string
}

// ContactFilter selects contacts; empty fields select every one.
type ContactFilter struct {
	CustomerUUID   string
	DataSourceUUID string
	Email          string // compared case-insensitively
	ExternalID     string
}

const contactCols = `k.id, k.uuid, cu.uuid, ci.external_id, ds.uuid, k.external_id, k.position, k.first_name, k.last_name,
	k.title, k.email, k.phone, k.linked_in, k.twitter, k.notes, k.custom, k.identity_id, k.data_source_id`

const contactFrom = ` FROM contacts k JOIN customer_identities ci ON ci.id = k.identity_id
	JOIN customers cu ON cu.id = ci.customer_id JOIN data_sources ds ON ds.id = k.data_source_id`

func scanContact(row interface{ Scan(...any) error }) (Contact, error) {
	var c Contact
	var ext, first, last, title, email, phone, linkedIn, twitter, notes sql.NullString
	var custom string
	err := row.Scan(&c.ID, &c.UUID, &c.CustomerUUID, &c.CustomerExternalID, &c.DataSourceUUID, &ext, &c.Position,
		&first, &last, &title, &email, &phone, &linkedIn, &twitter, &notes, &custom, &c.identityID, &c.dataSourceID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, &MissingError{What: "contact"}
	}
	if err != nil {
		return c, fmt.Errorf("read contact: %w", err)
	}
	c.ExternalID, c.FirstName, c.LastName, c.Title = strPtr(ext), strPtr(first), strPtr(last), strPtr(title)
	c.Email, c.Phone, c.LinkedIn, c.Twitter, c.Notes = strPtr(email), strPtr(phone), strPtr(linkedIn), strPtr(twitter), strPtr(notes)
	c.Custom, err = decodeCustom(custom)
	return c, err
}

// contactOwner finds the identity and data source o names. An unknown
// customer UUID is a *MissingError; an unknown data source, a customer
// without an identity in it, or an external id no customer has there is a
// billing.FieldErrors naming the field.
func contactOwner(ctx context.Context, q querier, acct int64, o ContactOwner) (identity, ds int64, err error) {
	var customer int64
	if o.CustomerUUID != "" {
		// The customer first: another account's is unknown, whatever the
		// data source.
		if customer, _, err = crmCustomer(ctx, q, acct, o.CustomerUUID); err != nil {
			return 0, 0, err
		}
	}
	err = q.QueryRowContext(ctx, `SELECT id FROM data_sources WHERE account_id = $1 AND uuid = $2`, acct, o.DataSourceUUID).Scan(&ds)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, billing.FieldErrors{"data_source_uuid": "No data source of this account has this UUID."}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("find data source: %w", err)
	}
	if o.CustomerUUID != "" {
		err = q.QueryRowContext(ctx, `SELECT ci.id FROM customer_identities ci JOIN customers c ON c.id = ci.customer_id
			WHERE ci.customer_id = $1 AND ci.data_source_id = $2
			ORDER BY CASE WHEN ci.data_source_id = c.data_source_id AND ci.external_id = c.external_id THEN 0 ELSE 1 END, ci.id
			LIMIT 1`, customer, ds).Scan(&identity)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, billing.FieldErrors{"data_source_uuid": "The customer is not in this data source: a contact belongs to one of its customer's data sources."}
		}
		if err != nil {
			return 0, 0, fmt.Errorf("find customer identity: %w", err)
		}
		return identity, ds, nil
	}
	err = q.QueryRowContext(ctx, `SELECT id FROM customer_identities WHERE account_id = $1 AND data_source_id = $2 AND external_id = $3`,
		acct, ds, o.CustomerExternalID).Scan(&identity)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, billing.FieldErrors{"customer_external_id": "No customer has this external id in the data source."}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("find customer identity: %w", err)
	}
	return identity, ds, nil
}

func readContact(ctx context.Context, q querier, acct int64, uuid, lock string) (Contact, error) {
	return scanContact(q.QueryRowContext(ctx, `SELECT `+contactCols+contactFrom+` WHERE k.account_id = $1 AND k.uuid = $2`+lock, acct, uuid))
}

// CreateContact stores a new contact under the identity owner names,
// filling in its UUID, position (when 0) and owner. An external id the
// data source already has for a contact is a *ConflictError.
func (s *Store) CreateContact(ctx context.Context, acct int64, owner ContactOwner, c *Contact) error {
	uuid := NewUUID("con_")
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		identity, ds, err := contactOwner(ctx, tx, acct, owner)
		if err != nil {
			return err
		}
		position := c.Position
		if position == 0 {
			err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(k.position), 0) + 1 FROM contacts k
				JOIN customer_identities ci ON ci.id = k.identity_id
				WHERE ci.customer_id = (SELECT customer_id FROM customer_identities WHERE id = $1)`, identity).Scan(&position)
			if err != nil {
				return fmt.Errorf("create contact: %w", err)
			}
		}
		custom, err := encodeCustom(c.Custom)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO contacts (account_id, uuid, identity_id, data_source_id, external_id, position,
			first_name, last_name, title, email, email_key, phone, linked_in, twitter, notes, custom)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			acct, uuid, identity, ds, nullStr(c.ExternalID), position, nullStr(c.FirstName), nullStr(c.LastName), nullStr(c.Title),
			nullStr(c.Email), emailKeyOf(c.Email), nullStr(c.Phone), nullStr(c.LinkedIn), nullStr(c.Twitter), nullStr(c.Notes), custom)
		if err := uniqueAs(err, "external_id", "create contact"); err != nil {
			return err
		}
		got, err := readContact(ctx, tx, acct, uuid, "")
		if err != nil {
			return err
		}
		*c = got
		return nil
	})
}

func emailKeyOf(email *string) string {
	if email == nil {
		return ""
	}
	return emailKey(*email)
}

// Contact finds one contact of the account by UUID.
func (s *Store) Contact(ctx context.Context, acct int64, uuid string) (Contact, error) {
	return readContact(ctx, s.r, acct, uuid, "")
}

// ListContacts lists the account's contacts that f selects, in creation
// order. An unknown customer is a *MissingError; an unknown data source
// selects none.
func (s *Store) ListContacts(ctx context.Context, acct int64, f ContactFilter, p Page) (Listed[Contact], error) {
	// A data source that is the account's only one selects every contact
	// (sourceIDs): left out, or the list read its every contact and
	// sorted them (30 ms for 10,000).
	inSource, every := "", true
	if f.DataSourceUUID != "" {
		var err error
		if inSource, every, err = s.sourceIDs(ctx, acct, f.DataSourceUUID, ""); err != nil {
			return Listed[Contact]{}, err
		}
		if inSource == "= 0" {
			return Listed[Contact]{}, nil
		}
	}
	narrowed := f.CustomerUUID != "" || !every || f.Email != "" || f.ExternalID != ""
	w := newCRMWhere(acct, "k.account_id", narrowed)
	if err := crmCustomerFilter(ctx, s.reads(), acct, w, "ci.customer_id", f.CustomerUUID); err != nil {
		return Listed[Contact]{}, err
	}
	if !every {
		w.conds = append(w.conds, "k.data_source_id "+inSource)
	}
	if f.Email != "" {
		w.add("k.email_key = ?", emailKey(f.Email))
	}
	if f.ExternalID != "" {
		w.add("k.external_id = ?", f.ExternalID)
	}
	return list(ctx, s.reads(), "contacts", "", w.page(contactCols, contactFrom, "k.id"), w.args, p.AfterID, p,
		func(row interface{ Scan(...any) error }) (Contact, int64, error) {
			c, err := scanContact(row)
			return c, c.ID, err
		})
}

// UpdateContact changes a contact: apply edits its fields (its error
// aborts the update), and a non-nil move gives it to another identity,
// the fields move leaves empty standing for the contact's own: its data
// source, and its customer unless a customer external id is given. A move
// to where the contact is already changes nothing. apply may run more than
// once (see tx), each time on the stored contact.
func (s *Store) UpdateContact(ctx context.Context, acct int64, uuid string, move *ContactOwner, apply func(*Contact) error) (Contact, error) {
	var c Contact
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		if c, err = readContact(ctx, tx, acct, uuid, s.forUpdate("k")); err != nil {
			return err
		}
		if err := apply(&c); err != nil {
			return err
		}
		if move != nil {
			o := *move
			if o.DataSourceUUID == "" {
				o.DataSourceUUID = c.DataSourceUUID
			}
			if o.CustomerUUID == "" && o.CustomerExternalID == "" {
				o.CustomerUUID = c.CustomerUUID
			}
			stays := o.DataSourceUUID == c.DataSourceUUID && (o.CustomerUUID == "" || o.CustomerUUID == c.CustomerUUID) &&
				(o.CustomerExternalID == "" || o.CustomerExternalID == c.CustomerExternalID)
			if !stays {
				if c.identityID, c.dataSourceID, err = contactOwner(ctx, tx, acct, o); err != nil {
					return err
				}
			}
		}
		if err := writeContact(ctx, tx, acct, c); err != nil {
			return err
		}
		c, err = readContact(ctx, tx, acct, uuid, "")
		return err
	})
	return c, err
}

func writeContact(ctx context.Context, tx *sql.Tx, acct int64, c Contact) error {
	custom, err := encodeCustom(c.Custom)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE contacts SET identity_id = $3, data_source_id = $4, external_id = $5, position = $6,
		first_name = $7, last_name = $8, title = $9, email = $10, email_key = $11, phone = $12, linked_in = $13, twitter = $14,
		notes = $15, custom = $16 WHERE account_id = $1 AND id = $2`,
		acct, c.ID, c.identityID, c.dataSourceID, nullStr(c.ExternalID), c.Position, nullStr(c.FirstName), nullStr(c.LastName),
		nullStr(c.Title), nullStr(c.Email), emailKeyOf(c.Email), nullStr(c.Phone), nullStr(c.LinkedIn), nullStr(c.Twitter),
		nullStr(c.Notes), custom)
	return uniqueAs(err, "external_id", "update contact")
}

// MergeContacts merges the contact fromUUID into the contact intoUUID:
// merge works out the survivor's fields from both, from is deleted, and
// the survivor, which keeps its customer, is returned. merge may run more
// than once (see tx).
func (s *Store) MergeContacts(ctx context.Context, acct int64, intoUUID, fromUUID string, merge func(into *Contact, from Contact) error) (Contact, error) {
	var into Contact
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		if into, err = readContact(ctx, tx, acct, intoUUID, s.forUpdate("k")); err != nil {
			return err
		}
		from, err := readContact(ctx, tx, acct, fromUUID, s.forUpdate("k"))
		if err != nil {
			return err
		}
		if err := merge(&into, from); err != nil {
			return err
		}
		// from goes first: into may take over its external id.
		if _, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE account_id = $1 AND id = $2`, acct, from.ID); err != nil {
			return fmt.Errorf("merge contacts: %w", err)
		}
		if err := writeContact(ctx, tx, acct, into); err != nil {
			return err
		}
		into, err = readContact(ctx, tx, acct, intoUUID, "")
		return err
	})
	return into, err
}

// DeleteContact removes a contact.
func (s *Store) DeleteContact(ctx context.Context, acct int64, uuid string) error {
	return s.crmDelete(ctx, acct, "contacts", "contact", uuid)
}
