package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned when a row does not exist in the caller's account.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("conflict")

// ErrRevoked is a revoked API key asked to be live again.
var ErrRevoked = errors.New("revoked")

// ConflictError names the field whose uniqueness a write would break.
type ConflictError struct{ Field string }

func (e *ConflictError) Error() string { return "conflict on " + e.Field }
func (e *ConflictError) Is(target error) bool {
	return target == ErrConflict
}

// Dialect names the database behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// Store is Tally's storage. For SQLite it holds one writer connection and a
// pool of readers (WAL lets them run beside the writer); for PostgreSQL both
// are the same pool.
type Store struct {
	dialect Dialect
	w       *sql.DB
	r       *sql.DB
	// unchecked is PostgreSQL's pool for writes that run without the
	// foreign keys' triggers (see uncheckedTx); nil for SQLite and where
	// the role may not set session_replication_role.
	unchecked *sql.DB
	// ckpt is SQLite's background checkpointer (nil for PostgreSQL).
	ckpt *checkpointer
	// path is the SQLite file ("" for PostgreSQL).
	path string
	// onRead, set by tests only, sees every list query (see reads).
	onRead func(query string, args []any)
	// closed makes a second Close a no-op.
	closed sync.Once
	bg     background
	// group commits SQLite's concurrent writes together (groupcommit.go).
	group groupCommit
}

// background is the work a store runs on its own (see Go).
type background struct {
	mu     sync.Mutex
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
	closed bool
}

// Go runs f in the background as part of the store: Close cancels f's
// context and waits for f to return. Once the store is closed, f is not
// run and Go reports false.
func (s *Store) Go(f func(ctx context.Context)) bool {
	b := &s.bg
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	if b.ctx == nil {
		b.ctx, b.cancel = context.WithCancel(context.Background())
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f(b.ctx)
	}()
	return true
}

// Open opens the database named by dsn: a file path, "sqlite:PATH" or a
// postgres:// URL. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// Each statement is planned for its arguments (pgx still prepares
		// it once per connection). A cached generic plan is made from
		// the statistics of the moment, and in a database filling up
		// (before autovacuum's first ANALYZE, up to a minute) those say
		// every table is nearly empty: the plan then picks any index
		// that matches, say invoices' by data source for a lookup by
		// external id, or a sequential scan, and keeps it as the tables
		// grow. An import of a book into a new database spent two thirds
		// of PostgreSQL's time so. An operator's own setting (in the
		// URL's options) wins.
		if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set && !strings.Contains(cfg.RuntimeParams["options"], "plan_cache_mode") {
			cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
		}
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		s := &Store{dialect: Postgres, w: db, r: db}
		s.unchecked = openUnchecked(ctx, *cfg)
		return s, nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	pragmas := "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	// The checkpointer copies the WAL back in the background, so that no
	// request waits for a checkpoint and its fsync (at SQLite's default of
	// 1,000 pages, one write in a few dozen did: the incremental
	// recompute's p99 was 13 ms against a p50 of 1.3). The writer keeps an
	// automatic checkpoint at 10,000 pages (40 MiB) as the bound: under a
	// sustained bulk import a background checkpoint alone never catches
	// up, and the WAL only restarts after one has.
	// The writer's page cache is 64 MiB (the default is 2): a recomputation batch
	// touches thousands of pages, and with too small a cache SQLite spills
	// dirty pages to the WAL mid-transaction and rereads the rest.
	// The writer's temporary files are in memory: a multi-row INSERT in a
	// transaction keeps a statement journal (to undo itself alone), which
	// SQLite otherwise spills to a new temporary file past 64 KiB, opened,
	// written and closed for each of an import's INSERTs (a tenth of the
	// server's time when clients send one customer per request).
	// Both pools keep their prepared statements (stmtcache.go).
	wc, err := newStmtCacheConnector("file:" + path + "?" + pragmas +
		"&_pragma=wal_autocheckpoint(10000)&_pragma=cache_size(-65536)&_pragma=temp_store(2)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rc, err := newStmtCacheConnector("file:" + path + "?" + pragmas + "&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite readers: %w", err)
	}
	r := sql.OpenDB(rc)
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	ckpt, err := startCheckpointer(ctx, "file:"+path+"?"+pragmas)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	return &Store{dialect: SQLite, w: w, r: r, ckpt: ckpt, path: path}, nil
}

// Close closes every connection; closing again does nothing.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() {
		s.bg.mu.Lock()
		s.bg.closed = true
		if s.bg.cancel != nil {
			s.bg.cancel()
		}
		s.bg.mu.Unlock()
		s.bg.wg.Wait()
		if s.ckpt != nil {
			err = s.ckpt.stop()
		}
		err = errors.Join(err, s.w.Close())
		if s.unchecked != nil {
			err = errors.Join(err, s.unchecked.Close())
		}
		if s.r != s.w {
			err = errors.Join(err, s.r.Close())
		}
	})
	return err
}

// Dialect tells which database is behind the store.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB gives tests direct access to the writer pool (snapshots, fixtures).
func (s *Store) DB() *sql.DB { return s.w }

