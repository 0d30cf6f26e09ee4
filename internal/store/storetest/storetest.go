// Package storetest runs one test on every configured store backend: a
// SQLite file in a temporary folder, and a fresh schema on the PostgreSQL
// server named by TALLY_TEST_POSTGRES_URL (which scripts/test.sh starts).
// Without that variable the PostgreSQL run fails rather than skips, unless
// TALLY_TEST_BACKENDS=sqlite says the SQLite-only run is intended.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/store"
)

// Backends lists the backends this run covers.
func Backends() []string {
	if v := os.Getenv("TALLY_TEST_BACKENDS"); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"sqlite", "postgres"}
}

// Each runs fn once per backend, each time on a new, migrated, empty store.
// The backends run in parallel with each other (after the calling test's
// own body returns): most of a test's time is waiting on its database,
// and the API's tests under -race outgrew go test's ten minutes run one
// after the other.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, b))
		})
	}
}

// Open returns a new migrated store of the named backend, closed (and for
// PostgreSQL dropped) when the test ends.
func Open(t testing.TB, backend string) *store.Store {
	t.Helper()
	dsn := DSN(t, backend)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open %s store: %v", backend, err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s store: %v", backend, err)
	}
	return s
}

// DSN makes an empty database for the backend and returns its DSN.
func DSN(t testing.TB, backend string) string {
	t.Helper()
	switch backend {
	case "sqlite":
		return filepath.Join(t.TempDir(), "tally.db")
	case "postgres":
		return postgresSchema(t)
	}
	t.Fatalf("unknown backend %q (want sqlite or postgres)", backend)
	return ""
}

// postgresSchema creates a schema of its own for the test and returns a
// URL whose search_path points at it, so tests never see each other's rows.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TALLY_TEST_POSTGRES_URL")
	if base == "" {
		t.Fatal("TALLY_TEST_POSTGRES_URL is not set: run the suite with `bash scripts/test.sh`, " +
			"or set TALLY_TEST_BACKENDS=sqlite to run on SQLite alone")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Snapshot returns every row of every Tally table as text, so a test can
// prove a rejected request changed nothing.
func Snapshot(t testing.TB, s *store.Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range tables(t, s) {
		rows, err := s.DB().Query(`SELECT * FROM ` + table) // lines are sorted below
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot %s: %v", table, err)
			}
			lines = append(lines, fmt.Sprintf("%v", vals))
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "%s (%d)\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// tables lists the store's tables (less goose's bookkeeping), so snapshots
// cover tables that later migrations add.
func tables(t testing.TB, s *store.Store) []string {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`
	if s.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'goose_db_version' ORDER BY table_name`
	}
	rows, err := s.DB().Query(q)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatalf("list tables: %v", err)
		}
		names = append(names, n)
	}
	return names
}
