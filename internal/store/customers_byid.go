package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

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
	args := make([]any, 0, len(ids)+1)
	args = append(args, acct)
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = "$" + strconv.Itoa(i+2)
	}
	rows, err := s.reads().QueryContext(ctx, `SELECT `+customerCols()+customerFrom+
		`WHERE c.account_id = $1 AND c.id IN (`+strings.Join(marks, ", ")+`) ORDER BY c.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("customers by id: %w", err)
	}
	defer rows.Close()
	var out []billing.Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("customers by id: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("customers by id: %w", err)
	}
	if err := loadIdentities(ctx, s.reads(), out); err != nil {
		return nil, err
	}
	return out, nil
}
