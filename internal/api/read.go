package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tally-analytics/tally/internal/auth"
)

// ReadError is an answer of Read other than 200: the status and the JSON
// body the API would have sent.
type ReadError struct {
	Status int
	Body   []byte
}

func (e *ReadError) Error() string {
	return "api answered " + http.StatusText(e.Status) + ": " + string(e.Body)
}

// StatusCode is the answer's HTTP status.
func (e *ReadError) StatusCode() int { return e.Status }

// Message is what the answer's body says, in any of ChartMogul's error
// shapes: the message, the "not found" text, or the field errors.
func (e *ReadError) Message() string {
	var b struct {
		Message string            `json:"message"`
		Error   string            `json:"error"`
		Errors  map[string]string `json:"errors"`
	}
	_ = json.Unmarshal(e.Body, &b)
	switch {
	case b.Message != "":
		return b.Message
	case b.Error != "":
		return b.Error
	}
	var parts []string
	for k, v := range b.Errors {
		parts = append(parts, k+": "+v)
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return http.StatusText(e.Status)
	}
	return strings.Join(parts, "; ")
}

// Read answers GET path?q for p exactly as the API answers it over HTTP:
// the same routes, handlers and limits (a key's --max-in-flight included),
// and the same JSON bytes. The dashboard reads every number through it,
// so a page, its CSV and the API cannot disagree: there is one
// computation. path is a /v1 path; an answer other than 200 is a
// *ReadError.
func (a *API) Read(ctx context.Context, p auth.Principal, path string, q url.Values) ([]byte, error) {
	u := &url.URL{Path: path, RawQuery: q.Encode()}
	rec, err := a.inProcess(ctx, p, http.MethodGet, u.String(), nil, a.reads)
	if err != nil {
		return nil, err
	}
	if rec.status != http.StatusOK || !strings.HasPrefix(rec.header.Get("Content-Type"), "application/json") {
		return nil, &ReadError{Status: rec.status, Body: rec.body.Bytes()}
	}
	return rec.body.Bytes(), nil
}

// Write answers a write (POST, PATCH, PUT or DELETE of a JSON body) to
// path for p as the API answers it over HTTP: the same routes, handlers,
// checks (a read key is refused) and limits, the write's recomputation
// finished before it returns, and the same JSON bytes. The dashboard
// changes saved segments through it. An answer other than 2xx is a
// *ReadError.
func (a *API) Write(ctx context.Context, p auth.Principal, method, path string, body []byte) ([]byte, error) {
	if !p.CanWrite() {
		e := errReadOnly()
		b, _ := json.Marshal(e.Body)
		return nil, &ReadError{Status: e.Status, Body: b}
	}
	rec, err := a.inProcess(ctx, p, method, path, body, a.currentAtOnce(a.reads))
	if err != nil {
		return nil, err
	}
	if rec.status/100 != 2 || (rec.body.Len() > 0 && !strings.HasPrefix(rec.header.Get("Content-Type"), "application/json")) {
		return nil, &ReadError{Status: rec.status, Body: rec.body.Bytes()}
	}
	return rec.body.Bytes(), nil
}

// inProcess runs one request through h for p, with the key's rate limit
// as authenticate applies it over HTTP (a share link counts as a key of
// its own), a request id, and a panic turned into an error as the edge
// middleware turns one into a logged 500.
func (a *API) inProcess(ctx context.Context, p auth.Principal, method, target string, body []byte, h http.Handler) (rec *recorder, err error) {
	if err := a.loadIDs(ctx); err != nil {
		return nil, err
	}
	if lim := a.limiter(p.Key.ID); lim != nil {
		if res := lim.Reserve(); res.Delay() > 0 {
			res.Cancel()
			e := errRateLimited()
			b, _ := json.Marshal(e.Body)
			return nil, &ReadError{Status: e.Status, Body: b}
		}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	ctx = context.WithValue(context.WithValue(ctx, requestIDKey{}, id), loggerKey{}, a.log.With("request_id", id))
	ctx = context.WithValue(auth.With(ctx, p), idsKey{}, a.ids.Load())
	r, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	rec = &recorder{header: http.Header{}}
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("panic", "path", r.URL.Path, "panic", v, "request_id", id)
			rec, err = nil, fmt.Errorf("%s %s: panic: %v", method, r.URL.Path, v)
		}
	}()
	h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec, nil
}

// recorder keeps an in-process answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
