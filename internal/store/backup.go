package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrBackupPostgres is Backup and Restore on PostgreSQL, whose own tools
// do it better (pg_dump, pg_restore; see docs/operations.md).
var ErrBackupPostgres = errors.New("tally backup and restore are for SQLite; back up PostgreSQL with pg_dump and restore it with pg_restore (docs/operations.md)")

// SQLitePath is the file of a SQLite dsn, or "" for PostgreSQL.
func SQLitePath(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return ""
	}
	return strings.TrimPrefix(dsn, "sqlite:")
}

// Backup writes a consistent copy of the database to the file at path,
// while the database stays open to writers: SQLite's VACUUM INTO reads one
// snapshot (a WAL read transaction) and writes it out compacted. The file
// must not exist yet; a failure removes what was written of it.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != SQLite {
		return ErrBackupPostgres
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s already exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	// A connection of its own: VACUUM INTO reads in one read transaction
	// and takes no write lock, so the writer (this process's or serve's)
	// goes on while it runs. The readers are query_only, which refuses it.
	db, err := sql.Open("sqlite", "file:"+s.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore replaces the SQLite database dst with the backup src. The backup
// is checked first: it must open, pass SQLite's integrity check and be a
// Tally database no newer than this build. It is then copied beside dst,
// synced and renamed over it, so that a failure at any point leaves dst as
// it was; dst's WAL is checkpointed and removed first, as a leftover WAL
// would be replayed into the restored file. No server may be running on
// dst (restore is an offline operation; see docs/operations.md).
func Restore(ctx context.Context, src, dstDSN string) error {
	dst := SQLitePath(dstDSN)
	if dst == "" {
		return ErrBackupPostgres
	}
	if err := checkBackup(ctx, src); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".restore-*")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing to remove
	in, err := os.Open(src)
	if err != nil {
		tmp.Close()
		return fmt.Errorf("restore: %w", err)
	}
	_, err = tmp.ReadFrom(in)
	in.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: copy %s: %w", src, err)
	}
	if err := settleWAL(ctx, dst); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil { // the rename, durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// checkBackup opens src read-only and checks that it is a whole Tally
// database this build can serve.
func checkBackup(ctx context.Context, src string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// Read-only and as it is: opening it as the server does would turn
	// the user's file to WAL mode.
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("restore: %s: %w", src, err)
	}
	defer db.Close()
	s := &Store{dialect: SQLite, w: db, r: db}
	var verdict string
	if err := s.r.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&verdict); err != nil {
		return fmt.Errorf("restore: %s is not a SQLite database: %w", src, err)
	}
	if verdict != "ok" {
		return fmt.Errorf("restore: %s fails SQLite's integrity check: %s", src, verdict)
	}
	p, err := s.migrations(ctx, false)
	if err != nil {
		return err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil || current == 0 {
		return fmt.Errorf("restore: %s is not a Tally database", src)
	}
	if current > target {
		return fmt.Errorf("restore: %s has migration %d; this build knows up to %d: restore it with a newer tally", src, current, target)
	}
	return nil
}

// settleWAL checkpoints dst's WAL into it and removes the WAL and its
// index, when dst exists.
func settleWAL(ctx context.Context, dst string) error {
	if _, err := os.Stat(dst); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// Exclusive locking: in WAL mode every open connection holds a shared
	// lock on the file, so a server still running on dst makes this fail
	// instead of having its database replaced under it.
	db, err := sql.Open("sqlite", "file:"+dst+"?_pragma=busy_timeout(2000)&_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		return fmt.Errorf("restore: open %s: %w", dst, err)
	}
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	if err == nil {
		_, err = db.ExecContext(ctx, `BEGIN EXCLUSIVE; COMMIT`)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: %s is in use (stop tally serve first): %w", dst, err)
	}
	for _, f := range []string{dst + "-wal", dst + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	return nil
}
