package store

import (
	"context"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// OnRead makes every list query of s go to fn before it runs (the query
// plan test explains them).
func (s *Store) OnRead(fn func(query string, args []any)) { s.onRead = fn }

// MigrateDownTo undoes the migrations after version (Migrate applies them
// again): a test of what a migration does to rows stored before it.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if s.dialect == Postgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(gd, s.w, sub)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

// FactsOf is what a recomputation stores of the customer for segments
// (customers.currencies and customers.quantities), from its history now.
func (s *Store) FactsOf(ctx context.Context, acct int64, customerUUID string) (currencies, quantities string, err error) {
	h, err := s.CustomerHistory(ctx, acct, customerUUID)
	if err != nil {
		return "", "", err
	}
	currencies, quantities = factsOf(h)
	return currencies, quantities, nil
}
