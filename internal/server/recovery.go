package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/telemetry"
)

// retryInterval is how often the background pass looks for customers left
// marked: by a request whose recomputation failed on the database, by a
// failed computation whose retry is due, or by another server of the same
// PostgreSQL that stopped mid-way; and for stored statuses that time has
// changed (the status filter of the customer list lags them by at most
// this much).
const retryInterval = 10 * time.Second

// Recover recomputes every customer a crash left marked (a write commits
// its data and its marks together, then recomputes; kill -9 in between
// leaves the marks), so that no stale number is ever served: Run calls it
// before it listens. Customers the engine refuses are logged and keep
// their previous results; only a database failure is returned.
func Recover(ctx context.Context, s *store.Store, log *slog.Logger) (Recovered, error) {
	start := time.Now()
	reps, err := recompute.Pending(ctx, s, store.PendingAll)
	n := logReports(log, reps)
	if n.Recomputed > 0 {
		log.Info("recomputed customers a previous run left marked", "customers", n.Recomputed, "duration_ms", time.Since(start).Milliseconds())
	}
	return n, errors.Join(err, refreshStatuses(ctx, s))
}

// Recovered counts what a pass over every account did: customers
// recomputed, and customers the engine refused (kept for a retry).
type Recovered struct{ Recomputed, Failed int }

// refreshStatuses brings up to date every stored customer status that
// time alone has changed since it was written (a cancellation taking
// effect at a period's end), a few thousand at a time.
func refreshStatuses(ctx context.Context, s *store.Store) error {
	for {
		n, err := s.RefreshStatuses(ctx, time.Now())
		if err != nil || n == 0 {
			return err
		}
	}
}

// retryPending runs the background pass until ctx ends.
func retryPending(ctx context.Context, s *store.Store, log *slog.Logger, tel *telemetry.Metrics) {
	t := time.NewTicker(retryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		reps, err := recompute.Pending(ctx, s, store.PendingDue)
		if n := logReports(log, reps); n.Recomputed+n.Failed > 0 {
			tel.Recomputed(telemetry.TriggerBackground, n.Recomputed, n.Failed, time.Since(start))
		}
		err = errors.Join(err, refreshStatuses(ctx, s))
		if err != nil && ctx.Err() == nil {
			log.Error("background recomputation failed; it is tried again", "error", err)
		}
	}
}

func logReports(log *slog.Logger, reps map[string]store.RecomputeReport) (n Recovered) {
	for name, rep := range reps {
		n.Recomputed += rep.Recomputed
		n.Failed += len(rep.Failed)
		for _, f := range rep.Failed {
			log.Warn("recomputation failed; the customer keeps its previous results until a retry succeeds",
				"account", name, "customer", f.CustomerUUID, "error", f.Err)
		}
	}
	return n
}
