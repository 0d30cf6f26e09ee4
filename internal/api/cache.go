package api

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/segment"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/telemetry"
)

// resultsCache keeps each account's engine results in memory for the
// Metrics API. It is checked against the database on every request (one
// cheap query), so several servers on one PostgreSQL stay correct: a
// recomputation stamps the customers it wrote with a new version, and the
// cache reloads just those; a removal of customers (a delete, a merge)
// reloads the account.
type resultsCache struct {
	mu       sync.Mutex
	accounts map[int64]*accountResults
	tel      *telemetry.Metrics
	// snapMin is the customers from which an account's state is written
	// as snapshots (see cache_snapshot.go); < 0: never.
	snapMin int
	// snapWrites are the snapshot writes under way (tests wait for them).
	snapWrites sync.WaitGroup
}

type accountResults struct {
	mu        sync.Mutex
	tel       *telemetry.Metrics
	cache     *resultsCache // the cache it is in
	results   stamp         // of customers and book
	customers map[int64]*cachedCustomer
	// book indexes every customer's history for unfiltered series; it is
	// replaced, never changed, so a request may keep using the one it got.
	book *metrics.Book
	// cohorts are the retention windows asked for so far; replaced, never
	// changed, like book. nil until retention is first asked for.
	cohorts *metrics.Cohorts
	cash    cashState
	// segments are the selections asked for so far, by key, kept current
	// like the book (filters.go); used counts requests for eviction.
	segments map[string]*segState
	used     uint64
	// list is the customers as a slice, replaced (never changed) when
	// they change; nil until asked for after a change.
	list []*cachedCustomer
	// snap is where the results' snapshot stands.
	snap snapState
}

// account is the cache entry of an account, made on first use.
func (c *resultsCache) account(acct int64) *accountResults {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accounts == nil {
		c.accounts = map[int64]*accountResults{}
	}
	a, ok := c.accounts[acct]
	if !ok {
		a = &accountResults{tel: c.tel, cache: c}
		c.accounts[acct] = a
		c.tel.CacheAccount()
	}
	return a
}

type cachedCustomer struct {
	id      int64
	version int64 // its results version
	country string
	history metrics.History
	subs    []metrics.SubscriptionSteps
	plans   []string // every plan its subscriptions have been on
	// facts are its attributes as filters read them (the now-dependent
	// ones are worked out by factsAt); quantities the quantity of each
	// subscription's latest line, by subscription UUID.
	facts      segment.Facts
	quantities map[string]int64
}

// coverage tells whether any and whether all of the customer's plans are
// among plans.
func (c *cachedCustomer) coverage(plans map[string]bool) (some, all bool) {
	all = true
	for _, p := range c.plans {
		if plans[p] {
			some = true
		} else {
			all = false
		}
	}
	return some, all
}

func toCached(r *store.CustomerResults) *cachedCustomer {
	c := &cachedCustomer{id: r.CustomerID, version: r.Version, country: r.Country, quantities: r.Quantities,
		facts: segment.Facts{Country: r.Country, DataSources: r.DataSources, Currencies: r.Currencies, Tags: r.Tags, Custom: r.Custom}}
	for _, p := range r.Points {
		c.history.Timeline = append(c.history.Timeline, metrics.Point{At: p.At, MRR: p.MRR, Active: p.Active, FX: p.FX})
	}
	for _, m := range r.Activities {
		c.history.Movements = append(c.history.Movements, metrics.Movement{At: m.At, Type: m.Type, Amount: m.Amount, MRRAfter: m.MRRAfter})
	}
	for _, st := range r.Steps {
		n := len(c.subs)
		if n == 0 || c.subs[n-1].ID != st.SubscriptionUUID {
			c.subs = append(c.subs, metrics.SubscriptionSteps{ID: st.SubscriptionUUID, ExternalID: st.ExternalID, Group: st.Group})
			n++
		}
		c.subs[n-1].Steps = append(c.subs[n-1].Steps, metrics.Step{At: st.At, MRR: st.MRR, Live: st.Live, Plan: st.Plan, FX: st.FX})
		c.addPlan(st.Plan)
	}
	return c
}

// addPlan notes that one of the customer's subscriptions has been on plan.
func (c *cachedCustomer) addPlan(plan string) {
	if !slices.Contains(c.plans, plan) {
		c.plans = append(c.plans, plan)
	}
}

// customers returns the account's cached customers and the Book of all
// their histories, current as of now.
func (c *resultsCache) customers(ctx context.Context, s *store.Store, acct int64) ([]*cachedCustomer, *metrics.Book, error) {
	a := c.account(acct)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.refresh(ctx, s, acct); err != nil {
		return nil, nil, err
	}
	return a.customerList(), a.book, nil
}

// customerList is the account's customers, under a.mu; callers must not
// change it.
func (a *accountResults) customerList() []*cachedCustomer {
	if a.list == nil {
		a.list = make([]*cachedCustomer, 0, len(a.customers))
		for _, cc := range a.customers {
			a.list = append(a.list, cc)
		}
	}
	return a.list
}

