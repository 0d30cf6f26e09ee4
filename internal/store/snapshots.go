package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Snapshot is an encoding of what a server keeps in memory for one of an
// account's caches, as of a results state (see ResultsState): it holds
// every customer's results whose version is at most Version, and none
// removed since Resets.
type Snapshot struct {
	Version, Resets int64
	Data            []byte
}

// CacheSnapshot reads the account's snapshot of kind; ErrNotFound when
// none was written.
func (s *Store) CacheSnapshot(ctx context.Context, acct int64, kind string) (Snapshot, error) {
	var sn Snapshot
	err := s.r.QueryRowContext(ctx, `SELECT results_seq, results_reset, data FROM cache_snapshots WHERE account_id = $1 AND kind = $2`,
		acct, kind).Scan(&sn.Version, &sn.Resets, &sn.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, ErrNotFound
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("read %s snapshot: %w", kind, err)
	}
	return sn, nil
}

// SaveCacheSnapshot keeps sn as the account's snapshot of kind, unless the
// one kept is of a later state (another server's, written meanwhile).
func (s *Store) SaveCacheSnapshot(ctx context.Context, acct int64, kind string, sn Snapshot) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO cache_snapshots (account_id, kind, results_seq, results_reset, written_at, data)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (account_id, kind) DO UPDATE SET results_seq = excluded.results_seq, results_reset = excluded.results_reset,
			written_at = excluded.written_at, data = excluded.data
		WHERE cache_snapshots.results_reset < excluded.results_reset
			OR (cache_snapshots.results_reset = excluded.results_reset AND cache_snapshots.results_seq < excluded.results_seq)`,
		acct, kind, sn.Version, sn.Resets, time.Now().UnixMilli(), sn.Data)
	if err != nil {
		return fmt.Errorf("save %s snapshot: %w", kind, err)
	}
	return nil
}

// SnapshotAccounts lists the accounts that have a snapshot.
func (s *Store) SnapshotAccounts(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := scanRows(ctx, s.r, `SELECT DISTINCT account_id FROM cache_snapshots ORDER BY account_id`, nil, func(scan func(...any) error) error {
		var id int64
		if err := scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return ids, nil
}
