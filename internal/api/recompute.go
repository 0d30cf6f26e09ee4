package api

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/recompute"
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

// currentAtOnce makes every successful write recompute the customers it
// touched before its response goes out, so the next metrics request
// reflects it (api.md rule 3, issue 5: ChartMogul says minutes, Tally
// zero).
func (a *API) currentAtOnce(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		buf := &bufferedWriter{header: w.Header()}
		next.ServeHTTP(buf, r)
		if buf.status >= 200 && buf.status < 300 {
			if err := a.recompute(r); err != nil {
				writeError(w, r, err)
				return
			}
		}
		if buf.status != 0 {
			w.WriteHeader(buf.status)
		}
		_, _ = w.Write(buf.body.Bytes())
	})
}

// recompute brings the account's dirty customers up to date.
func (a *API) recompute(r *http.Request) error {
	// The account as it is now: a settings change applies at once.
	acct, err := a.store.Account(r.Context(), account(r).ID)
	if err != nil {
		return err
	}
	rates := recompute.NewStoreRates(r.Context(), a.store)
	_, err = recompute.Dirty(r.Context(), a.store, acct, rates)
	// Imports check rates first; a missing one here is a history that lost one.
	return rateError(rates, err)
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