// Migrate applies the embedded migrations that have not run yet.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrations(ctx, true)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return s.fillSearchKeys(ctx)
}

// migrations is the goose provider of the store's dialect. With locked,
// on PostgreSQL, it holds a session advisory lock while it migrates, so
// that servers started together on one database (several stateless
// servers, issue 14) migrate it once, in turn. The lock is the schema's:
// deployments in other schemas of the database do not wait for it.
func (s *Store) migrations(ctx context.Context, locked bool) (*goose.Provider, error) {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if s.dialect == Postgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var opts []goose.ProviderOption
	if locked && s.dialect == Postgres {
		var schema string
		if err := s.w.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("tally migrations " + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, s.w, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Migrated reports whether the database has every migration this build
// knows (readiness: a server must not answer from a schema it predates).
func (s *Store) Migrated(ctx context.Context) (bool, error) {
	p, err := s.migrations(ctx, false)
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("migrations: %w", err)
	}
	return !pending, nil
}

// forUpdate locks the rows a read-modify-write reads. SQLite needs no lock
// clause: its one writer connection and IMMEDIATE transactions serialise
// writes; PostgreSQL would otherwise let concurrent edits overwrite each other.
func (s *Store) forUpdate(table string) string {
	if s.dialect == Postgres {
		return " FOR UPDATE OF " + table
	}
	return ""
}

// txAttempts bounds how often a transaction PostgreSQL aborted for a
// reason that a second run can clear is run again.
const txAttempts = 6

// accountLock is how a write transaction holds its account's lock.
type accountLock int

const (
	noAccountLock accountLock = iota
	// sharedAccount: any number of writes into one account run side by side.
	sharedAccount
	// aloneInAccount: a delete of a data source or a customer runs with no
	// other write of its account. Its cascades lock rows of a dozen tables
	// in an order no writer can follow (a writer locks a parent row when it
	// inserts a child, the cascade deletes children after their parent),
	// so beside writers it deadlocked; and a writer that had looked up a
	// parent the delete then removed failed its insert on the foreign key.
	aloneInAccount
)

// tx runs fn in one write transaction: all or nothing. On PostgreSQL a
// transaction aborted by a deadlock (40P01), a serialization failure
// (40001) or a foreign-key violation (23503: a parent it looked up was
// deleted underneath it) is run again, up to txAttempts times with a
// growing random pause, so that such a race is never the client's error:
// the next run sees the world after the other transaction, and a parent
// that is gone by then is answered as if it had been missing from the
// start. fn must therefore be safe to run more than once: it reads what it
// needs inside the transaction and only sets results the next run sets
// again (a method whose fn changes its inputs restores them first).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.txIn(ctx, 0, noAccountLock, fn)
}

// accountTx is tx for a write into the account acct: it holds the
// account's lock shared, so that it never runs beside a delete that
// holds it alone (aloneTx).
func (s *Store) accountTx(ctx context.Context, acct int64, fn func(*sql.Tx) error) error {
	return s.txIn(ctx, acct, sharedAccount, fn)
}

// aloneTx is tx for a delete that cascades through the account's data: it
// waits for the account's writes in flight, and the writes that come
// after it wait for it and then find what it deleted gone.
func (s *Store) aloneTx(ctx context.Context, acct int64, fn func(*sql.Tx) error) error {
	return s.txIn(ctx, acct, aloneInAccount, fn)
}

func (s *Store) txIn(ctx context.Context, acct int64, lock accountLock, fn func(*sql.Tx) error) error {
	return s.retried(ctx, func() error { return s.txOnce(ctx, acct, lock, fn) })
}

// retried runs a transaction again while it fails for a reason that a
// second run can clear (see tx).
func (s *Store) retried(ctx context.Context, once func() error) error {
	pause := 2 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := once()
		if err == nil || attempt == txAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause/2 + rand.N(pause)):
		}
		pause *= 2
	}
}

