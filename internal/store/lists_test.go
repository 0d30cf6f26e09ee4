package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// Issue 14: a data source filter that names every data source of the
// account (its only one, or its only system) is left out of the query,
// and must list what the unfiltered list lists, total included (customers,
// invoices, events, contacts); one that names none lists nothing.
func TestListsOfEveryDataSource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, err := s.EnsureAccount(ctx, "solo")
		if err != nil {
			t.Fatal(err)
		}
		ds, err := s.CreateDataSource(ctx, a.ID, "solo", "Stripe")
		if err != nil {
			t.Fatal(err)
		}
		day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 3 {
			c := billing.Customer{DataSourceUUID: ds.UUID, ExternalID: fmt.Sprint("c", i), Name: fmt.Sprint("Customer ", i)}
			if err := s.CreateCustomer(ctx, a.ID, &c); err != nil {
				t.Fatal(err)
			}
			inv := billing.Invoice{ExternalID: fmt.Sprint("i", i), Date: day, Currency: "USD",
				LineItems: []billing.LineItem{{Type: billing.LineOneTime, AmountInCents: 100, Quantity: 1}}}
			if err := s.ImportInvoices(ctx, a.ID, c.UUID, "USD", []billing.Invoice{inv}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateContact(ctx, a.ID, store.ContactOwner{CustomerUUID: c.UUID, DataSourceUUID: ds.UUID}, &store.Contact{}); err != nil {
				t.Fatal(err)
			}
			e := billing.SubscriptionEvent{DataSourceUUID: ds.UUID, CustomerExternalID: c.ExternalID, SubscriptionExternalID: fmt.Sprint("s", i),
				EventType: billing.EventCancelled, EventDate: day, EffectiveDate: day}
			if err := s.CreateEvent(ctx, a.ID, "USD", &e); err != nil {
				t.Fatal(err)
			}
		}
		// c0 and c2 on a plan now (as a recomputation writes it).
		plan := billing.Plan{DataSourceUUID: ds.UUID, Name: "Gold", IntervalCount: 1, IntervalUnit: "month"}
		if err := s.CreatePlan(ctx, a.ID, &plan); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO customer_plans (customer_id, account_id, plan_uuid)
			SELECT id, account_id, $2 FROM customers WHERE account_id = $1 AND external_id <> 'c1'`, a.ID, plan.UUID); err != nil {
			t.Fatal(err)
		}
		page := store.Page{Limit: 2}
		customers := func(f store.CustomerFilter) ([]string, int) {
			t.Helper()
			l, err := s.ListCustomers(ctx, a.ID, f, page)
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			var ext []string
			for _, c := range l.Items {
				ext = append(ext, c.ExternalID)
			}
			return ext, l.Total
		}
		for _, f := range []store.CustomerFilter{{}, {ExternalID: "c1"}, {Query: "customer"}, {ExternalID: "c2", Query: "customer 2"},
			{Sort: store.SortNameDesc}, {ExternalID: "c9"}, {Plan: plan.UUID}, {Plan: plan.UUID, Sort: store.SortMRR}} {
			want, wantTotal := customers(f)
			for _, g := range []store.CustomerFilter{{DataSourceUUID: ds.UUID}, {System: "Stripe"}, {DataSourceUUID: ds.UUID, System: "Stripe"}} {
				g.ExternalID, g.Query, g.Sort, g.Plan = f.ExternalID, f.Query, f.Sort, f.Plan
				got, total := customers(g)
				if !cmp.Equal(got, want) || total != wantTotal {
					t.Errorf("customers %+v: %v of %d, want %v of %d", g, got, total, want, wantTotal)
				}
			}
			for _, g := range []store.CustomerFilter{{DataSourceUUID: "ds_nope"}, {System: "Chargebee"}} {
				g.ExternalID, g.Query, g.Sort, g.Plan = f.ExternalID, f.Query, f.Sort, f.Plan
				if got, total := customers(g); len(got) != 0 || total != 0 {
					t.Errorf("customers %+v: %v of %d, want none", g, got, total)
				}
			}
		}
		// Hand-counted: three customers, "Customer 2" the only one whose
		// name holds "customer 2"; pages of two.
		if got, total := customers(store.CustomerFilter{DataSourceUUID: ds.UUID}); !cmp.Equal(got, []string{"c0", "c1"}) || total != 3 {
			t.Errorf("customers of the data source: %v of %d, want [c0 c1] of 3", got, total)
		}
		if got, total := customers(store.CustomerFilter{DataSourceUUID: ds.UUID, Plan: plan.UUID}); !cmp.Equal(got, []string{"c0", "c2"}) || total != 2 {
			t.Errorf("customers of the data source on the plan: %v of %d, want [c0 c2] of 2", got, total)
		}
		if got, total := customers(store.CustomerFilter{System: "Stripe", Query: "customer 2"}); !cmp.Equal(got, []string{"c2"}) || total != 1 {
			t.Errorf("customers of the system named customer 2: %v of %d, want [c2] of 1", got, total)
		}

		// Totals count a disabled invoice or event only with WithDisabled
		// (they are counted apart, in invoices_disabled and
		// subscription_events_disabled).
		invs, err := s.ListInvoices(ctx, a.ID, store.InvoiceFilter{}, page)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetInvoiceDisabled(ctx, a.ID, store.InvoiceRef{UUID: invs.Items[0].UUID}, true, "test"); err != nil {
			t.Fatal(err)
		}
		evs, err := s.ListEvents(ctx, a.ID, store.EventFilter{}, page)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetEventDisabled(ctx, a.ID, store.EventRef{ID: evs.Items[0].ID}, true, "test"); err != nil {
			t.Fatal(err)
		}
		for _, with := range []bool{false, true} {
			want := map[bool]int{false: 2, true: 3}[with]
			for _, uuid := range []string{"", ds.UUID} {
				invs, err := s.ListInvoices(ctx, a.ID, store.InvoiceFilter{DataSourceUUID: uuid, WithDisabled: with}, page)
				if err != nil {
					t.Fatal(err)
				}
				evs, err := s.ListEvents(ctx, a.ID, store.EventFilter{DataSourceUUID: uuid, WithDisabled: with}, page)
				if err != nil {
					t.Fatal(err)
				}
				if invs.Total != want || evs.Total != want {
					t.Errorf("data source %q, with disabled %v: %d invoices and %d events, want %d of each", uuid, with, invs.Total, evs.Total, want)
				}
			}
		}
		// Enabled again, for the lists below.
		if _, err := s.SetInvoiceDisabled(ctx, a.ID, store.InvoiceRef{UUID: invs.Items[0].UUID}, false, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetEventDisabled(ctx, a.ID, store.EventRef{ID: evs.Items[0].ID}, false, "test"); err != nil {
			t.Fatal(err)
		}

		for _, uuid := range []string{ds.UUID, "ds_nope"} {
			want := 3
			if uuid != ds.UUID {
				want = 0
			}
			cs, err := s.ListContacts(ctx, a.ID, store.ContactFilter{DataSourceUUID: uuid}, page)
			if err != nil {
				t.Fatal(err)
			}
			var owners []string
			for _, c := range cs.Items {
				owners = append(owners, c.CustomerExternalID)
			}
			if wantOwners := []string{"c0", "c1"}[:min(want, 2)]; !slices.Equal(owners, wantOwners) || cs.HasMore != (want > 2) {
				t.Errorf("contacts of %s: %v (more %v), want %v", uuid, owners, cs.HasMore, wantOwners)
			}
		}
		for _, uuid := range []string{ds.UUID, "ds_nope"} {
			want := 3
			if uuid != ds.UUID {
				want = 0
			}
			invs, err := s.ListInvoices(ctx, a.ID, store.InvoiceFilter{DataSourceUUID: uuid}, page)
			if err != nil {
				t.Fatal(err)
			}
			if invs.Total != want || len(invs.Items) != min(want, 2) || invs.HasMore != (want > 2) {
				t.Errorf("invoices of %s: %d of %d (more %v), want %d", uuid, len(invs.Items), invs.Total, invs.HasMore, want)
			}
			evs, err := s.ListEvents(ctx, a.ID, store.EventFilter{DataSourceUUID: uuid}, page)
			if err != nil {
				t.Fatal(err)
			}
			var subs []string
			for _, e := range evs.Items {
				subs = append(subs, e.SubscriptionExternalID)
			}
			if evs.Total != want || len(subs) != min(want, 2) || (want > 0 && !slices.Equal(subs, []string{"s2", "s1"})) {
				t.Errorf("events of %s: %v of %d, want the newest two of %d", uuid, subs, evs.Total, want)
			}
		}
	})
}

// Issue 14: the filters that select customer ids through indexes of
// their own (a data source, a system, an external id, a search) combine
// as an intersection, whichever of them the query reads first. In
// seedScale's book the Stripe source holds every hundredth customer.
func TestCustomerIDFiltersCombine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct, ds := seedScale(t, s, "acme", 300)
		for _, c := range []struct {
			f    store.CustomerFilter
			want []string
		}{
			{store.CustomerFilter{DataSourceUUID: ds[0]}, []string{"c100", "c200", "c300"}},
			{store.CustomerFilter{System: "Stripe", Query: "c20"}, []string{"c200"}},
			{store.CustomerFilter{DataSourceUUID: ds[1], Query: "c20"}, []string{"c20", "c201", "c202", "c203", "c204", "c205", "c206", "c207", "c208", "c209"}},
			{store.CustomerFilter{DataSourceUUID: ds[0], System: "Custom"}, nil},
			{store.CustomerFilter{DataSourceUUID: ds[1], System: "Custom", ExternalID: "c42", Query: "c42"}, []string{"c42"}},
			{store.CustomerFilter{DataSourceUUID: ds[0], ExternalID: "c42"}, nil},
			{store.CustomerFilter{System: "Stripe", Query: "c30", Sort: store.SortNameDesc}, []string{"c300"}},
			{store.CustomerFilter{DataSourceUUID: ds[1], Query: "c29", Sort: store.SortMRRDesc}, []string{"c29", "c290", "c291", "c292", "c293", "c294", "c295", "c296", "c297", "c298", "c299"}},
		} {
			l, err := s.ListCustomers(ctx, acct, c.f, store.Page{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, cus := range l.Items {
				got = append(got, cus.ExternalID)
			}
			if c.f.Sort != store.SortCreated {
				slices.Sort(got)
			}
			if !cmp.Equal(got, c.want) || l.Total != len(c.want) {
				t.Errorf("%+v: %v of %d, want %v", c.f, got, l.Total, c.want)
			}
		}
	})
}

// Issue 14: an activity list's cursor narrows the dates the list reads
// from (and one type reads activities_type on SQLite); the pages must
// still be the list in order, activities of one date (here three of
// every tenth date) going by UUID, whichever the filters and the order.
func TestActivityPagesFollowTheList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct, _ := seedScale(t, s, "acme", 300)
		// Two more activities on each tenth customer's date, one a churn.
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO activities (account_id, customer_id, uuid, at, type, amount, mrr_after,
			subscription_external_ids, causes)
			SELECT account_id, customer_id, uuid || '_' || k.t, at, k.t, 100, 100, '[]', '[]'
			FROM activities CROSS JOIN (SELECT 'churn' AS t UNION ALL SELECT 'expansion') k
			WHERE account_id = $1 AND customer_id % 10 = 0`, acct); err != nil {
			t.Fatal(err)
		}
		from, to := int64(1100), int64(1250)
		c, err := s.ListCustomers(ctx, acct, store.CustomerFilter{ExternalID: "c120"}, store.Page{Limit: 1})
		if err != nil || len(c.Items) != 1 {
			t.Fatalf("c120: %v %v", c.Items, err)
		}
		for _, f := range []store.ActivityFilter{{}, {Type: "churn"}, {Type: "new_biz", From: &from}, {Type: "churn", To: &to},
			{From: &from, To: &to}, {Type: "churn", From: &from, To: &to}, {CustomerUUID: c.Items[0].UUID}} {
			for _, desc := range []bool{false, true} {
				f.Descending = desc
				whole, err := s.ListActivities(ctx, acct, f, store.Page{Limit: 10000})
				if err != nil {
					t.Fatal(err)
				}
				if len(whole.Items) == 0 {
					t.Fatalf("%+v: no activities", f)
				}
				var want, got []string
				for i, a := range whole.Items {
					want = append(want, a.UUID)
					if i > 0 {
						prev := whole.Items[i-1]
						before := prev.At.Before(a.At) || (prev.At.Equal(a.At) && prev.UUID < a.UUID)
						if before == desc {
							t.Fatalf("%+v: %s before %s", f, prev.UUID, a.UUID)
						}
					}
				}
				g := f
				for {
					l, err := s.ListActivities(ctx, acct, g, store.Page{Limit: 7})
					if err != nil {
						t.Fatal(err)
					}
					for _, a := range l.Items {
						got = append(got, a.UUID)
					}
					if !l.HasMore {
						break
					}
					last := l.Items[len(l.Items)-1]
					at := last.At.UnixMilli()
					g.AfterAt, g.AfterUUID = &at, last.UUID
				}
				if !cmp.Equal(got, want) {
					t.Errorf("%+v: pages of 7 list %d activities, the whole list %d: %s", f, len(got), len(want), cmp.Diff(want, got))
				}
			}
		}
	})
}
