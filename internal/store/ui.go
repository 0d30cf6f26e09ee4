package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
)

// The dashboard's sign-in (issue 11): sessions and one-time sign-in links
// are bound to an API key and die with it, share links to an account.
// Tokens arrive here as auth.Hash of the secret; the secret is never stored.

// UISession is a live dashboard session: the key it was opened with, and
// that key's account, read as KeyByHash reads them.
type UISession struct {
	Key       billing.APIKey
	Account   billing.Account
	ExpiresAt time.Time
}

// CreateUISession stores a session for the live key keyID until expires.
// A missing or revoked key is ErrNotFound. Sessions that have expired, or
// whose key was revoked, are deleted on the way.
func (s *Store) CreateUISession(ctx context.Context, keyID int64, tokenHash string, expires time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t := millis(now())
		if _, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE expires_at <= $1
			OR api_key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NOT NULL)`, t); err != nil {
			return fmt.Errorf("delete expired ui sessions: %w", err)
		}
		return insertForKey(ctx, tx, `INSERT INTO ui_sessions (account_id, api_key_id, token_hash, created_at, expires_at)
			SELECT account_id, id, $2, $3, $4 FROM api_keys WHERE id = $1 AND revoked_at IS NULL`,
			keyID, tokenHash, t, millis(expires))
	})
	if err != nil {
		return fmt.Errorf("create ui session: %w", err)
	}
	return nil
}

// UISessionByHash returns the live session with this token hash: one that
// exists, has not expired at now (now >= its expiry is expired) and whose
// key is not revoked. Anything else is ErrNotFound.
func (s *Store) UISessionByHash(ctx context.Context, tokenHash string, now time.Time) (UISession, error) {
	var expires int64
	k, a, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+`, u.expires_at
		FROM ui_sessions u JOIN api_keys k ON k.id = u.api_key_id JOIN accounts a ON a.id = k.account_id
		WHERE u.token_hash = $1 AND u.expires_at > $2 AND k.revoked_at IS NULL`, tokenHash, millis(now)), &expires)
	if errors.Is(err, ErrNotFound) {
		return UISession{}, fmt.Errorf("ui session: %w", err)
	}
	if err != nil {
		return UISession{}, fmt.Errorf("look up ui session: %w", err)
	}
	return UISession{Key: k, Account: a, ExpiresAt: fromMillis(expires)}, nil
}

// DeleteUISession ends a session (sign-out); one that does not exist is
// already ended.
func (s *Store) DeleteUISession(ctx context.Context, tokenHash string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM ui_sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("delete ui session: %w", err)
	}
	return nil
}

// CreateLoginToken stores a one-time sign-in token for the live key keyID,
// valid until expires. A missing or revoked key is ErrNotFound. Tokens
// that have expired, or whose key was revoked, are deleted on the way.
func (s *Store) CreateLoginToken(ctx context.Context, keyID int64, tokenHash string, expires time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t := millis(now())
		if _, err := tx.ExecContext(ctx, `DELETE FROM ui_login_tokens WHERE expires_at <= $1
			OR api_key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NOT NULL)`, t); err != nil {
			return fmt.Errorf("delete expired sign-in tokens: %w", err)
		}
		return insertForKey(ctx, tx, `INSERT INTO ui_login_tokens (account_id, api_key_id, token_hash, created_at, expires_at)
			SELECT account_id, id, $2, $3, $4 FROM api_keys WHERE id = $1 AND revoked_at IS NULL`,
			keyID, tokenHash, t, millis(expires))
	})
	if err != nil {
		return fmt.Errorf("create sign-in token: %w", err)
	}
	return nil
}

// insertForKey runs an INSERT … SELECT from the live key $1: no row
// inserted means no such live key.
func insertForKey(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if isUnique(err) {
		return &ConflictError{Field: "token"}
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("api key: %w", cmp.Or(err, ErrNotFound))
	}
	return nil
}

// UseLoginToken accepts a sign-in token once: it marks the token used and
// returns its key and account in one transaction. A token that is missing,
// already used, expired at now or whose key is revoked is ErrNotFound; of
// two uses at once, exactly one succeeds (the UPDATE that marks the token
// is also the check that it is unused: on PostgreSQL the second waits for
// the first and then finds used_at set, on SQLite writes run one at a time).
func (s *Store) UseLoginToken(ctx context.Context, tokenHash string, now time.Time) (billing.APIKey, billing.Account, error) {
	var k billing.APIKey
	var a billing.Account
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var keyID int64
		err := tx.QueryRowContext(ctx, `UPDATE ui_login_tokens SET used_at = $2
			WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
			AND api_key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NULL)
			RETURNING api_key_id`, tokenHash, millis(now)).Scan(&keyID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sign-in token: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("use sign-in token: %w", err)
		}
		k, a, err = scanKey(tx.QueryRowContext(ctx, `SELECT `+keyCols+`
			FROM api_keys k JOIN accounts a ON a.id = k.account_id
			WHERE k.id = $1 AND k.revoked_at IS NULL`, keyID))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("api key: %w", err)
		}
		return err
	})
	if err != nil {
		return billing.APIKey{}, billing.Account{}, err
	}
	return k, a, nil
}

// ShareLink is a read-only view of an account's dashboard for whoever
// holds its token. It lives until revoked.
type ShareLink struct {
	ID        int64
	UUID      string
	AccountID int64
	Name      string
	Embed     bool
	CreatedAt time.Time
	RevokedAt *time.Time
	// CreatedBy is the prefix `apikey list` shows of the key that made it
	// (auth.Shown: never more of a secret).
	CreatedBy string
}

// shareLinkCols are the columns scanShareLink reads, from ui_share_links l
// JOIN api_keys k (its creator).
const shareLinkCols = `l.id, l.uuid, l.account_id, l.name, l.embed, l.created_at, l.revoked_at, k.prefix`

func scanShareLink(scan func(...any) error, extra ...any) (ShareLink, error) {
	var l ShareLink
	var embed, created int64
	var revoked sql.NullInt64
	if err := scan(append([]any{&l.ID, &l.UUID, &l.AccountID, &l.Name, &embed, &created, &revoked, &l.CreatedBy}, extra...)...); err != nil {
		return l, err
	}
	l.Embed, l.CreatedAt, l.RevokedAt, l.CreatedBy = embed != 0, fromMillis(created), timePtr(revoked), auth.Shown(l.CreatedBy)
	return l, nil
}

// CreateShareLink stores a share link of the account acct, made by its
// live key createdByKey (ErrNotFound if the key is revoked or another
// account's).
func (s *Store) CreateShareLink(ctx context.Context, acct, createdByKey int64, tokenHash, name string, embed bool) (ShareLink, error) {
	l := ShareLink{UUID: NewUUID("shl_"), AccountID: acct, Name: name, Embed: embed, CreatedAt: now()}
	e := 0
	if embed {
		e = 1
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT prefix FROM api_keys WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL`,
			createdByKey, acct).Scan(&l.CreatedBy)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("api key: %w", ErrNotFound)
		}
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO ui_share_links (account_id, uuid, token_hash, created_by_key_id, name, embed, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, acct, l.UUID, tokenHash, createdByKey, name, e, millis(l.CreatedAt)).Scan(&l.ID)
		if isUnique(err) {
			return &ConflictError{Field: "token"}
		}
		return err
	})
	if err != nil {
		return ShareLink{}, fmt.Errorf("create share link: %w", err)
	}
	l.CreatedBy = auth.Shown(l.CreatedBy)
	return l, nil
}

