package store

import (
	"context"
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// SQLite's driver parses and plans every statement anew at each call that
// database/sql makes with arguments: it prepares, runs and finalizes. For
// the writes of a one-customer request (a dozen statements, several of
// them multi-row INSERTs of hundreds of parameters) the parsing was a fifth
// of the server's time (issue 14, ingestion through HTTP). Each SQLite
// connection therefore keeps its prepared statements by text and runs them
// again; SQLite re-prepares one by itself if the schema changed under it.
// PostgreSQL's driver keeps its own statement cache.

const (
	// maxCachedStmts bounds a connection's prepared statements: the
	// store's SQL is a few hundred texts, IN lists and multi-row INSERTs
	// vary it by their length.
	maxCachedStmts = 400
	// maxCachedSQL leaves the longest texts (INSERTs of thousands of rows
	// from bulk imports, run once) out of the cache.
	maxCachedSQL = 32 << 10
)

// stmtCacheConnector opens SQLite connections that keep their statements.
type stmtCacheConnector struct{ base driver.Connector }

func newStmtCacheConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return stmtCacheConnector{base}, nil
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stmtCacheConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.base.Driver() }

// stmtCacheConn is a SQLite connection with its prepared statements. Like
// any driver connection it is used by one goroutine at a time.
type stmtCacheConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

// cachedStmt is a prepared statement; busy while rows read from it are
// open (a second use meanwhile prepares a statement of its own).
type cachedStmt struct {
	stmt driver.Stmt
	busy bool
}

// The optional interfaces of the driver's connections, forwarded.
var (
	_ driver.ConnBeginTx        = (*stmtCacheConn)(nil)
	_ driver.ConnPrepareContext = (*stmtCacheConn)(nil)
	_ driver.ExecerContext      = (*stmtCacheConn)(nil)
	_ driver.QueryerContext     = (*stmtCacheConn)(nil)
	_ driver.Pinger             = (*stmtCacheConn)(nil)
	_ driver.SessionResetter    = (*stmtCacheConn)(nil)
	_ driver.Validator          = (*stmtCacheConn)(nil)
)

// Unwrap is the driver's connection (sqlite.Limit and others look for it).
func (c *stmtCacheConn) Unwrap() driver.Conn { return c.Conn }

func (c *stmtCacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *stmtCacheConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *stmtCacheConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *stmtCacheConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// Close finalizes the statements, then closes the connection.
func (c *stmtCacheConn) Close() error {
	for q, s := range c.stmts {
		_ = s.stmt.Close()
		delete(c.stmts, q)
	}
	return c.Conn.Close()
}

// cacheable says whether a statement is worth keeping: a query or a write
// with arguments (not a PRAGMA, a transaction control or a schema change),
// not too long.
func cacheable(query string, args []driver.NamedValue) bool {
	if len(args) == 0 || len(query) > maxCachedSQL {
		return false
	}
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return strings.EqualFold(q[:4], "WITH")
}

// statement is the cached statement for query, prepared now if need be;
// nil if it is busy or not to be cached (the caller runs the query the
// driver's way).
func (c *stmtCacheConn) statement(ctx context.Context, query string, args []driver.NamedValue) (*cachedStmt, error) {
	if !cacheable(query, args) {
		return nil, nil
	}
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		for q, s := range c.stmts { // any idle one: a random pick
			if !s.busy {
				_ = s.stmt.Close()
				delete(c.stmts, q)
				break
			}
		}
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.statement(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.statement(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}

// The column type interfaces of the driver's rows, forwarded.
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
