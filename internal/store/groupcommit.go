package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// SQLite runs one write transaction at a time, and each commit has a cost
// of its own whatever it wrote: the pages it changed are appended to the
// WAL (the index pages that every customer's rows share, again at every
// commit), and the page cache is swept. With clients sending one customer
// per request, a commit per write was a fifth of the server's time (issue
// 14). The writes waiting for the writer therefore commit together: the
// first to find none running leads, and runs every write waiting then in
// one transaction, each inside a savepoint of its own, and commits once.
//
//   - A write that fails is rolled back to its savepoint: it changes
//     nothing, and the others go on; it gets its own error.
//   - Each write is answered only after the commit: if the commit fails,
//     every write of the group gets the error, and none of them changed
//     anything.
//   - Should the transaction end under a write (SQLite rolls a whole
//     transaction back when a statement is interrupted, a client's
//     context ending), that write gets its error and the others of the
//     group run again in a new transaction (a transaction's fn may run
//     more than once: see tx).
//
// A lone write runs as before, without savepoints. PostgreSQL runs writes
// side by side and commits each on its own.

// maxGroup bounds the writes of one group, so that none waits for more
// than that many others.
const maxGroup = 32

// groupCommit queues the writes waiting for SQLite's writer.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupedTx
	leading bool // a leader is running a group, or handing over to the next
}

// groupedTx is one write of a group.
type groupedTx struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	err  error
	pan  any           // what fn panicked with, re-raised on its own goroutine
	done chan struct{} // closed once err is final
	lead chan struct{} // the write is to lead the next group
}

// grouped runs fn in a write transaction shared with the writes waiting
// at the same time, and returns once that transaction is committed or fn
// has failed.
func (s *Store) grouped(ctx context.Context, fn func(*sql.Tx) error) error {
	g := &s.group
	t := &groupedTx{ctx: ctx, fn: fn, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, t)
	if g.leading {
		g.mu.Unlock()
		select {
		case <-t.done:
			return t.result()
		case <-t.lead:
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	// Leading: every write waiting now, this one first.
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()
	s.commitGroup(batch)
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.leading = false
	} else {
		g.queue[0].lead <- struct{}{}
	}
	g.mu.Unlock()
	<-t.done
	return t.result()
}

func (t *groupedTx) result() error {
	if t.pan != nil {
		panic(t.pan)
	}
	return t.err
}

// commitGroup runs the writes in one transaction and commits it, then
// answers each.
func (s *Store) commitGroup(batch []*groupedTx) {
	for len(batch) > 0 {
		batch = s.commitGroupOnce(batch)
	}
}

// commitGroupOnce runs the writes of batch in one transaction; it returns
// those to run again in another (the transaction ended under a write) and
// answers the others.
func (s *Store) commitGroupOnce(batch []*groupedTx) (again []*groupedTx) {
	finish := func(ts []*groupedTx, err error) {
		for _, t := range ts {
			if t.err == nil && t.pan == nil {
				t.err = err
			}
			close(t.done)
		}
	}
	// The transaction is the group's: no one write's context ends it.
	ctx := context.WithoutCancel(batch[0].ctx)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		finish(batch, fmt.Errorf("begin: %w", err))
		return nil
	}
	if len(batch) == 1 {
		t := batch[0]
		if t.run(tx) != nil {
			_ = tx.Rollback()
			finish(batch, nil)
			return nil
		}
		finish(batch, commitErr(tx.Commit()))
		return nil
	}
	var ran []*groupedTx // those whose writes the transaction holds
	var failed []*groupedTx
	for i, t := range batch {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT grouped`); err != nil {
			_ = tx.Rollback()
			finish(batch[i:], fmt.Errorf("savepoint: %w", err))
			finish(failed, nil)
			return ran
		}
		if t.run(tx) == nil {
			if _, err := tx.ExecContext(ctx, `RELEASE grouped`); err != nil {
				_ = tx.Rollback()
				finish(batch[i:], fmt.Errorf("release savepoint: %w", err))
				finish(failed, nil)
				return ran
			}
			ran = append(ran, t)
			continue
		}
		failed = append(failed, t)
		_, err1 := tx.ExecContext(ctx, `ROLLBACK TO grouped`)
		_, err2 := tx.ExecContext(ctx, `RELEASE grouped`)
		if err1 != nil || err2 != nil {
			// The transaction ended under this write: the others run again.
			_ = tx.Rollback()
			finish(failed, nil)
			return append(ran, batch[i+1:]...)
		}
	}
	finish(failed, nil)
	finish(ran, commitErr(tx.Commit()))
	return nil
}

// run runs the write's fn in tx, keeping its error or panic.
func (t *groupedTx) run(tx *sql.Tx) (failed error) {
	defer func() {
		if p := recover(); p != nil {
			t.pan = p
			failed = fmt.Errorf("panic: %v", p)
		}
	}()
	t.err = t.fn(tx)
	return t.err
}

func commitErr(err error) error {
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
