package api

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// A server starting up used to rebuild an account's cache from every row
// of its results (and, for cash flow, of its invoices, lines and
// transactions): seconds at 100,000 customers, paid by the first request
// after each deploy. The cache now writes what it holds as a snapshot
// (snapshot.go) once it holds enough of the account that is not in the
// last one, and a cache starting empty loads the snapshot, then only the
// customers whose results changed after it, through the same reads that
// keep it current. The snapshot is a cache of a cache: any server may
// write one, a snapshot from before a removal of customers is not used,
// and nothing is lost when one is missing, stale or unreadable.
const (
	// defaultSnapshotMin is the customers from which an account is worth
	// a snapshot: below it the rows load in a few tens of milliseconds.
	defaultSnapshotMin = 2000
	// snapshotEvery is the least time between two snapshots of one
	// account from one server.
	snapshotEvery = 5 * time.Minute
	// snapshotShare: a new snapshot is written once more than 1/share of
	// the customers were reloaded since the last (or none is usable).
	snapshotShare = 10
)

// snapState is where a cache stands against its snapshot.
type snapState struct {
	// changed counts the customers reloaded since the snapshot the cache
	// was loaded from or last wrote (all of them when it loaded none).
	changed int
	writing bool
	written time.Time
}

// due tells whether a snapshot of n customers should be written now.
func (st *snapState) due(min, n int) bool {
	return min >= 0 && n >= max(1, min) && !st.writing && st.changed > n/snapshotShare &&
		(st.written.IsZero() || time.Since(st.written) >= snapshotEvery)
}

// loadResults reads the results refresh needs: those whose version is
// above since, or with since < 0 every customer's, from the account's
// snapshot when one is usable (then rs are the customers changed after
// it) and from the rows otherwise.
func (a *accountResults) loadResults(ctx context.Context, s *store.Store, acct, since, resets int64) (snap snapshotState, rs []*store.CustomerResults, err error) {
	if since < 0 && a.cache.snapMin >= 0 {
		var version int64
		var ok bool
		if snap, version, ok = loadSnapshot(ctx, s, acct, snapshotResults, resets, decodeResults); ok {
			since, a.snap.changed = version, 0
		}
	}
	if since < 0 {
		a.snap.changed = 0
	}
	rs, err = s.ResultsSince(ctx, acct, since)
	a.snap.changed += len(rs)
	return snap, rs, err
}

// cashSnapshot is the account's transactions from its snapshot (with
// the cash book for currency and loc when the snapshot has it), and the
// results version the snapshot stands at; -1 without a usable one.
func (a *accountResults) cashSnapshot(ctx context.Context, s *store.Store, acct, resets int64, currency string, loc *time.Location) (int64, cashSnapshot) {
	a.cash.snap.changed = 0 // the caller counts what it reads
	if a.cache.snapMin < 0 {
		return -1, cashSnapshot{}
	}
	st, version, ok := loadSnapshot(ctx, s, acct, snapshotCash, resets, func(data []byte) (cashSnapshot, error) {
		return decodeCash(data, currency, loc)
	})
	if !ok {
		return -1, cashSnapshot{}
	}
	return version, st
}

// loadSnapshot reads and decodes the account's snapshot of kind, if it
// stands at the account's current count of removals.
func loadSnapshot[T any](ctx context.Context, s *store.Store, acct int64, kind string, resets int64, decode func([]byte) (T, error)) (T, int64, bool) {
	var zero T
	sn, err := s.CacheSnapshot(ctx, acct, kind)
	if err != nil || sn.Resets != resets {
		// A snapshot is never needed: an error reading it leaves the
		// rows to read, which report their own.
		return zero, 0, false
	}
	v, err := decode(sn.Data)
	if err != nil {
		return zero, 0, false
	}
	return v, sn.Version, true
}

// maybeSnapshotResults writes the customers as a snapshot in the
// background when due, under a.mu.
func (a *accountResults) maybeSnapshotResults(s *store.Store, acct int64) {
	if !a.snap.due(a.cache.snapMin, len(a.customers)) {
		return
	}
	list, book, st := a.customerList(), a.book, a.results
	a.startSnapshot(s, &a.snap, snapshotResults, func(ctx context.Context) error {
		return s.SaveCacheSnapshot(ctx, acct, snapshotResults, store.Snapshot{Version: st.version, Resets: st.resets, Data: encodeResults(list, book)})
	})
}

// maybeSnapshotCash writes the transactions as a snapshot in the
// background when due, under a.mu.
func (a *accountResults) maybeSnapshotCash(s *store.Store, acct int64) {
	cs := &a.cash
	if !cs.snap.due(a.cache.snapMin, len(cs.byCustomer)) {
		return
	}
	// byCustomer is changed in place by later requests; its slices are
	// replaced, never changed.
	by, book, st := maps.Clone(cs.byCustomer), cs.book, cs.stamp
	a.startSnapshot(s, &cs.snap, snapshotCash, func(ctx context.Context) error {
		return s.SaveCacheSnapshot(ctx, acct, snapshotCash, store.Snapshot{Version: st.version, Resets: st.resets, Data: encodeCash(by, book)})
	})
}

// startSnapshot runs write as the store's background work, under a.mu.
// The customers reloaded meanwhile stay counted against the next one; a
// failed write is tried again once snapshotEvery has passed.
func (a *accountResults) startSnapshot(s *store.Store, st *snapState, kind string, write func(context.Context) error) {
	counted := st.changed
	st.writing = true
	a.cache.snapWrites.Add(1)
	ok := s.Go(func(ctx context.Context) {
		defer a.cache.snapWrites.Done()
		err := write(ctx)
		a.mu.Lock()
		defer a.mu.Unlock()
		st.writing, st.written = false, time.Now()
		if err == nil {
			st.changed -= counted
		}
		if !errors.Is(err, context.Canceled) { // not the store closing
			a.tel.Snapshot(kind, err)
		}
	})
	if !ok { // the store is closing
		st.writing = false
		a.cache.snapWrites.Done()
	}
}

// Warm loads, for every account that has snapshots (those large enough
// for a cold start to be felt), its results and cash book into the
// cache, so that the first requests after a start find them there. A
// request arriving meanwhile waits for its account's load, as it would
// have loaded it itself.
func (a *API) Warm(ctx context.Context) error {
	if a.results.snapMin < 0 {
		return nil
	}
	ids, err := a.store.SnapshotAccounts(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		acct, err := a.store.Account(ctx, id)
		if err != nil {
			return err
		}
		if _, _, err := a.results.customers(ctx, a.store, acct.ID); err != nil {
			return err
		}
		req := metrics.SeriesRequest{Location: accountLocation(acct)}
		if _, err := a.results.cashBook(ctx, a.store, acct.ID, acct.Currency, recompute.NewStoreRates(ctx, a.store), req); err != nil {
			return err
		}
	}
	return nil
}
