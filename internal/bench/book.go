package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// benchBook is the account a run measures.
type benchBook struct {
	acct      billing.Account
	plans     []planInfo
	customers []string // UUIDs
	invoices  int
	// imported is how long the import took; zero for a reused book.
	imported time.Duration
}

type planInfo struct {
	uuid   string
	months int
	price  int64
}

// prepare generates the book into an empty store, or with o.Reuse finds
// the one an earlier run generated.
func prepare(ctx context.Context, s *store.Store, o Options, rng *rand.Rand) (benchBook, error) {
	if o.Reuse {
		return reuse(ctx, s, o)
	}
	out := o.Out
	acct, ds, err := benchSource(ctx, s, "bench")
	if err != nil {
		return benchBook{}, err
	}
	b := benchBook{acct: acct}
	if b.plans, err = createPlans(ctx, s, acct.ID, ds.UUID); err != nil {
		return benchBook{}, err
	}
	// The book: five years, 2021–2025; each customer starts in a random
	// month and renews, sometimes changing plan, sometimes churning.
	fmt.Fprintf(out, "generating %d customers × %d invoices…\n", o.Customers, o.InvoicesPerCustomer)
	start := time.Now()
	base := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	for c := range o.Customers {
		cus := customer(rng, c, ds.UUID)
		if err := s.CreateCustomer(ctx, acct.ID, &cus); err != nil {
			return benchBook{}, err
		}
		b.customers = append(b.customers, cus.UUID)
		invs := book(rng, c, base, o.InvoicesPerCustomer, func() (string, int, int64) {
			p := b.plans[rng.IntN(len(b.plans))]
			return p.uuid, p.months, p.price
		})
		b.invoices += len(invs)
		if err := s.ImportInvoices(ctx, acct.ID, cus.UUID, acct.Currency, invs); err != nil {
			return benchBook{}, fmt.Errorf("import customer %d: %w", c, err)
		}
	}
	b.imported = time.Since(start)
	fmt.Fprintf(out, "imported %d invoices in %s (%.0f invoices/s)\n", b.invoices, b.imported.Round(time.Millisecond),
		float64(b.invoices)/b.imported.Seconds())
	return b, nil
}

// benchSource makes the named account, if need be, and a data source
// "bench" in it, where a run sends its book.
func benchSource(ctx context.Context, s *store.Store, account string) (billing.Account, billing.DataSource, error) {
	acct, _, err := s.EnsureAccount(ctx, account)
	if err != nil {
		return acct, billing.DataSource{}, err
	}
	ds, err := s.CreateDataSource(ctx, acct.ID, "bench", billing.SystemImportAPI)
	return acct, ds, err
}

// fullKey makes a full-access API key of the account.
func fullKey(ctx context.Context, s *store.Store, acct int64) (string, error) {
	key := auth.NewKey()
	return key, s.CreateAPIKey(ctx, acct, auth.Prefix(key), auth.Hash(key), billing.AccessFull)
}

// createPlans makes the book's plans (benchPlans) in the data source,
// named "Plan 1", "Plan 2", … as reuse finds them.
func createPlans(ctx context.Context, s *store.Store, acct int64, dsUUID string) ([]planInfo, error) {
	var plans []planInfo
	for i, p := range benchPlans {
		pl := billing.Plan{DataSourceUUID: dsUUID, Name: fmt.Sprintf("Plan %d", i+1), IntervalCount: 1, IntervalUnit: p.unit}
		if p.unit == "month" && p.months == 3 {
			pl.IntervalCount = 3
		}
		if err := s.CreatePlan(ctx, acct, &pl); err != nil {
			return nil, err
		}
		plans = append(plans, planInfo{pl.UUID, p.months, p.price})
	}
	return plans, nil
}

// reuse finds the book of an earlier run: its account, plans (by the
// names prepare gives them) and customers.
func reuse(ctx context.Context, s *store.Store, o Options) (benchBook, error) {
	acct, err := s.AccountByName(ctx, "bench")
	if err != nil {
		return benchBook{}, fmt.Errorf("--reuse: no book from an earlier run: %w", err)
	}
	b := benchBook{acct: acct}
	plans, err := s.ListPlans(ctx, acct.ID, store.PlanFilter{}, store.Page{Limit: 100})
	if err != nil {
		return benchBook{}, err
	}
	for _, pl := range plans.Items {
		var i int
		if _, err := fmt.Sscanf(pl.Name, "Plan %d", &i); err != nil || i < 1 || i > len(benchPlans) {
			continue
		}
		b.plans = append(b.plans, planInfo{pl.UUID, benchPlans[i-1].months, benchPlans[i-1].price})
	}
	if len(b.plans) != len(benchPlans) {
		return benchBook{}, fmt.Errorf("--reuse: the bench account has %d of the book's %d plans", len(b.plans), len(benchPlans))
	}
	for page := (store.Page{Limit: 1000}); ; {
		l, err := s.ListCustomers(ctx, acct.ID, store.CustomerFilter{}, page)
		if err != nil {
			return benchBook{}, err
		}
		for _, c := range l.Items {
			b.customers = append(b.customers, c.UUID)
		}
		if !l.HasMore {
			break
		}
		page.AfterID = l.LastID
	}
	if len(b.customers) == 0 {
		return benchBook{}, fmt.Errorf("--reuse: the bench account has no customers")
	}
	invs, err := s.ListInvoices(ctx, acct.ID, store.InvoiceFilter{}, store.Page{Limit: 1})
	if err != nil {
		return benchBook{}, err
	}
	b.invoices = invs.Total
	fmt.Fprintf(o.Out, "reusing the book of an earlier run: %d customers, %d invoices\n", len(b.customers), b.invoices)
	return b, nil
}
