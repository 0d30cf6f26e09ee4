// Package store keeps Tally's data in SQLite (modernc, the default) or
// PostgreSQL (pgx) through one implementation over database/sql. Every
// method takes the account id as its first argument after ctx and every
// query filters on it, so one account never reads another's rows.
//
// It must not hold business rules beyond uniqueness and cascades: those
// belong to billing (validation) and metrics (derived numbers).
package store
