package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

const accountCols = `id, uuid, name, currency, time_zone, week_start_on, churn_recognition, activity_grouping_minutes, created_at`

// accountFields are the destinations of accountCols, in its order; the
// caller sets a.CreatedAt from created.
func accountFields(a *billing.Account, created *int64) []any {
	return []any{&a.ID, &a.UUID, &a.Name, &a.Currency, &a.TimeZone, &a.WeekStartOn, &a.ChurnRecognition, &a.ActivityGroupingMinutes, created}
}

func scanAccount(row interface{ Scan(...any) error }) (billing.Account, error) {
	var a billing.Account
	var created int64
	err := row.Scan(accountFields(&a, &created)...)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account: %w", ErrNotFound)
	}
	a.CreatedAt = fromMillis(created)
	return a, err
}

// accountColsA is accountCols of a table aliased a.
var accountColsA = `a.` + strings.ReplaceAll(accountCols, ", ", ", a.")

// keyCols are the columns scanKey reads: a key and its account, from
// api_keys k JOIN accounts a. Whatever signs a request in (a key, a
// dashboard session, a sign-in link) reads them, so that the account is
// filled the same way on every path.
var keyCols = `k.id, k.prefix, k.access, k.created_at, ` + accountColsA

// scanKey scans keyCols and then extra, for the columns a query selects
// after them. No row is ErrNotFound, for the caller to name.
func scanKey(row interface{ Scan(...any) error }, extra ...any) (billing.APIKey, billing.Account, error) {
	var k billing.APIKey
	var access string
	var kc, ac int64
	var a billing.Account
	dest := append([]any{&k.ID, &k.Prefix, &access, &kc}, accountFields(&a, &ac)...)
	err := row.Scan(append(dest, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return k, a, ErrNotFound
	}
	if err != nil {
		return k, a, err
	}
	k.AccountID, k.AccountName, k.Access, k.CreatedAt = a.ID, a.Name, billing.Access(access), fromMillis(kc)
	a.CreatedAt = fromMillis(ac)
	return k, a, nil
}

// EnsureAccount returns the account called name, creating it with the
// default settings (api.md rule 10) if it does not exist.
func (s *Store) EnsureAccount(ctx context.Context, name string) (acct billing.Account, created bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		acct, err = scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, name))
		if err == nil || !errors.Is(err, ErrNotFound) {
			return err
		}
		created = true
		acct, err = scanAccount(tx.QueryRowContext(ctx,
			`INSERT INTO accounts (uuid, name, created_at) VALUES ($1, $2, $3) RETURNING `+accountCols,
			NewUUID("acc_"), name, millis(now())))
		return err
	})
	if err != nil {
		return acct, false, fmt.Errorf("ensure account %q: %w", name, err)
	}
	return acct, created, nil
}

// AccountByName finds an account by its name.
func (s *Store) AccountByName(ctx context.Context, name string) (billing.Account, error) {
	return scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, name))
}

// CountAccounts tells whether the server has been set up.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n)
	return n, err
}

// CreateAPIKey stores a new key's hash for the account.
func (s *Store) CreateAPIKey(ctx context.Context, accountID int64, prefix, hash string, access billing.Access) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO api_keys (account_id, prefix, hash, access, created_at) VALUES ($1, $2, $3, $4, $5)`,
		accountID, prefix, hash, string(access), millis(now()))
	if isUnique(err) {
		return &ConflictError{Field: "key"}
	}
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	return nil
}

// EnsureAPIKey makes sure the key with this hash exists on the account,
// with the given access (and the prefix shown for it). It is how
// TALLY_API_KEY bootstraps a server; a key of another account is a
// conflict, never moved, and a revoked key is never made live again: that
// is an ErrRevoked, so that the environment naming a revoked key is seen
// instead of silently undoing `apikey revoke`.
func (s *Store) EnsureAPIKey(ctx context.Context, accountID int64, prefix, hash string, access billing.Access) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var owner int64
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT account_id, revoked_at FROM api_keys WHERE hash = $1`, hash).Scan(&owner, &revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx,
				`INSERT INTO api_keys (account_id, prefix, hash, access, created_at) VALUES ($1, $2, $3, $4, $5)`,
				accountID, prefix, hash, string(access), millis(now()))
			return err
		case err != nil:
			return fmt.Errorf("ensure api key: %w", err)
		case owner != accountID:
			return &ConflictError{Field: "key"}
		case revoked.Valid:
			return fmt.Errorf("api key revoked on %s: %w", fromMillis(revoked.Int64).Format("2006-01-02 15:04 MST"), ErrRevoked)
		}
		_, err = tx.ExecContext(ctx, `UPDATE api_keys SET access = $2, prefix = $3 WHERE hash = $1`, hash, string(access), prefix)
		return err
	})
}

// KeyByHash returns the live key with this hash and its account.
func (s *Store) KeyByHash(ctx context.Context, hash string) (billing.APIKey, billing.Account, error) {
	k, a, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+`
		FROM api_keys k JOIN accounts a ON a.id = k.account_id
		WHERE k.hash = $1 AND k.revoked_at IS NULL`, hash))
	if errors.Is(err, ErrNotFound) {
		return k, a, fmt.Errorf("api key: %w", err)
	}
	if err != nil {
		return k, a, fmt.Errorf("look up api key: %w", err)
	}
	return k, a, nil
}

