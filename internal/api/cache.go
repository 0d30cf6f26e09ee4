package api

import (
	"context"
	"slices"
	"sync"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/store"
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
}

type accountResults struct {
	mu        sync.Mutex
	results   stamp // of customers and book
	customers map[int64]*cachedCustomer
	// book indexes every customer's history for unfiltered series; it is
	// replaced, never changed, so a request may keep using the one it got.
	book *metrics.Book
	cash cashState
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
		a = &accountResults{}
		c.accounts[acct] = a
	}
	return a
}

type cachedCustomer struct {
	id      int64
	country string
	history metrics.History
	subs    []metrics.SubscriptionSteps
	plans   []string // every plan its subscriptions have been on
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
	c := &cachedCustomer{id: r.CustomerID, country: r.Country}
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
		if !slices.Contains(c.plans, st.Plan) {
			c.plans = append(c.plans, st.Plan)
		}
	}
	return c
}

// customers returns the account's cached customers and the Book of all
// their histories, current as of now.
func (c *resultsCache) customers(ctx context.Context, s *store.Store, acct int64) ([]*cachedCustomer, *metrics.Book, error) {
	a := c.account(acct)
	a.mu.Lock()
	defer a.mu.Unlock()
	since, version, resets, current, err := a.results.check(ctx, s, acct)
	if err != nil {
		return nil, nil, err
	}
	if !current {
		rs, err := s.ResultsSince(ctx, acct, since)
		if err != nil {
			return nil, nil, err
		}
		changed := make(map[int64]metrics.History, len(rs))
		if since < 0 { // first use, or customers went away: afresh
			a.customers, a.book = make(map[int64]*cachedCustomer, len(rs)), &metrics.Book{}
		}
		for _, r := range rs {
			cc := toCached(r)
			a.customers[r.CustomerID], changed[r.CustomerID] = cc, cc.history
		}
		a.book = a.book.With(changed)
		a.results = stamp{loaded: true, version: version, resets: resets}
	}
	out := make([]*cachedCustomer, 0, len(a.customers))
	for _, cc := range a.customers {
		out = append(out, cc)
	}
	return out, a.book, nil
}

// cashState is an account's transactions as cash flow takes them, kept
// like the results: reloaded per customer when their results version
// moves, whole when customers went away. Loaded on the first cash-flow
// request only, so accounts that never ask pay nothing for it.
type cashState struct {
	stamp      stamp
	byCustomer map[int64][]metrics.CashTransaction
	all        []metrics.CashTransaction // replaced, never changed
}

// cashTransactions returns every transaction of the account, current as
// of now.
func (c *resultsCache) cashTransactions(ctx context.Context, s *store.Store, acct int64) ([]metrics.CashTransaction, error) {
	a := c.account(acct)
	a.mu.Lock()
	defer a.mu.Unlock()
	cs := &a.cash
	since, version, resets, current, err := cs.stamp.check(ctx, s, acct)
	if err != nil || current {
		return cs.all, err
	}
	rows, err := s.CashTransactionsSince(ctx, acct, since)
	if err != nil {
		return nil, err
	}
	if since < 0 {
		cs.byCustomer = map[int64][]metrics.CashTransaction{}
	}
	for id, txs := range rows {
		if len(txs) == 0 {
			delete(cs.byCustomer, id)
			continue
		}
		cs.byCustomer[id] = cashInput(txs)
	}
	cs.all = nil // a new slice: requests may still read the old one
	for _, txs := range cs.byCustomer {
		cs.all = append(cs.all, txs...)
	}
	cs.stamp = stamp{loaded: true, version: version, resets: resets}
	return cs.all, nil
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