// ShareLinkByHash returns the live (unrevoked) share link with this token
// hash and its account, read as KeyByHash reads it; anything else is
// ErrNotFound.
func (s *Store) ShareLinkByHash(ctx context.Context, tokenHash string) (ShareLink, billing.Account, error) {
	var a billing.Account
	var ac int64
	row := s.r.QueryRowContext(ctx, `SELECT `+shareLinkCols+`, `+accountColsA+`
		FROM ui_share_links l JOIN api_keys k ON k.id = l.created_by_key_id JOIN accounts a ON a.id = l.account_id
		WHERE l.token_hash = $1 AND l.revoked_at IS NULL`, tokenHash)
	l, err := scanShareLink(row.Scan, accountFields(&a, &ac)...)
	if errors.Is(err, sql.ErrNoRows) {
		return ShareLink{}, billing.Account{}, fmt.Errorf("share link: %w", ErrNotFound)
	}
	if err != nil {
		return ShareLink{}, billing.Account{}, fmt.Errorf("look up share link: %w", err)
	}
	a.CreatedAt = fromMillis(ac)
	return l, a, nil
}

// ShareLinks lists the account's share links, newest first, revoked ones
// included.
func (s *Store) ShareLinks(ctx context.Context, acct int64) ([]ShareLink, error) {
	var out []ShareLink
	err := scanRows(ctx, s.r, `SELECT `+shareLinkCols+`
		FROM ui_share_links l JOIN api_keys k ON k.id = l.created_by_key_id
		WHERE l.account_id = $1 ORDER BY l.id DESC`, []any{acct}, func(scan func(...any) error) error {
		l, err := scanShareLink(scan)
		if err != nil {
			return err
		}
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list share links: %w", err)
	}
	return out, nil
}

// RevokeShareLink revokes the account's live share link uuid: its token
// stops working at once. Another account's link, or one already revoked,
// is ErrNotFound.
func (s *Store) RevokeShareLink(ctx context.Context, acct int64, uuid string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE ui_share_links SET revoked_at = $3 WHERE account_id = $1 AND uuid = $2 AND revoked_at IS NULL`,
		acct, uuid, millis(now()))
	if err != nil {
		return fmt.Errorf("revoke share link: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("share link %s: %w", uuid, cmp.Or(err, ErrNotFound))
	}
	return nil
}
