package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

type requestIDKey struct{}
type loggerKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusWriter remembers the status for the access log, and puts the
// write deadline on the connection when the answer starts (and again at
// each write, so a long download that progresses goes on): a client that
// stops reading is cut off after --write-timeout, and the handler it
// held returns. The deadline starts with the answer, not the request, so
// a long write is never cut off before it has answered.
type statusWriter struct {
	http.ResponseWriter
	status  int
	rc      *http.ResponseController
	timeout time.Duration
	// body is the request's body, nil when it had none.
	body *bodyReader
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.start()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.start()
	}
	w.extend()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// start runs as the answer's header goes out. A body still unread then
// will not be read: the connection is closed after the answer instead of
// drained, and its read deadline expires at once so nothing waits for
// bytes a client may never send (the issue: an unauthenticated request
// declaring a body held its connection for the whole read timeout).
func (w *statusWriter) start() {
	w.extend()
	if w.body != nil && !w.body.done {
		w.Header().Set("Connection", "close")
		_ = w.rc.SetReadDeadline(time.Now())
	}
}

func (w *statusWriter) extend() {
	if w.timeout > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

// bodyReader notes when the request body has been read to its end.
type bodyReader struct {
	io.ReadCloser
	done bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done = true
	}
	return n, err
}

// edge is the outermost layer: a request id, the access log, panic
// recovery and the body limit. Logging happens here once.
func (a *API) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		log := a.log.With("request_id", id)
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey{}, id), loggerKey{}, log)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: a.opts.WriteTimeout}
		if sw.timeout > 0 {
			// The previous answer's deadline stays on a kept-alive
			// connection; until this answer starts there is none.
			_ = sw.rc.SetWriteDeadline(time.Time{})
		}
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			// The body must arrive within --body-timeout. (Only with a
			// body: once it is read, the server clears the deadline
			// itself; without one, a deadline would cancel the request
			// when its background read hits it.)
			if a.opts.BodyTimeout > 0 {
				_ = sw.rc.SetReadDeadline(time.Now().Add(a.opts.BodyTimeout))
			}
			sw.body = &bodyReader{ReadCloser: r.Body}
			r.Body = sw.body
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", p)
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, errInternal(id).Body)
				}
			}
			log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"duration_ms", time.Since(start).Milliseconds())
		}()
		r.Body = http.MaxBytesReader(sw, r.Body, a.opts.MaxBodyBytes)
		next.ServeHTTP(sw, r)
	})
}

// authenticate resolves the API key (api.md rule 2), refuses writes from
// read keys and applies the per-key rate limit (rule 6).
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A client without a valid key keeps no connection: idle ones
		// would otherwise fill the connection cap for the idle timeout.
		key, ok := auth.FromRequest(r)
		if !ok {
			w.Header().Set("Connection", "close")
			writeError(w, r, errUnauthorized())
			return
		}
		k, acct, err := a.store.KeyByHash(r.Context(), auth.Hash(key))
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("Connection", "close")
			writeError(w, r, errUnauthorized())
			return
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := a.loadIDs(r.Context()); err != nil {
			writeError(w, r, err)
			return
		}
		p := auth.Principal{Key: k, Account: acct}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !p.CanWrite() {
			writeError(w, r, errReadOnly())
			return
		}
		if lim := a.limiter(k.ID); lim != nil {
			if res := lim.Reserve(); res.Delay() > 0 {
				res.Cancel()
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(res.Delay().Seconds()+0.999))))
				writeError(w, r, errRateLimited())
				return
			}
		}
		ctx := context.WithValue(auth.With(r.Context(), p), idsKey{}, a.ids.Load())
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limiters holds one token bucket per API key.
type limiters struct {
	mu sync.Mutex
	m  map[int64]*rate.Limiter
}

func (a *API) limiter(keyID int64) *rate.Limiter {
	if a.opts.RateLimit <= 0 {
		return nil
	}
	a.limits.mu.Lock()
	defer a.limits.mu.Unlock()
	l, ok := a.limits.m[keyID]
	if !ok {
		l = rate.NewLimiter(rate.Limit(a.opts.RateLimit), a.opts.RateBurst)
		a.limits.m[keyID] = l
	}
	return l
}

// inFlight counts each key's requests in flight to expensive endpoints;
// a key with none has no entry, so the map is as large as the keys busy
// at the moment.
type inFlight struct {
	mu sync.Mutex
	n  map[int64]int
}

// acquire takes one of the key's max places, reporting whether one was
// free.
func (f *inFlight) acquire(keyID int64, max int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[keyID] >= max {
		return false
	}
	f.n[keyID]++
	return true
}

func (f *inFlight) release(keyID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[keyID]--; f.n[keyID] <= 0 {
		delete(f.n, keyID)
	}
}

// expensive bounds the requests one key has in flight at once to an
// endpoint whose memory and time grow with the account: beyond
// --max-in-flight, 429 with Retry-After, in the rate limit's shape. The
// token bucket bounds how often a key may ask; this bounds how much of
// the server it may hold at once.
func (a *API) expensive(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := principal(r).Key.ID
		if !a.inFlight.acquire(id, a.opts.MaxInFlight) {
			w.Header().Set("Retry-After", "1")
			writeError(w, r, errTooManyInFlight(a.opts.MaxInFlight))
			return
		}
		defer a.inFlight.release(id)
		next.ServeHTTP(w, r)
	})
}

// jsonMux answers the mux's own 404 and 405 in ChartMogul's JSON instead of
// the mux's plain text.
func jsonMux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The mux redirects unclean paths (`/v1/customers//attributes`) to
		// their clean form; following one could land a write on another
		// endpoint, so such a path is simply unknown.
		if p := r.URL.Path; p != path.Clean(p) {
			writeError(w, r, errRouteNotFound(p))
			return
		}
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &statusProbe{header: w.Header()}
		h.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusMethodNotAllowed:
			writeError(w, r, errMethodNotAllowed(r.Method))
		default:
			writeError(w, r, errRouteNotFound(r.URL.Path))
		}
	})
}

// statusProbe runs the mux's fallback handler to learn its status (and
// keep headers such as Allow and Location) while dropping its text body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

// principal is the authenticated caller; authenticate guarantees it.
func principal(r *http.Request) auth.Principal {
	p, _ := auth.From(r.Context())
	return p
}

func account(r *http.Request) billing.Account { return principal(r).Account }

// handler adapts a handler that returns an error.
type handler func(w http.ResponseWriter, r *http.Request) error

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, r, err)
	}
}
