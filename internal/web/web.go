package web

import (
	"context"
	"embed"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/telemetry"
)

// Reader answers the API's GET endpoints in process (api.API.Read).
type Reader interface {
	Read(ctx context.Context, p auth.Principal, path string, q url.Values) ([]byte, error)
}

// Writer answers the API's writes in process (api.API.Write): the saved
// segments are the API's, and the dashboard changes them through it, with
// the API's own validation and answers, as it reads every number through
// the Reader.
type Writer interface {
	Write(ctx context.Context, p auth.Principal, method, path string, body []byte) ([]byte, error)
}

// Options configure the dashboard.
type Options struct {
	Logger *slog.Logger
	// TrustProxy believes X-Forwarded-Proto: https from the proxy in
	// front, for the session cookie's Secure flag.
	TrustProxy bool
	// PublicURL is where people reach the server (--public-url), for the
	// share links it hands out; empty: from each request.
	PublicURL string
	// SessionLifetime is how long a sign-in lasts; default 14 days.
	SessionLifetime time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

//go:embed static
var staticFS embed.FS

//go:embed templates
var templateFS embed.FS

// Web serves the dashboard.
type Web struct {
	store *store.Store
	read  Reader
	// write is the Reader's Writer, nil when it has none (the segment
	// forms then say so).
	write  Writer
	opts   Options
	log    *slog.Logger
	pages  *templates
	signIn *signInLimiter
}

// New returns the dashboard as one handler, for every path but /v1/.
func New(s *store.Store, rd Reader, opts Options) http.Handler {
	return newWeb(s, rd, opts).handler()
}

func newWeb(s *store.Store, rd Reader, opts Options) *Web {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.SessionLifetime <= 0 {
		opts.SessionLifetime = 14 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Web{store: s, read: rd, opts: opts, log: opts.Logger, pages: mustTemplates(), signIn: newSignInLimiter()}
	w.write, _ = rd.(Writer)
	return w
}

func (w *Web) handler() http.Handler {
	static, _ := fs.Sub(staticFS, "static")
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(http.FileServerFS(static))))
	m.Handle("GET /login", handler(w.loginPage))
	m.Handle("POST /login", handler(w.login))
	m.Handle("GET /login/{token}", handler(w.loginLinkPage))
	m.Handle("POST /login/{token}", handler(w.loginLink))
	m.Handle("POST /logout", w.session(handler(w.logout)))
	m.Handle("/share/{token}/", w.share(w.pageMux()))
	m.Handle("/", w.session(w.pageMux()))
	// Go's cross-origin protection refuses a state-changing request a
	// browser sent from another site (Sec-Fetch-Site, Origin); the
	// session's token (csrf.go) covers browsers that send neither.
	cop := http.NewCrossOriginProtection()
	return w.edge(cop.Handler(telemetry.Routed(m, m)))
}

// pageMux holds the pages, at paths relative to the viewer's base (/ for
// a session, /share/TOKEN/ for a share link).
func (w *Web) pageMux() http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /{$}", handler(w.home))
	m.Handle("GET /metrics/{name}", handler(w.metric))
	m.Handle("GET /metrics/cohorts", handler(w.cohorts))
	m.Handle("GET /metrics/cohorts.csv", handler(w.cohorts))
	m.Handle("GET /metrics/cohorts/customers", handler(w.cohortCustomers))
	m.Handle("GET /metrics/cohorts/customers.csv", handler(w.cohortCustomers))
	m.Handle("GET /segments", handler(w.segmentsPage))
	m.Handle("POST /segments", w.writes(handler(w.createSegment)))
	m.Handle("POST /segments/{uuid}", w.writes(handler(w.updateSegment)))
	m.Handle("POST /segments/{uuid}/delete", w.writes(handler(w.deleteSegment)))
	m.Handle("GET /customers", handler(w.customers))
	m.Handle("GET /customers.csv", handler(w.customers))
	m.Handle("GET /customers/{uuid}", handler(w.customer))
	m.Handle("GET /activities", handler(w.activities))
	m.Handle("GET /activities.csv", handler(w.activities))
	m.Handle("GET /activities/{uuid}", handler(w.activity))
	m.Handle("GET /settings", handler(w.settings))
	m.Handle("POST /settings/share", w.writes(handler(w.createShare)))
	m.Handle("POST /settings/share/{uuid}/revoke", w.writes(handler(w.revokeShare)))
	m.Handle("GET /live", handler(w.live))
	m.Handle("/", handler(func(rw http.ResponseWriter, r *http.Request) error { return errNotFound }))
	return telemetry.Routed(m, m)
}

// staticFiles marks the embedded assets cacheable for a while: they change
// only with the binary.
func staticFiles(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(rw, r)
	})
}

// edge is the outermost layer: security headers, the access log and
// panic recovery.
func (w *Web) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := rw.Header()
		// No inline script or style anywhere: charts read their data
		// from JSON blocks the scripts parse.
		h.Set("Content-Security-Policy", csp(false))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		sw := &telemetry.StatusWriter{ResponseWriter: rw}
		r = r.WithContext(context.WithValue(r.Context(), webKey{}, w))
		// The dashboard's forms are a few fields.
		r.Body = http.MaxBytesReader(sw, r.Body, 64<<10)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				w.log.Error("panic", "method", r.Method, "path", redactPath(r.URL.Path), "panic", p)
				if sw.Status == 0 {
					http.Error(sw, "Internal server error.", http.StatusInternalServerError)
				}
			}
			level := slog.LevelInfo
			if strings.HasSuffix(r.URL.Path, "/live") && sw.Status == http.StatusOK {
				level = slog.LevelDebug // an open page polls once a second
			}
			w.log.Log(r.Context(), level, "page", "method", r.Method, "path", redactPath(r.URL.Path), "status", sw.Status,
				"duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// csp is the Content-Security-Policy of every answer; embed lets any site
// frame the page (an embeddable share link).
func csp(embed bool) string {
	frame := "'none'"
	if embed {
		frame = "*"
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors " + frame
}

// handler adapts a page that returns an error.
type handler func(w http.ResponseWriter, r *http.Request) error
