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
			_, _ = c.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
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
