package api

import (
	"fmt"
	"reflect"
)

// What the external tests see of the results cache.

// WaitSnapshots waits for the snapshot writes under way.
func (a *API) WaitSnapshots() { a.results.snapWrites.Wait() }

// ChangedSinceSnapshot counts the customers the account's caches read
// from the rows since their snapshots: 0 when the snapshots held them all.
func (a *API) ChangedSinceSnapshot(acct int64) (results, cash int) {
	ar := a.results.account(acct)
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.snap.changed, ar.cash.snap.changed
}

// SameCache tells whether two APIs hold the same customers for acct, as
// toCached makes them, and the same transactions.
func SameCache(got, want *API, acct int64) error {
	g, w := got.results.account(acct), want.results.account(acct)
	g.mu.Lock()
	defer g.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(g.customers) != len(w.customers) {
		return fmt.Errorf("%d customers cached, want %d", len(g.customers), len(w.customers))
	}
	for id, wc := range w.customers {
		if !reflect.DeepEqual(g.customers[id], wc) {
			return fmt.Errorf("customer %d cached as\n%+v\nwant\n%+v", id, g.customers[id], wc)
		}
	}
	if !reflect.DeepEqual(g.cash.byCustomer, w.cash.byCustomer) {
		return fmt.Errorf("the cached transactions differ")
	}
	return nil
}

// SnapshotHoldsBooks tells whether snapshot data holds the Book (results)
// or the cash book for currency in UTC (cash).
func SnapshotHoldsBooks(kind string, data []byte, currency string) (bool, error) {
	if kind == snapshotResults {
		st, err := decodeResults(data)
		return st.book != nil, err
	}
	st, err := decodeCash(data, currency, nil)
	return st.book != nil, err
}

// CacheLoaded tells whether the account's results and cash book are in
// the cache.
func (a *API) CacheLoaded(acct int64) (results, cash bool) {
	ar := a.results.account(acct)
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.results.loaded, ar.cash.stamp.loaded
}
