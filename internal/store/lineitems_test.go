package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// lineBook is an account with one customer whose n invoices each have a
// subscription line (external ids l0…, subscriptions s0…) and a payment
// (t0…).
type lineBook struct {
	acct int64
	ds   billing.DataSource
	plan billing.Plan
	invs []billing.Invoice
}

func newLineBook(t *testing.T, s *store.Store, account string, n int) lineBook {
	t.Helper()
	ctx := t.Context()
	a, _, err := s.EnsureAccount(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	b := lineBook{acct: a.ID}
	if b.ds, err = s.CreateDataSource(ctx, a.ID, "Billing", billing.SystemImportAPI); err != nil {
		t.Fatal(err)
	}
	b.plan = billing.Plan{DataSourceUUID: b.ds.UUID, Name: "Gold", IntervalCount: 1, IntervalUnit: "month"}
	if err := s.CreatePlan(ctx, a.ID, &b.plan); err != nil {
		t.Fatal(err)
	}
	c := billing.Customer{DataSourceUUID: b.ds.UUID, ExternalID: "c"}
	if err := s.CreateCustomer(ctx, a.ID, &c); err != nil {
		t.Fatal(err)
	}
	start, end := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ext, tx := fmt.Sprint("l", i), fmt.Sprint("t", i)
		b.invs = append(b.invs, billing.Invoice{ExternalID: fmt.Sprint("i", i), Date: start, Currency: "USD",
			LineItems: []billing.LineItem{{Type: billing.LineSubscription, ExternalID: &ext, SubscriptionExternalID: fmt.Sprint("s", i),
				PlanUUID: b.plan.UUID, ServicePeriodStart: &start, ServicePeriodEnd: &end, AmountInCents: 1000, Quantity: 1}},
			Transactions: []billing.Transaction{{ExternalID: &tx, Type: "payment", Result: "successful", Date: start}}})
	}
	if err := s.ImportInvoices(ctx, a.ID, c.UUID, "USD", b.invs); err != nil {
		t.Fatal(err)
	}
	return b
}

func noEdits(*billing.LineItem, string) ([]store.FieldEdit, error) { return nil, nil }

// Every line-item and transaction method misses another account's rows,
// by UUID and by data source and external id.
func TestLineItemsAndTransactionsIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := newLineBook(t, s, "a", 1)
		b := newLineBook(t, s, "b", 0)
		line, tx := a.invs[0].LineItems[0], a.invs[0].Transactions[0]
		for _, ref := range []store.ItemRef{{UUID: line.UUID}, {DataSourceUUID: a.ds.UUID, ExternalID: "l0"}} {
			notFound := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s %v across accounts: %v", what, ref, err)
				}
			}
			_, err := s.LineItem(ctx, b.acct, ref)
			notFound("line item", err)
			_, err = s.UpdateLineItem(ctx, b.acct, "USD", ref, "k", noEdits)
			notFound("update line item", err)
			_, err = s.SetLineItemDisabled(ctx, b.acct, ref, true, "k")
			notFound("disable line item", err)
			notFound("delete line item", s.DeleteLineItem(ctx, b.acct, ref))
		}
		_, err := s.AddLineItem(ctx, b.acct, a.invs[0].UUID, "USD", &billing.LineItem{Type: billing.LineOneTime, Quantity: 1},
			func(string) error { return nil })
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("add a line to another account's invoice: %v", err)
		}
		for _, ref := range []store.ItemRef{{UUID: tx.UUID}, {DataSourceUUID: a.ds.UUID, ExternalID: "t0"}} {
			notFound := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s %v across accounts: %v", what, ref, err)
				}
			}
			_, err := s.Transaction(ctx, b.acct, ref)
			notFound("transaction", err)
			_, err = s.UpdateTransaction(ctx, b.acct, "USD", ref, "k", func(*billing.Transaction, string) ([]store.FieldEdit, error) { return nil, nil })
			notFound("update transaction", err)
			_, err = s.SetTransactionDisabled(ctx, b.acct, ref, true, "k")
			notFound("disable transaction", err)
			notFound("delete transaction", s.DeleteTransaction(ctx, b.acct, ref))
		}
		// Everything of a is still there and untouched.
		if l, err := s.LineItem(ctx, a.acct, store.ItemRef{UUID: line.UUID}); err != nil || l.Disabled.IsDisabled() || l.InvoiceUUID != a.invs[0].UUID {
			t.Errorf("a's line: %+v %v", l, err)
		}
		if x, err := s.Transaction(ctx, a.acct, store.ItemRef{DataSourceUUID: a.ds.UUID, ExternalID: "t0"}); err != nil || x.UUID != tx.UUID || x.Disabled.IsDisabled() {
			t.Errorf("a's transaction: %+v %v", x, err)
		}
	})
}

// Lines added at once to several invoices, all naming a subscription not
// yet seen, and lines moved at once onto another one, create each once
// (imports' lock on the data source) and none fails.
func TestConcurrentLineWritesCreateOneSubscription(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		const n = 8
		b := newLineBook(t, s, "a", n)
		start, end := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.AddLineItem(context.Background(), b.acct, b.invs[i].UUID, "USD", &billing.LineItem{Type: billing.LineSubscription,
					SubscriptionExternalID: "added", PlanUUID: b.plan.UUID, ServicePeriodStart: &start, ServicePeriodEnd: &end,
					AmountInCents: 500, Quantity: 1}, func(string) error { return nil })
			})
			wg.Go(func() {
				_, errs[n+i] = s.UpdateLineItem(context.Background(), b.acct, "USD", store.ItemRef{UUID: b.invs[i].LineItems[0].UUID}, "k",
					func(l *billing.LineItem, _ string) ([]store.FieldEdit, error) {
						l.SubscriptionExternalID = "moved"
						return nil, nil
					})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
		inv, err := s.Invoice(t.Context(), b.acct, b.invs[0].UUID)
		if err != nil {
			t.Fatal(err)
		}
		subs, err := s.CustomerSubscriptions(t.Context(), b.acct, inv.CustomerUUID, store.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		// s0…s7 lost their only lines and are gone.
		var names []string
		for _, sub := range subs.Items {
			names = append(names, sub.ExternalID)
		}
		if fmt.Sprint(names) != "[added moved]" && fmt.Sprint(names) != "[moved added]" {
			t.Fatalf("subscriptions: %v", names)
		}
	})
}
