package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/tally-analytics/tally/internal/store"
)

// healthTimeout bounds the database's answer to a readiness check: a load
// balancer asks often and must hear "not ready" rather than nothing.
const healthTimeout = 2 * time.Second

// startup is closed once the start-up recomputation is done: until then
// the server answers its health checks and holds every other request.
type startup chan struct{}

func (s startup) done() bool {
	if s == nil {
		return true
	}
	select {
	case <-s:
		return true
	default:
		return false
	}
}

// health answers the unauthenticated checks of load balancers and
// orchestrators (issue 14). /healthz: the process is up. /readyz: the
// database answers, has every migration this build knows, and the
// start-up recomputation is done; 503 otherwise. Neither names an account
// or tells more than which check failed.
type health struct {
	store   *store.Store
	started startup
}

func (h health) serve(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeHealth(w, http.StatusMethodNotAllowed, map[string]any{"status": "method not allowed"})
		return true
	}
	if r.URL.Path == "/healthz" {
		writeHealth(w, http.StatusOK, map[string]any{"status": "ok"})
		return true
	}
	checks, ready := h.check(r.Context())
	status, code := "ready", http.StatusOK
	if !ready {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	writeHealth(w, code, map[string]any{"status": status, "checks": checks})
	return true
}

func (h health) check(ctx context.Context) (map[string]string, bool) {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	checks := map[string]string{"database": "ok", "migrations": "ok", "startup": "ok"}
	ready := true
	if err := h.store.Ping(ctx); err != nil {
		checks["database"], checks["migrations"], ready = "unreachable", "unknown", false
	} else if ok, err := h.store.Migrated(ctx); err != nil {
		checks["migrations"], ready = "unknown", false
	} else if !ok {
		checks["migrations"], ready = "pending", false
	}
	if !h.started.done() {
		checks["startup"], ready = "recomputing", false
	}
	return checks, ready
}

func writeHealth(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
