package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/store"
)

// Error is an answer other than success: a status and the body ChartMogul
// sends for it. Cause is logged, never sent.
type Error struct {
	Status int
	Body   any
	Cause  error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Cause.Error()
	}
	b, _ := json.Marshal(e.Body)
	return string(b)
}

// codeBody is api-reference.md §1.4 shape 1 (auth, search, transport errors).
type codeBody struct {
	Code    int     `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
}

func coded(status int, msg string, param string) *Error {
	b := codeBody{Code: status, Message: msg}
	if param != "" {
		b.Param = &param
	}
	return &Error{Status: status, Body: b}
}

func errUnauthorized() *Error { return coded(http.StatusUnauthorized, "No valid API key provided", "") }

func errReadOnly() *Error {
	return coded(http.StatusForbidden, "This API key has read-only access and cannot change data.", "")
}

func errRouteNotFound(path string) *Error {
	return coded(http.StatusNotFound, "The requested resource "+path+" does not exist.", "")
}

func errMethodNotAllowed(method string) *Error {
	return coded(http.StatusMethodNotAllowed, "Method "+method+" is not allowed on this resource.", "")
}

func errBadRequest(msg, param string) *Error { return coded(http.StatusBadRequest, msg, param) }

func errTooLarge(limit int64) *Error {
	return coded(http.StatusRequestEntityTooLarge, "The request body is larger than the limit of "+humanBytes(limit)+".", "")
}

func errRateLimited() *Error {
	return coded(http.StatusTooManyRequests, "Your request rate has exceeded our rate limit.", "")
}

func errTooManyInFlight(max int) *Error {
	return coded(http.StatusTooManyRequests, "This API key already has "+itoa(int64(max))+
		" requests in flight, the most it may have (--max-in-flight): retry when one has finished.", "")
}

func errInternal(id string) *Error {
	return coded(http.StatusInternalServerError, "Internal server error (request "+id+").", "")
}

// errNotFound is shape 3, `{"error":"Data source not found"}`.
func errNotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Body: map[string]string{"error": capitalize(what) + " not found"}}
}

// errInvalid is the Import API's 422 shape 2, `{"errors":{"field":"message"}}`.
func errInvalid(fe billing.FieldErrors) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Body: map[string]billing.FieldErrors{"errors": fe}}
}

func errField(field, msg string) *Error { return errInvalid(billing.FieldErrors{field: msg}) }

// writeError sends err as ChartMogul would. Anything not recognised as a
// client's mistake is logged and answered with a generic 500.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var fe billing.FieldErrors
	var missing *store.MissingError
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &fe):
		e = errInvalid(fe)
	case errors.As(err, &missing):
		e = errNotFound(missing.What)
	case errors.As(err, &conflict):
		e = errField(conflict.Field, "has already been taken")
	case errors.Is(err, store.ErrCurrencyChanged):
		// Rates were checked against the currency this request read; a
		// change committed before the write (issue 10).
		e = errField("currency", "The account currency changed while this request was being checked; send it again.")
	case errors.Is(err, money.ErrOverflow):
		// Each amount is bounded, so only very many of them at the bound
		// get here: the stored data, not Tally, is at fault.
		e = errField("amount_in_cents", "The amounts add up beyond what Tally can count (±2^59 minor units); nothing is published wrapped.")
	default:
		e = &Error{Cause: err}
	}
	if e.Status == 0 || e.Status >= 500 {
		id := requestID(r.Context())
		logger(r.Context()).Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		if e.Status == 0 {
			e = errInternal(id)
		}
	}
	writeJSON(w, e.Status, e.Body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	var b []byte
	if body != nil {
		// Encoded before the status goes out: a body that cannot be
		// encoded is a server bug, and the recovery in front of every
		// handler answers it with a logged 500 instead of an empty 200.
		var err error
		if b, err = json.Marshal(body); err != nil {
			panic(fmt.Sprintf("encode a %d answer: %v", status, err))
		}
		b = append(b, '\n')
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// noContent answers 204 with no body, as ChartMogul's deletes do.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// logger returns the request's logger (set by the middleware) or the default.
func logger(ctx interface{ Value(any) any }) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
