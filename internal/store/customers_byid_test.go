package store_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

func TestCustomersByID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _ := s.EnsureAccount(ctx, "a")
		b, _, _ := s.EnsureAccount(ctx, "b")
		var ids []int64
		de := "DE"
		for n, acct := range []billing.Account{a, b} {
			ds, err := s.CreateDataSource(ctx, acct.ID, "src", billing.SystemImportAPI)
			if err != nil {
				t.Fatal(err)
			}
			for _, ext := range []string{"x", "y", "z"} {
				c := billing.Customer{DataSourceUUID: ds.UUID, ExternalID: ext, Name: []string{"a", "b"}[n] + "-" + ext, Country: &de}
				if err := s.CreateCustomer(ctx, acct.ID, &c); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, c.ID)
			}
		}
		// a's z and x (in any order), b's y, and an id of no customer:
		// a's z and x, in id order, as the list shows them.
		got, err := s.CustomersByID(ctx, a.ID, []int64{ids[2], ids[0], ids[4], ids[5] + 1000})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range got {
			names = append(names, c.Name)
		}
		if !slices.Equal(names, []string{"a-x", "a-z"}) {
			t.Errorf("customers %v", names)
		}
		listed, err := s.ListCustomers(ctx, a.ID, store.CustomerFilter{}, store.Page{Limit: 3})
		if err != nil || len(listed.Items) != 3 || !reflect.DeepEqual([]billing.Customer{listed.Items[0], listed.Items[2]}, got) {
			t.Errorf("the list shows %+v, by id %+v (%v)", listed.Items, got, err)
		}
		if none, err := s.CustomersByID(ctx, a.ID, nil); err != nil || len(none) != 0 {
			t.Errorf("no ids: %v %v", none, err)
		}
		if _, err := s.CustomersByID(ctx, a.ID, make([]int64, store.MaxCustomersByID+1)); err == nil {
			t.Error("more ids than a page: no error")
		}
	})
}