// ListAPIKeys lists keys (never their secrets), of one account when
// accountName is not empty.
func (s *Store) ListAPIKeys(ctx context.Context, accountName string) ([]billing.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT k.id, k.account_id, a.name, k.prefix, k.access, k.created_at, k.revoked_at
		FROM api_keys k JOIN accounts a ON a.id = k.account_id
		WHERE $1 = '' OR a.name = $1 ORDER BY k.id`, accountName)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var keys []billing.APIKey
	for rows.Next() {
		var k billing.APIKey
		var access string
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &k.AccountID, &k.AccountName, &k.Prefix, &access, &created, &revoked); err != nil {
			return nil, err
		}
		k.Access, k.CreatedAt, k.RevokedAt = billing.Access(access), fromMillis(created), timePtr(revoked)
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeAPIKeyByHash revokes the live key with this hash, ErrNotFound
// when there is none.
func (s *Store) RevokeAPIKeyByHash(ctx context.Context, hash string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL`, hash, millis(now()))
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("api key: %w", cmp.Or(err, ErrNotFound))
	}
	return nil
}

// RevokeAPIKeyByPrefix revokes the one live key shown with this prefix.
// It fails with ErrNotFound when none matches and ErrConflict when several
// do (then only the whole key tells them apart).
func (s *Store) RevokeAPIKeyByPrefix(ctx context.Context, prefix string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL`, prefix).Scan(&n); err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		switch {
		case n == 0:
			return fmt.Errorf("api key %s: %w", prefix, ErrNotFound)
		case n > 1:
			return fmt.Errorf("api key prefix %s matches %d keys: %w", prefix, n, ErrConflict)
		}
		_, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE prefix = $1 AND revoked_at IS NULL`, prefix, millis(now()))
		return err
	})
}

// Accounts lists every account on the server.
func (s *Store) Accounts(ctx context.Context) ([]billing.Account, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []billing.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Account finds an account by id.
func (s *Store) Account(ctx context.Context, id int64) (billing.Account, error) {
	return scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
}

// UpdateAccountSettings lets change edit the account's settings and
// writes them back. When a setting the stored results depend on changes
// (currency, churn recognition, activity grouping), every customer is
// marked for recomputation; the time zone and week start only cut the
// series when they are read.
func (s *Store) UpdateAccountSettings(ctx context.Context, id int64, change func(*billing.Account, ForeignDays) error) (billing.Account, error) {
	var a billing.Account
	err := s.accountTx(ctx, id, func(tx *sql.Tx) error {
		var err error
		a, err = scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`+s.forUpdate("accounts"), id))
		if err != nil {
			return err
		}
		before := a
		// Read on the transaction's own connection: a second one, taken
		// while this holds the account, could wait on a pool that
		// transactions waiting for the account have exhausted.
		foreign := func(currency string) (map[string][]time.Time, error) {
			return foreignRateDays(ctx, tx, id, currency)
		}
		if err := change(&a, foreign); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET currency = $2, time_zone = $3, week_start_on = $4, churn_recognition = $5,
			activity_grouping_minutes = $6 WHERE id = $1`, id, a.Currency, a.TimeZone, a.WeekStartOn, a.ChurnRecognition,
			a.ActivityGroupingMinutes); err != nil {
			return fmt.Errorf("update account settings: %w", err)
		}
		if a.Currency == before.Currency && a.ChurnRecognition == before.ChurnRecognition &&
			a.ActivityGroupingMinutes == before.ActivityGroupingMinutes {
			return nil
		}
		// The customers are marked after this transaction, a few thousand
		// at a time (MarkAllDirty); the flag makes that survive a crash.
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET mark_all_pending = mark_all_pending + 1, settings_version = settings_version + 1 WHERE id = $1`, id); err != nil {
			return fmt.Errorf("flag account for recomputation: %w", err)
		}
		return nil
	})
	return a, err
}

// ForeignRateDays lists the distinct (currency, day) pairs of the
// account's invoices not in currency: the service starts of their
// subscription lines (MRR) and the dates of their transactions (cash
// flow), the rates a switch of the account currency to it would need.
func (s *Store) ForeignRateDays(ctx context.Context, acct int64, currency string) (map[string][]time.Time, error) {
	return foreignRateDays(ctx, s.r, acct, currency)
}

// ForeignDays is ForeignRateDays inside a transaction.
type ForeignDays func(currency string) (map[string][]time.Time, error)

// foreignRateDays includes the event dates of priced subscription events
// in other currencies: committed MRR converts them at that day's rate.
func foreignRateDays(ctx context.Context, q querier, acct int64, currency string) (map[string][]time.Time, error) {
	out := map[string][]time.Time{}
	err := scanRows(ctx, q, `SELECT i.currency, l.service_period_start FROM line_items l JOIN invoices i ON i.id = l.invoice_id
			WHERE l.account_id = $1 AND l.type = 'subscription' AND i.currency <> $2
		UNION
		SELECT i.currency, t.date FROM transactions t JOIN invoices i ON i.id = t.invoice_id
			WHERE t.account_id = $1 AND i.currency <> $2
		UNION
		SELECT e.currency, e.event_date FROM subscription_events e
			WHERE e.account_id = $1 AND e.currency IS NOT NULL AND e.currency <> $2 AND COALESCE(e.amount_in_cents, 0) <> 0`, []any{acct, currency},
		func(scan func(...any) error) error {
			var cur string
			var at int64
			if err := scan(&cur, &at); err != nil {
				return err
			}
			out[cur] = append(out[cur], fromMillis(at))
			return nil
		})
	return out, err
}
