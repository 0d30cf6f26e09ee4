package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/tally-analytics/tally/internal/billing"
)

// MaxCustomersByID bounds the ids of one CustomersByID call: a page of a
// list, each id a bind parameter.
const MaxCustomersByID = 1000

// CustomersByID are the account's customers of ids (internal ids), in id
// order, as the customer list shows them: for a list whose members the
// caller worked out (the customers behind a cohort's cell). Ids of no
// customer of the account are left out.
func (s *Store) CustomersByID(ctx context.Context, acct int64, ids []int64) ([]billing.Customer, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxCustomersByID {
		return nil, fmt.Errorf("customers by id: %d ids, at most %d", len(ids), MaxCustomersByID)
	}
	var out []billing.Customer
	err := queryIn(ctx, s.dialect, s.reads(), `SELECT `+customerCols()+customerFrom+`WHERE c.account_id = $1 AND c.id IN (%s) ORDER BY c.id`,
		[]any{acct}, ids, func(scan func(...any) error) error {
			c, err := scanCustomer(scanFunc(scan))
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("customers by id: %w", err)
	}
	// SQLite's chunks are each in order; the answer is in order whole.
	slices.SortFunc(out, func(a, b billing.Customer) int { return cmp.Compare(a.ID, b.ID) })
	if err := loadIdentities(ctx, s.dialect, s.reads(), out); err != nil {
		return nil, err
	}
	return out, nil
}
