package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/telemetry"
)

// bufferedWriter holds a write's response until the metrics reflect it.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// currentAtOnce makes every write recompute the customers it touched
// before its response goes out, so the next metrics request reflects it
// (api.md rule 3, issue 5: ChartMogul says minutes, Tally zero).
//
// The answer is the write's own, whatever the recomputation does: the
// write is committed, so it is answered 2xx (issue 10). A customer the
// engine cannot compute is recorded as failed (its reconciliation says
// why) and retried in the background; a database failure leaves the
// customers marked for the background pass. A refused write recomputes
// too: what an earlier write left marked (a crash, a failed pass) is then
// current by the time a client's retry is refused as a duplicate.
func (a *API) currentAtOnce(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		buf := &bufferedWriter{header: w.Header()}
		notes := &writeNotes{}
		r = r.WithContext(context.WithValue(r.Context(), writeNotesKey{}, notes))
		next.ServeHTTP(buf, r)
		a.recompute(r, notes.known)
		if buf.status != 0 {
			w.WriteHeader(buf.status)
		}
		_, _ = w.Write(buf.body.Bytes())
	})
}

// accountRecompute lets the writes of one account share recomputations:
// each pass takes every customer marked so far, so a write whose marks a
// pass begun after it has covered need not run its own. Concurrent writes
// used to each recompute every mark of the account at once, and under a
// steady load the duplicated work grew until the server fell behind.
type accountRecompute struct {
	mu    sync.Mutex
	begun atomic.Uint64 // passes begun
	// known are the histories that writes waiting for a pass know: the
	// pass that covers them takes them instead of reading them.
	knownMu sync.Mutex
	known   []*store.KnownHistories
}

func (st *accountRecompute) addKnown(k *store.KnownHistories) {
	st.knownMu.Lock()
	defer st.knownMu.Unlock()
	st.known = append(st.known, k)
}

func (st *accountRecompute) removeKnown(k *store.KnownHistories) {
	st.knownMu.Lock()
	defer st.knownMu.Unlock()
	st.known = slices.DeleteFunc(st.known, func(x *store.KnownHistories) bool { return x == k })
}

func (st *accountRecompute) knownSet() store.KnownSet {
	st.knownMu.Lock()
	defer st.knownMu.Unlock()
	return slices.Clone(st.known)
}

// writeNotes is what a write tells the recomputation that follows it:
// the histories it stored, when it knows them whole (a bulk import).
type writeNotes struct {
	known *store.KnownHistories
}

type writeNotesKey struct{}

// noteKnown hands the recomputation after this write the histories it
// stored.
func noteKnown(r *http.Request, known *store.KnownHistories) {
	if n, ok := r.Context().Value(writeNotesKey{}).(*writeNotes); ok {
		n.known = known
	}
}

// recompute brings the account's marked customers up to date, logging
// what it could not do; known are histories the write knows (nil: read
// them all).
func (a *API) recompute(r *http.Request, known *store.KnownHistories) {
	v, _ := a.recomputing.LoadOrStore(account(r).ID, &accountRecompute{})
	st := v.(*accountRecompute)
	if known != nil {
		// Before seen: a pass that covers this write finds them.
		st.addKnown(known)
		defer st.removeKnown(known)
	}
	seen := st.begun.Load() // this write is committed: a pass begun after now covers it
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.begun.Load() > seen {
		return // and, holding the lock, it has finished
	}
	st.begun.Add(1)
	log := logger(r.Context())
	// The write is committed: a client that hangs up does not stop its
	// customers being recomputed. (The store re-runs a transaction that
	// loses a race; what still fails is left to the background pass.)
	ctx := context.WithoutCancel(r.Context())
	start := time.Now()
	rep, err := recompute.DirtyKnown(ctx, a.store, account(r).ID, store.PendingFresh, recompute.NewStoreRates(ctx, a.store), st.knownSet())
	a.opts.Telemetry.Recomputed(telemetry.TriggerWrite, rep.Recomputed, len(rep.Failed), time.Since(start))
	for _, f := range rep.Failed {
		log.Warn("recomputation failed; the customer keeps its previous results until a retry succeeds",
			"customer", f.CustomerUUID, "error", f.Err)
	}
	if err != nil {
		log.Error("recomputation after a write failed; the background pass will retry", "error", err)
	}
}

// rateError answers a computation that needed an exchange rate Tally does
// not have with a 422 naming the pair and date, as an import needing it is
// answered (metrics.md rule 20): no figure is published half converted. A
// failure to load rates stays a server error.
func rateError(rates *recompute.StoreRates, err error) error {
	if rerr := rates.Err(); rerr != nil {
		return rerr
	}
	var missing *metrics.MissingRateError
	if errors.As(err, &missing) {
		return errField("currency", missing.Error()+"; load rates with `tally fx import`.")
	}
	return err
}