func (s *Store) txOnce(ctx context.Context, acct int64, lock accountLock, fn func(*sql.Tx) error) error {
	if s.dialect == SQLite {
		return s.grouped(ctx, fn) // SQLite needs no account lock: its writes run one at a time
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return s.runTx(ctx, tx, acct, lock, fn)
}

// runTx takes the account's lock in tx, runs fn and commits.
func (s *Store) runTx(ctx context.Context, tx *sql.Tx, acct int64, lock accountLock, fn func(*sql.Tx) error) error {
	if lock != noAccountLock && s.dialect == Postgres {
		// SQLite needs no lock: its writes run one at a time. Advisory
		// lock class 3 (lockCustomers uses class 2) keyed by the account.
		f := "pg_advisory_xact_lock_shared"
		if lock == aloneInAccount {
			f = "pg_advisory_xact_lock"
		}
		if _, err := tx.ExecContext(ctx, `SELECT `+f+`(3, $1)`, int32(acct)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("lock account: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// bulkTx is accountTx for a bulk write that owns its connection while it
// runs: fn gets the connection too (PostgreSQL's COPY runs on it, inside
// the transaction), and the transaction runs without per-row foreign-key
// checks where the database lets it: a bulk write inserts rows whose
// parents it has just looked up or written in the same transaction, and
// the checks were most of its time (five parent lookups for each line
// item; on PostgreSQL a trigger and a row lock for each).
//
//   - SQLite: foreign_keys is off for the transaction. SQLite has one
//     writer, so no parent can go meanwhile. The pragma is per connection
//     and a no-op inside a transaction: it is set before BEGIN and undone
//     after the end, and a connection on which it cannot be undone is
//     discarded, never handed to another write.
//   - PostgreSQL: the transaction runs on the unchecked pool (see
//     uncheckedTx) where there is one; otherwise the checks run. Without
//     them nothing would hold a parent (a plan, a subscription) against a
//     concurrent delete, so a write that asks alone (alone) runs with no
//     other write of its account, as a delete does; one that does not
//     only inserts rows under customers, which are deleted only alone.
func (s *Store) bulkTx(ctx context.Context, acct int64, alone bool, fn func(*sql.Tx, *sql.Conn) error) error {
	return s.retried(ctx, func() error {
		db := s.w
		if s.unchecked != nil {
			db = s.unchecked
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("bulk write connection: %w", err)
		}
		defer conn.Close()
		lock := sharedAccount
		if s.dialect == SQLite {
			if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
				return fmt.Errorf("bulk write: %w", err)
			}
			defer func() {
				if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
					_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				}
			}()
		} else if alone && s.unchecked != nil {
			lock = aloneInAccount
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		return s.runTx(ctx, tx, acct, lock, func(tx *sql.Tx) error { return fn(tx, conn) })
	})
}

// uncheckedTx is accountTx for a write that inserts rows only under
// parents it holds: on PostgreSQL it runs, where the role may, without the
// foreign keys' triggers, whose per-row parent lookup and row lock were
// most of an invoice import's and a recomputation's time (a line item has
// five). Like a bulk write's (bulkTx), it must hold every parent of what
// it inserts against a concurrent delete itself: parents deleted only by
// a write alone in its account (accounts, data sources, customers and
// their identities) are held by the account's shared lock; any other (a
// plan, a subscription) fn locks FOR KEY SHARE when it reads it, as the
// trigger would have; and rows it inserted itself no one else sees. It
// must delete nothing that other rows reference: the cascades are
// triggers too. fn gets a connection as bulkTx's does (nil on SQLite,
// whose foreign keys stay on: one writer, and cheap checks).
func (s *Store) uncheckedTx(ctx context.Context, acct int64, fn func(*sql.Tx, *sql.Conn) error) error {
	if s.unchecked == nil {
		return s.accountTx(ctx, acct, func(tx *sql.Tx) error { return fn(tx, nil) })
	}
	return s.retried(ctx, func() error {
		conn, err := s.unchecked.Conn(ctx)
		if err != nil {
			return fmt.Errorf("write connection: %w", err)
		}
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		return s.runTx(ctx, tx, acct, sharedAccount, func(tx *sql.Tx) error { return fn(tx, conn) })
	})
}

// openUnchecked opens PostgreSQL's pool for uncheckedTx and bulkTx: its
// connections have session_replication_role replica from the start, which
// skips the foreign keys' triggers (and so their cascades). That takes a
// superuser, or a role granted SET on it (PostgreSQL 15's GRANT SET ON
// PARAMETER); nil when the server refuses it, and the writes keep their
// checks. A pool of its own, rather than setting the role per
// transaction, because changing the role empties the connection's plan
// cache, and every statement is planned again.
func openUnchecked(ctx context.Context, cfg pgx.ConnConfig) *sql.DB {
	cfg.RuntimeParams = maps.Clone(cfg.RuntimeParams)
	cfg.RuntimeParams["session_replication_role"] = "replica"
	db := stdlib.OpenDB(cfg)
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	var role string
	if err := db.QueryRowContext(ctx, `SHOW session_replication_role`).Scan(&role); err != nil || role != "replica" {
		db.Close()
		return nil
	}
	return db
}

// retryable reports whether err aborted a PostgreSQL transaction for a
// reason that running it again can clear.
func retryable(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return false
	}
	switch pg.Code {
	case "40P01", "40001", "23503":
		return true
	}
	return false
}

// isUnique reports whether err is a uniqueness violation on either backend.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKey reports whether err is a foreign-key violation: a row
// still referenced elsewhere.
func isForeignKey(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// NewUUID returns a time-ordered UUID behind a ChartMogul prefix ("cus_", …).
func NewUUID(prefix string) string {
	return prefix + uuid.Must(uuid.NewV7()).String()
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func timePtr(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMillis(ms.Int64)
	return &t
}

func strPtr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	v := s.String
	return &v
}

func nullStr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// now is the store's clock; times are kept to the millisecond.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Pools names the connection pools behind the store, for their statistics:
// "write" and, on SQLite, "read" (PostgreSQL reads and writes share one).
func (s *Store) Pools() map[string]*sql.DB {
	if s.r == s.w {
		return map[string]*sql.DB{"write": s.w}
	}
	return map[string]*sql.DB{"write": s.w, "read": s.r}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.w.PingContext(ctx) }
