package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
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
func Recover(ctx context.Context, s *store.Store, log *slog.Logger) error {
	start := time.Now()
	reps, err := recompute.Pending(ctx, s, store.PendingAll)
	n := logReports(log, reps)
	if n > 0 {
		log.Info("recomputed customers a previous run left marked", "customers", n, "duration_ms", time.Since(start).Milliseconds())
	}
	return errors.Join(err, refreshStatuses(ctx, s))
}

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
func retryPending(ctx context.Context, s *store.Store, log *slog.Logger) {
	t := time.NewTicker(retryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		reps, err := recompute.Pending(ctx, s, store.PendingDue)
		logReports(log, reps)
		err = errors.Join(err, refreshStatuses(ctx, s))
		if err != nil && ctx.Err() == nil {
			log.Error("background recomputation failed; it is tried again", "error", err)
		}
	}
}

func logReports(log *slog.Logger, reps map[string]store.RecomputeReport) (recomputed int) {
	for name, rep := range reps {
		recomputed += rep.Recomputed
		for _, f := range rep.Failed {
			log.Warn("recomputation failed; the customer keeps its previous results until a retry succeeds",
				"account", name, "customer", f.CustomerUUID, "error", f.Err)
		}
	}
	return recomputed
}