// refresh brings the account's results up to date, under a.mu.
func (a *accountResults) refresh(ctx context.Context, s *store.Store, acct int64) error {
	since, version, resets, current, err := a.results.check(ctx, s, acct)
	if err != nil || current {
		return err
	}
	snap, rs, err := a.loadResults(ctx, s, acct, since, resets)
	if err != nil {
		return err
	}
	changed := make(map[int64]metrics.History, len(rs))
	held := len(a.customers)
	defer func() { a.tel.CacheLoaded(since < 0, len(rs)+len(snap.customers), len(a.customers)-held) }()
	if since < 0 { // first use, or customers went away: afresh
		a.customers, a.book, a.cohorts = make(map[int64]*cachedCustomer, max(len(rs), len(snap.customers))), &metrics.Book{}, nil
		for _, cc := range snap.customers {
			a.customers[cc.id] = cc
		}
		if snap.book != nil {
			a.book = snap.book // of exactly the snapshot's customers
		} else {
			for _, cc := range snap.customers {
				changed[cc.id] = cc.history
			}
		}
	}
	// The cohorts follow the changed customers, or start over when most
	// of the book changed (their windows are computed again when asked).
	var oldCo, newCo map[int64]metrics.CohortCustomer
	if a.cohorts != nil && len(rs) > len(a.customers)/2 {
		a.cohorts = nil
	}
	if a.cohorts != nil {
		oldCo, newCo = map[int64]metrics.CohortCustomer{}, make(map[int64]metrics.CohortCustomer, len(rs))
	}
	for _, r := range rs {
		cc := toCached(r)
		if newCo != nil {
			if prev, ok := a.customers[r.CustomerID]; ok {
				oldCo[r.CustomerID] = metrics.CohortCustomer{Country: prev.country, History: prev.history}
			}
			newCo[r.CustomerID] = metrics.CohortCustomer{Country: cc.country, History: cc.history}
		}
		a.customers[r.CustomerID], changed[r.CustomerID] = cc, cc.history
	}
	a.book, a.list = a.book.With(changed), nil
	if a.cohorts != nil {
		a.cohorts = a.cohorts.With(oldCo, newCo)
	}
	a.results = stamp{loaded: true, version: version, resets: resets}
	a.maybeSnapshotResults(s, acct)
	return nil
}

// maxCohortCells bounds the retention windows an account keeps, times its
// countries: 2^18 of them take about 20 MiB. A series by month over five
// years takes 120 windows.
const maxCohortCells = 1 << 18

// cohorts returns the account's retention cohorts, current as of now and
// holding the windows of req: those it lacked are computed over every
// customer (outside the lock) and kept for the next requests.
func (c *resultsCache) cohorts(ctx context.Context, s *store.Store, acct int64, req metrics.SeriesRequest) (*metrics.Cohorts, error) {
	a := c.account(acct)
	a.mu.Lock()
	if err := a.refresh(ctx, s, acct); err != nil {
		a.mu.Unlock()
		return nil, err
	}
	if a.cohorts == nil {
		a.cohorts = metrics.NewCohorts()
	}
	co := a.cohorts
	if _, ok, err := co.Retention(req, nil); ok || err != nil {
		a.mu.Unlock()
		return co, nil // an error is req's: Retention reports it
	}
	customers := make([]metrics.CohortCustomer, 0, len(a.customers))
	for _, cc := range a.customers {
		customers = append(customers, metrics.CohortCustomer{Country: cc.country, History: cc.history})
	}
	a.mu.Unlock()

	base := co
	if co.Cells() > maxCohortCells/2 {
		base = metrics.NewCohorts() // full: start over with this request's windows
	}
	next, err := base.Add(req, func(yield func(string, metrics.History) bool) {
		for _, c := range customers {
			if !yield(c.Country, c.History) {
				return
			}
		}
	})
	if err != nil {
		return co, nil
	}
	a.mu.Lock()
	if a.cohorts == co && next.Cells() <= maxCohortCells { // no refresh meanwhile
		a.cohorts = next
	}
	a.mu.Unlock()
	return next, nil
}

// cashState is an account's transactions as cash flow takes them, kept
// like the results: reloaded per customer when their results version
// moves, whole when customers went away; and the CashBook that indexes
// them. Loaded on the first cash-flow request only, so accounts that never
// ask pay nothing for it.
type cashState struct {
	stamp      stamp
	byCustomer map[int64][]metrics.CashTransaction // a customer's slice is replaced, never changed
	book       *metrics.CashBook                   // replaced, never changed
	snap       snapState
}

// cashRates are a request's exchange rates, which may fail to load.
type cashRates interface {
	metrics.Rates
	Err() error
}

