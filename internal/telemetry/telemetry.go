// Package telemetry holds what Tally reports to Prometheus (issue 14):
// requests by route pattern and status with their latency, recomputations,
// customers waiting for one, the results cache, the database pools and the
// Go runtime. A server makes one Metrics and serves it on the opt-in
// --metrics-addr listener; every method is safe on a nil *Metrics, so
// code that records needs no check and tests need no registry.
package telemetry

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's set of Prometheus metrics, on its own registry.
type Metrics struct {
	registry *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	recomputePasses    *prometheus.CounterVec
	recomputed         *prometheus.CounterVec
	recomputeFailures  *prometheus.CounterVec
	recomputeDurations *prometheus.HistogramVec

	cacheAccounts  prometheus.Gauge
	cacheCustomers prometheus.Gauge
	cacheLoads     *prometheus.CounterVec
	cacheLoaded    prometheus.Counter
	snapshots      *prometheus.CounterVec
}

// Trigger names what started a recomputation.
type Trigger string

// The triggers of a recomputation.
const (
	TriggerWrite      Trigger = "write"      // a write's own, before it answers
	TriggerBackground Trigger = "background" // the retry pass
	TriggerStartup    Trigger = "startup"    // what the last run left marked
)

// Source is what the store tells at scrape time.
type Source interface {
	// DirtyCustomers counts the customers marked for recomputation.
	DirtyCustomers(ctx context.Context) (int, error)
	// Pools names the database connection pools.
	Pools() map[string]*sql.DB
}

// scrapeTimeout bounds the store's answer to one scrape: a database in
// trouble must not hold the scraper.
const scrapeTimeout = 2 * time.Second

// New makes a server's metrics, reading dirty customers and pool use from
// src at each scrape.
func New(src Source) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tally_http_requests_total",
		Help: "HTTP requests answered, by route pattern (\"unmatched\" for none) and status code.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tally_http_request_duration_seconds",
		Help:    "Time from a request's arrival to its answer's end, by route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route"})
	m.recomputePasses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tally_recompute_passes_total",
		Help: "Recomputation passes run, by trigger (write, background, startup).",
	}, []string{"trigger"})
	m.recomputed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tally_recomputed_customers_total",
		Help: "Customers recomputed, by trigger.",
	}, []string{"trigger"})
	m.recomputeFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tally_recompute_failures_total",
		Help: "Customers the engine could not recompute (kept for a retry), by trigger.",
	}, []string{"trigger"})
	m.recomputeDurations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tally_recompute_duration_seconds",
		Help:    "Duration of a recomputation pass, by trigger.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"trigger"})
	m.cacheAccounts = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tally_results_cache_accounts",
		Help: "Accounts whose results the Metrics API's cache holds.",
	})
	m.cacheCustomers = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tally_results_cache_customers",
		Help: "Customers whose results the Metrics API's cache holds.",
	})
	m.cacheLoads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tally_results_cache_loads_total",
		Help: "Loads of the results cache from the database: full (an account's first use or a reset) or incremental (changed customers).",
	}, []string{"kind"})
	m.cacheLoaded = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tally_results_cache_customers_loaded_total",
		Help: "Customers' results read into the cache.",
	})
	m.snapshots = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tally_cache_snapshots_total",
		Help: "Snapshots of the results cache written for faster starts, by kind (results, cash) and result (written, failed).",
	}, []string{"kind", "result"})
	dirty := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tally_dirty_customers",
		Help: "Customers marked for recomputation and not yet recomputed (-1 when the database did not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		n, err := src.DirtyCustomers(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	m.registry.MustRegister(m.requests, m.latency, m.recomputePasses, m.recomputed, m.recomputeFailures, m.recomputeDurations,
		m.cacheAccounts, m.cacheCustomers, m.cacheLoads, m.cacheLoaded, m.snapshots, dirty,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for name, db := range src.Pools() {
		m.registry.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Recomputed records one recomputation pass.
func (m *Metrics) Recomputed(t Trigger, customers, failed int, d time.Duration) {
	if m == nil {
		return
	}
	m.recomputePasses.WithLabelValues(string(t)).Inc()
	m.recomputed.WithLabelValues(string(t)).Add(float64(customers))
	m.recomputeFailures.WithLabelValues(string(t)).Add(float64(failed))
	m.recomputeDurations.WithLabelValues(string(t)).Observe(d.Seconds())
}

// CacheAccount records an account added to the results cache.
func (m *Metrics) CacheAccount() {
	if m != nil {
		m.cacheAccounts.Inc()
	}
}

// CacheLoaded records a load of the results cache: full or incremental,
// the customers read, and the change in the customers it holds.
func (m *Metrics) CacheLoaded(full bool, read, held int) {
	if m == nil {
		return
	}
	kind := "incremental"
	if full {
		kind = "full"
	}
	m.cacheLoads.WithLabelValues(kind).Inc()
	m.cacheLoaded.Add(float64(read))
	m.cacheCustomers.Add(float64(held))
}

// Snapshot records a snapshot write of the results cache.
func (m *Metrics) Snapshot(kind string, err error) {
	if m == nil {
		return
	}
	result := "written"
	if err != nil {
		result = "failed"
	}
	m.snapshots.WithLabelValues(kind, result).Inc()
}

// routeKey is the context key of a request's route note.
type routeKey struct{}

// routeNote is where the handler that routes a request writes the pattern
// it matched, for Instrument, which runs outside it, to read.
type routeNote struct{ pattern string }

// NoteRoute records the route a request is counted under, for a handler
// that routes without a mux (the health checks; muxes use Routed).
// Without Instrument around it it does nothing.
func NoteRoute(r *http.Request, pattern string) {
	if n, ok := r.Context().Value(routeKey{}).(*routeNote); ok {
		n.pattern = pattern
	}
}

// Routed serves next, first noting for Instrument the pattern the request
// matches in m. It matches only when Instrument asked (a note is in the
// request's context), so a server without metrics routes once. Of nested
// muxes the inner one's pattern, noted last, wins.
func Routed(m *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, ok := r.Context().Value(routeKey{}).(*routeNote); ok {
			_, n.pattern = m.Handler(r)
		}
		next.ServeHTTP(w, r)
	})
}

// Instrument counts and times every request next answers, by the route
// pattern it matched: patterns, not paths, so that the labels stay few
// whatever clients send.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		note := &routeNote{}
		sw := &StatusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, note)))
		route := note.pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.Status == 0 {
			sw.Status = http.StatusOK
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.Status)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// StatusWriter remembers the status an answer was given (0 before it
// starts). It forwards Flush and exposes the writer underneath for
// http.ResponseController (deadlines of long downloads).
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *StatusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
