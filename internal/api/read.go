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
	if err := a.loadIDs(ctx); err != nil {
		return nil, err
	}
	// The key's rate limit, as authenticate applies it over HTTP (a
	// share link counts as a key of its own).
	if lim := a.limiter(p.Key.ID); lim != nil {
		if res := lim.Reserve(); res.Delay() > 0 {
			res.Cancel()
			e := errRateLimited()
			body, _ := json.Marshal(e.Body)
			return nil, &ReadError{Status: e.Status, Body: body}
		}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	ctx = context.WithValue(context.WithValue(ctx, requestIDKey{}, id), loggerKey{}, a.log.With("request_id", id))
	ctx = context.WithValue(auth.With(ctx, p), idsKey{}, a.ids.Load())
	u := &url.URL{Path: path, RawQuery: q.Encode()}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	rec := &recorder{header: http.Header{}}
	if err := a.serveRead(rec, r); err != nil {
		return nil, err
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status != http.StatusOK || !strings.HasPrefix(rec.header.Get("Content-Type"), "application/json") {
		return nil, &ReadError{Status: rec.status, Body: rec.body.Bytes()}
	}
	return rec.body.Bytes(), nil
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

// serveRead runs the read, turning a panic into an error as the edge
// middleware turns one into a logged 500.
func (a *API) serveRead(w *recorder, r *http.Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("panic", "path", r.URL.Path, "panic", p, "request_id", requestID(r.Context()))
			err = fmt.Errorf("read %s: panic: %v", r.URL.Path, p)
		}
	}()
	a.reads.ServeHTTP(w, r)
	return nil
}