// cashBook returns the account's cash book, current as of now, in the
// account currency and time zone, with its foreign transactions valued at
// rates over the instants of req and of windows (see CashBook.Revalue). A
// change of customers costs the days they have transactions on; a change
// of currency or time zone, a rebuild from the transactions in memory.
func (c *resultsCache) cashBook(ctx context.Context, s *store.Store, acct int64, currency string, rates cashRates,
	req metrics.SeriesRequest, windows ...time.Time) (*metrics.CashBook, error) {
	a := c.account(acct)
	a.mu.Lock()
	defer a.mu.Unlock()
	cs := &a.cash
	since, version, resets, current, err := cs.stamp.check(ctx, s, acct)
	if err != nil {
		return nil, err
	}
	book, byCustomer := cs.book, cs.byCustomer
	var old, changed map[int64][]metrics.CashTransaction
	if !current {
		from, snap := since, cashSnapshot{}
		if since < 0 {
			from, snap = a.cashSnapshot(ctx, s, acct, resets, currency, req.Location)
		}
		rows, err := s.CashTransactionsSince(ctx, acct, from)
		if err != nil {
			return nil, err
		}
		if since < 0 {
			book, byCustomer = snap.book, snap.byCustomer
			if byCustomer == nil {
				byCustomer = map[int64][]metrics.CashTransaction{}
			}
		}
		old, changed = map[int64][]metrics.CashTransaction{}, make(map[int64][]metrics.CashTransaction, len(rows))
		for id, txs := range rows {
			if prev, ok := byCustomer[id]; ok {
				old[id] = prev
			}
			changed[id] = cashInput(txs)
		}
	}
	switch {
	case book == nil || !book.Fits(currency, req.Location):
		all := make(map[int64][]metrics.CashTransaction, len(byCustomer)+len(changed))
		for id, txs := range byCustomer {
			all[id] = txs
		}
		for id, txs := range changed {
			all[id] = txs
		}
		book = metrics.NewCashBook(currency, req.Location).With(nil, all, rates)
	case len(changed) > 0:
		book = book.With(old, changed, rates)
	}
	if from, to, err := req.Bounds(); err == nil {
		windows = append(windows, from, to)
	}
	if len(windows) > 0 {
		book = book.Revalue(rates, slices.MinFunc(windows, time.Time.Compare), slices.MaxFunc(windows, time.Time.Compare))
	}
	if err := rates.Err(); err != nil {
		return nil, err // nothing kept: the rates may be wrong
	}
	for id, txs := range changed {
		if len(txs) == 0 {
			delete(byCustomer, id)
		} else {
			byCustomer[id] = txs
		}
	}
	cs.byCustomer, cs.book = byCustomer, book
	if !current {
		cs.stamp = stamp{loaded: true, version: version, resets: resets}
		cs.snap.changed += len(changed)
		a.maybeSnapshotCash(s, acct)
	}
	return book, nil
}

// stamp is the database state a cached copy was read at: the account's
// results version and its count of customer removals.
type stamp struct {
	loaded          bool
	version, resets int64
}

// check reads the account's state (under the caller's lock, so that two
// requests never roll a copy back) and says what to reload: nothing
// (current), the customers changed since a version, or all (since < 0).
func (st stamp) check(ctx context.Context, s *store.Store, acct int64) (since, version, resets int64, current bool, err error) {
	version, resets, err = s.ResultsState(ctx, acct)
	switch {
	case err != nil:
		return 0, 0, 0, false, err
	case !st.loaded || resets != st.resets:
		return -1, version, resets, false, nil
	case version <= st.version:
		return 0, version, resets, true, nil
	}
	return st.version, version, resets, false, nil
}

// cashInput converts stored transactions to the engine's.
func cashInput(rows []store.CashTransaction) []metrics.CashTransaction {
	out := make([]metrics.CashTransaction, len(rows))
	for i, t := range rows {
		lines := make([]metrics.CashLine, len(t.Lines))
		for j, l := range t.Lines {
			lines[j] = metrics.CashLine{Amount: l.Amount, OneTime: l.Type == metrics.LineOneTime, Plan: l.PlanUUID}
		}
		out[i] = metrics.CashTransaction{Customer: t.CustomerID, Country: t.Country, At: t.At, Type: t.Type,
			Successful: t.Result == "successful", Amount: t.Amount, Currency: t.Currency, Lines: lines}
	}
	return out
}

// cashTransactions are the transactions of the customers ids from the
// account's cash state, as the last cashBook call loaded them, in time
// order: a filtered cash flow sums them one by one, since the book's sums
// are by country and plans only.
func (c *resultsCache) cashTransactions(acct int64, ids []int64) []metrics.CashTransaction {
	a := c.account(acct)
	a.mu.Lock()
	var out []metrics.CashTransaction
	for _, id := range ids {
		out = append(out, a.cash.byCustomer[id]...)
	}
	a.mu.Unlock()
	slices.SortStableFunc(out, func(x, y metrics.CashTransaction) int {
		return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.Customer, y.Customer))
	})
	return out
}
