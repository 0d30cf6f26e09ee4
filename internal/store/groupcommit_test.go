package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestGroupCommit queues writes behind one that holds SQLite's writer, so
// that they run as one group: each is answered with its own outcome, a
// failed or panicking write changes nothing, and a write under which the
// transaction ends leaves the others to run again and commit.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/group.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	insert := func(tx *sql.Tx, name string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (uuid, name, created_at) VALUES ($1, $1, 0)`, name)
		return err
	}
	refused := errors.New("refused")
	writes := []struct {
		name string
		fn   func(tx *sql.Tx) error
	}{
		{"b", func(tx *sql.Tx) error { return insert(tx, "b") }},
		{"c", func(tx *sql.Tx) error { _ = insert(tx, "c"); return refused }},
		{"d", func(tx *sql.Tx) error { _ = insert(tx, "d"); panic("d panics") }},
		{"e", func(tx *sql.Tx) error { return insert(tx, "e") }},
		// Ends the transaction under the group, as an interrupted
		// statement does: b and e run again in a new one.
		{"f", func(tx *sql.Tx) error {
			_ = insert(tx, "f")
			_, _ = tx.ExecContext(ctx, `ROLLBACK`)
			return refused
		}},
		{"g", func(tx *sql.Tx) error { return insert(tx, "g") }},
	}
	held, started := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			close(started)
			<-held
			return insert(tx, "a")
		})
		if err != nil {
			t.Errorf("a: %v", err)
		}
	})
	<-started
	results := make([]any, len(writes))
	for i, w := range writes {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					results[i] = p
				}
			}()
			results[i] = s.tx(ctx, w.fn)
		})
		// One at a time, so that they queue in order.
		for queued := false; !queued; time.Sleep(time.Millisecond) {
			s.group.mu.Lock()
			queued = len(s.group.queue) == i+1
			s.group.mu.Unlock()
		}
	}
	close(held)
	wg.Wait()
	want := []any{nil, refused, "d panics", nil, refused, nil}
	for i, w := range writes {
		if results[i] != want[i] {
			t.Errorf("%s: got %v, want %v", w.name, results[i], want[i])
		}
	}
	var names []string
	err = scanRows(ctx, s.r, `SELECT name FROM accounts ORDER BY name`, nil, func(scan func(...any) error) error {
		var n string
		err := scan(&n)
		names = append(names, n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "e", "g"}; !slices.Equal(names, want) {
		t.Errorf("accounts stored: %v, want %v", names, want)
	}
}
