package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// checkpointInterval is how often the WAL is copied back into the
// database file. Between two runs the WAL holds what was written since
// the last: at bulk-import rates, tens of megabytes at most.
const checkpointInterval = 250 * time.Millisecond

// walRestartFrames is the WAL size, in pages, past which a checkpoint
// makes it start over (16,384 pages of 4 KiB: 64 MiB).
const walRestartFrames = 16384

// checkpointer runs SQLite's WAL checkpoints on its own connection, so
// that no request waits for one. PASSIVE never blocks readers or the
// writer; what it cannot copy yet (a reader still needs it) waits for the
// next run.
type checkpointer struct {
	db   *sql.DB
	quit chan struct{}
	wg   sync.WaitGroup
}

func startCheckpointer(ctx context.Context, dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	c := &checkpointer{db: db, quit: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-tick.C:
			// A failure (the disk full, say) is retried on the next tick;
			// the WAL keeps every commit meanwhile.
			var busy, frames, copied int
			if err := c.db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
				continue
			}
			if frames > walRestartFrames {
				// Under a steady load some reader always holds a snapshot,
				// so PASSIVE copies the WAL back but it never starts over:
				// a 10-minute run at 200 requests/s grew it to 2.7 GB, and
				// every request slowed with it. TRUNCATE waits (up to the
				// busy timeout) for the readers on old snapshots to finish,
				// holding new writers back that long, then empties it.
				_, _ = c.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
			}
		}
	}
}

// stop ends the loop and closes its connection; the last connection to
// close checkpoints whatever is left.
func (c *checkpointer) stop() error {
	close(c.quit)
	c.wg.Wait()
	return c.db.Close()
}
