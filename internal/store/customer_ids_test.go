package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// A list restricted to a set of customers (a segment's members, issue 12)
// is the unrestricted list with the others left out, in every order and
// through every page, for a set of a few customers (read by id) and one
// of more than 2,000 (tested against each customer read in the list's
// order); other accounts' ids select nothing, an empty set nothing, a nil
// set everything.
func TestListsRestrictedToCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct, _ := seedScale(t, s, "acme", 2400)
		other, _ := seedScale(t, s, "globex", 50)
		if s.Dialect() == store.Postgres {
			if _, err := s.DB().ExecContext(ctx, `ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		all, byUUID := customerIDs(t, s, acct)
		theirs, _ := customerIDs(t, s, other)
		few := []int64{all[7], all[1500], all[42], all[999], theirs[3]}
		var many []int64
		for i, id := range all {
			if i%11 != 0 {
				many = append(many, id) // 2,181 of 2,400
			}
		}
		// Many and far apart: too wide a range for a map of the ids, so a
		// list, as for a few.
		far := append(slices.Clone(many), 1<<40)
		sets := map[string][]int64{"few": few, "many": append(slices.Clone(many), theirs...), "many and far apart": far,
			"empty": {}, "other account's": theirs[:5], "nil": nil}
		for name, set := range sets {
			in := func(id int64) bool { return set == nil || slices.Contains(set, id) }
			for _, sort := range []store.CustomerSort{store.SortCreated, store.SortMRR, store.SortMRRDesc, store.SortName, store.SortNameDesc} {
				for _, countries := range [][]string{nil, {"GB"}} {
					f := store.CustomerFilter{Sort: sort, Countries: countries}
					want := slices.DeleteFunc(pageAll(t, s, acct, f, 500), func(c billing.Customer) bool { return !in(c.ID) })
					f.CustomerIDs = set
					got := pageAll(t, s, acct, f, 200)
					if !slices.EqualFunc(got, want, func(a, b billing.Customer) bool { return a.ID == b.ID }) {
						t.Errorf("%s set, sort %q, countries %v: %d customers, want %d", name, sort, countries, len(got), len(want))
					}
					l, err := s.ListCustomers(ctx, acct, f, store.Page{Limit: 1})
					if err != nil || l.Total != len(want) {
						t.Errorf("%s set, sort %q, countries %v: total %d, want %d (%v)", name, sort, countries, l.Total, len(want), err)
					}
				}
			}
			// Activities: seedScale gives each customer one, churn for
			// every 50th id.
			for _, typ := range []string{"", "churn"} {
				f := store.ActivityFilter{Type: typ}
				want := slices.DeleteFunc(activitiesAll(t, s, acct, f), func(a store.Activity) bool { return !in(byUUID[a.CustomerUUID]) })
				f.CustomerIDs = set
				for _, desc := range []bool{false, true} {
					g := f
					g.Descending = desc
					got := activitiesAll(t, s, acct, g)
					if desc {
						slices.Reverse(got)
					}
					if !slices.EqualFunc(got, want, func(a, b store.Activity) bool { return a.UUID == b.UUID }) {
						t.Errorf("%s set, type %q, descending %v: %d activities, want %d", name, typ, desc, len(got), len(want))
					}
				}
				var sum int64
				for _, a := range want {
					sum += a.Amount
				}
				if n, total, err := s.ActivityTotal(ctx, acct, f); err != nil || n != int64(len(want)) || total != sum {
					t.Errorf("%s set, type %q: total %d activities, %d; want %d, %d (%v)", name, typ, n, total, len(want), sum, err)
				}
				var got []store.Activity
				var after *store.ActivityKey
				for {
					page, err := s.ExportActivities(ctx, acct, f, after, 300)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, page...)
					if len(page) < 300 {
						break
					}
					last := page[len(page)-1]
					after = &store.ActivityKey{At: last.At.UnixMilli(), UUID: last.UUID}
				}
				if !slices.EqualFunc(got, want, func(a, b store.Activity) bool { return a.UUID == b.UUID }) {
					t.Errorf("%s set, type %q: export of %d activities, want %d", name, typ, len(got), len(want))
				}
			}
		}
	})
}

// customerIDs are the account's customer ids in creation order, and by
// UUID.
func customerIDs(t *testing.T, s *store.Store, acct int64) ([]int64, map[string]int64) {
	t.Helper()
	var ids []int64
	byUUID := map[string]int64{}
	for _, c := range pageAll(t, s, acct, store.CustomerFilter{}, 1000) {
		ids, byUUID[c.UUID] = append(ids, c.ID), c.ID
	}
	return ids, byUUID
}

// pageAll reads every page of a customer list, per at a time, by cursor.
func pageAll(t *testing.T, s *store.Store, acct int64, f store.CustomerFilter, per int) []billing.Customer {
	t.Helper()
	var out []billing.Customer
	p := store.Page{Limit: per}
	for range 100 {
		l, err := s.ListCustomers(context.Background(), acct, f, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Items...)
		if !l.HasMore {
			return out
		}
		last := l.Items[len(l.Items)-1]
		if f.Sort == store.SortCreated {
			p.AfterID = l.LastID
		} else {
			f.After = &store.CustomerKey{ID: last.ID, MRR: last.MRR, Name: last.Name}
		}
	}
	t.Fatalf("more than 100 pages of %+v", f)
	return nil
}

// activitiesAll reads every page of an activity list.
func activitiesAll(t *testing.T, s *store.Store, acct int64, f store.ActivityFilter) []store.Activity {
	t.Helper()
	var out []store.Activity
	for range 100 {
		l, err := s.ListActivities(context.Background(), acct, f, store.Page{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Items...)
		if !l.HasMore {
			return out
		}
		last := l.Items[len(l.Items)-1]
		at := last.At.UnixMilli()
		f.AfterAt, f.AfterUUID = &at, last.UUID
	}
	t.Fatalf("more than 100 pages of %+v", f)
	return nil
}
