package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

// RecomputeFailure is a customer whose results could not be computed: its
// stored results stay as they were, and it stays marked, with the error,
// until a write or a retry computes it.
type RecomputeFailure struct {
	CustomerID   int64
	CustomerUUID string
	Err          error
}

// RecomputeReport is what a recomputation did.
type RecomputeReport struct {
	Recomputed int
	Failed     []RecomputeFailure
}

// Pending says which marked customers a recomputation takes.
type Pending int

const (
	// PendingFresh: those not failed since their last write (a write's own
	// recomputation: a customer that failed waits for its retry instead of
	// failing every later write of the account again).
	PendingFresh Pending = iota
	// PendingDue: those, and failed ones whose retry time has come (the
	// background pass).
	PendingDue
	// PendingAll: every marked customer (start-up, `tally recompute`).
	PendingAll
)

// where is the condition on dirty_customers, with its parameter (if any)
// numbered n.
func (p Pending) where(now time.Time, n int) (string, []any) {
	switch p {
	case PendingFresh:
		return ` AND failed_at IS NULL`, nil
	case PendingDue:
		return ` AND (failed_at IS NULL OR retry_at <= $` + strconv.Itoa(n) + `)`, []any{millis(now)}
	}
	return ``, nil
}

// Recomputation writes stay short so that one account's recomputation,
// however large, never holds SQLite's single writer (or PostgreSQL's row
// locks) for long: histories are read and computed outside the write
// transaction, and the batch size adapts so that each write transaction
// takes about writeBudget.
const (
	writeBudget     = 30 * time.Millisecond
	bulkWriteBudget = 250 * time.Millisecond
	minRecompute    = 10
	maxRecompute    = 1000
	startRecompute  = 100
	maxFailureText  = 1000
	maxRecomputeRun = 8 // passes over customers raced by newer writes
	// bulkSave is the batch from which results are saved as a bulk write
	// (COPY on PostgreSQL, no per-row foreign-key checks): below it, the
	// settings bulkTx changes around the transaction cost more than they
	// save.
	bulkSave = 50
)

// retryAfter is when a customer that failed attempts times is tried again
// by the background pass: 5 s, doubling, at most an hour.
func retryAfter(attempts int) time.Duration {
	return min(5*time.Second<<min(max(attempts-1, 0), 10), time.Hour)
}

// Compute is what the engine makes of one customer's history.
type Compute func(*History) (Result, error)

// ErrUnavailable, wrapped in a Compute error, says the computation could
// not run (a database failure loading exchange rates), as opposed to the
// engine refusing the history: the batch is abandoned, its customers stay
// marked and nobody is recorded as failed.
var ErrUnavailable = errors.New("computation unavailable")

// RecomputeDirty recomputes the account's marked customers that which
// selects, calling the engine that engineFor makes of the account's
// settings (read anew for every batch) for each, and replacing their
// stored results. A customer the engine refuses is recorded as failed and
// the others go on; only a database failure is returned as an error (the
// customers it left stay marked for the next pass).
func (s *Store) RecomputeDirty(ctx context.Context, acct int64, which Pending, now time.Time,
	engineFor func(billing.Account) Compute) (RecomputeReport, error) {
	return s.RecomputeDirtyKnown(ctx, acct, which, now, engineFor, nil)
}

// RecomputeDirtyKnown is RecomputeDirty that takes the histories known
// holds from it instead of reading them (those still current).
func (s *Store) RecomputeDirtyKnown(ctx context.Context, acct int64, which Pending, now time.Time,
	engineFor func(billing.Account) Compute, known KnownSet) (RecomputeReport, error) {
	var rep RecomputeReport
	// A bulk write's recomputation (it knows the histories it wrote) saves
	// in larger transactions: its thousands of customers in batches of 30
	// ms took a commit, with PostgreSQL's fsync, every dozen customers.
	batch, budget := startRecompute, writeBudget
	if known.bulk() {
		batch, budget = maxRecompute, bulkWriteBudget
	}
	for pass := 0; pass < maxRecomputeRun; pass++ {
		raced := false
		var after int64
		for {
			marks, err := s.dirtyMarks(ctx, acct, which, now, after, batch)
			if err != nil {
				return rep, err
			}
			if len(marks) == 0 {
				break
			}
			after = marks[len(marks)-1].id
			res, err := s.recomputeBatch(ctx, acct, marks, now, engineFor, known)
			if err != nil {
				return rep, err
			}
			rep.Recomputed += res.done
			rep.Failed = append(rep.Failed, res.failed...)
			raced = raced || res.skipped > 0
			switch took := res.saving; {
			case took > 2*budget:
				batch = max(minRecompute, batch/2)
			case took < budget/2 && len(marks) == batch:
				batch = min(maxRecompute, batch*2)
			}
		}
		// A customer written again while it was being computed was left
		// for the newer write; one more pass makes sure that this caller,
		// too, answers only once its customers are current.
		if !raced {
			break
		}
	}
	return rep, nil
}

type dirtyMark struct {
	id, seq  int64
	attempts int // read by the saving transaction only
}

func (s *Store) dirtyMarks(ctx context.Context, acct int64, which Pending, now time.Time, after int64, limit int) ([]dirtyMark, error) {
	cond, extra := which.where(now, 3)
	var marks []dirtyMark
	q := `SELECT customer_id, seq FROM dirty_customers WHERE account_id = $1 AND customer_id > $2` + cond +
		` ORDER BY customer_id LIMIT ` + strconv.Itoa(limit)
	err := scanRows(ctx, s.r, q, append([]any{acct, after}, extra...), func(scan func(...any) error) error {
		var m dirtyMark
		err := scan(&m.id, &m.seq)
		marks = append(marks, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find customers to recompute: %w", err)
	}
	return marks, nil
}

// batchResult is what one batch did, and how long its saving transaction
// took (what the batch size adapts to).
type batchResult struct {
	done, skipped int
	failed        []RecomputeFailure
	saving        time.Duration
}

// recomputeBatch reads the settings and the customers' histories and
// computes them outside any transaction, then saves, in one short
// transaction, the results of those no write has touched since they were
// read (their mark's seq is unchanged) if no settings change came
// meanwhile (the account's settings_version is unchanged).
func (s *Store) recomputeBatch(ctx context.Context, acct int64, marks []dirtyMark, now time.Time,
	engineFor func(billing.Account) Compute, known KnownSet) (batchResult, error) {
	var settingsVersion int64
	a, err := scanAccount(withExtra{s.r.QueryRowContext(ctx, `SELECT `+accountCols+`, settings_version FROM accounts WHERE id = $1`, acct),
		[]any{&settingsVersion}})
	if err != nil {
		return batchResult{}, fmt.Errorf("read account settings: %w", err)
	}
	compute := engineFor(a)
	ids := make([]int64, len(marks))
	var read []int64
	hs := make(map[int64]*History, len(marks))
	for i, m := range marks {
		ids[i] = m.id
		if h := known.get(m.id, m.seq); h != nil {
			hs[m.id] = h
		} else {
			read = append(read, m.id)
		}
	}
	if len(read) > 0 {
		stored, err := histories(ctx, s.dialect, s.r, read)
		if err != nil {
			return batchResult{}, err
		}
		maps.Copy(hs, stored)
	}
	results := make(map[int64]Result, len(ids))
	failures := map[int64]RecomputeFailure{}
	for _, id := range ids {
		h := hs[id]
		if h == nil {
			continue // deleted meanwhile; its mark went with it
		}
		res, err := compute(h)
		if errors.Is(err, ErrUnavailable) {
			return batchResult{}, err
		}
		if err != nil {
			failures[id] = RecomputeFailure{CustomerID: id, CustomerUUID: h.CustomerUUID, Err: err}
			continue
		}
		results[id] = res
	}
	var out batchResult
	start := time.Now()
	saveBatch := func(ctx context.Context, tx *sql.Tx) error {
		out = batchResult{}
		// The account row first, as every other writer that takes it does
		// (imports share it, customer updates and settings changes lock
		// it): taking it after the marks made a cycle with an import
		// holding it and waiting for a mark.
		version, settingsNow, err := nextResultsVersion(ctx, tx, acct)
		if err != nil {
			return err
		}
		if settingsNow != settingsVersion {
			out.skipped = len(marks) // recomputed with the new settings by the change's own pass
			return nil
		}
		if err := s.lockCustomers(ctx, tx, ids); err != nil {
			return err
		}
		// seq now, of the customers still marked. Locked on PostgreSQL: a
		// write that re-marks a customer while this runs either committed
		// first (its new seq is read here, after waiting for it) or waits
		// until this commits (and marks the customer anew). Without the
		// lock its mark was read unchanged, then deleted with stale
		// results saved (the crash test found it).
		current := map[int64]dirtyMark{}
		err = queryIn(ctx, s.dialect, tx, `SELECT customer_id, seq, attempts FROM dirty_customers WHERE customer_id IN (%s)`+s.forUpdate("dirty_customers"), nil, ids,
			func(scan func(...any) error) error {
				var m dirtyMark
				err := scan(&m.id, &m.seq, &m.attempts)
				current[m.id] = m
				return err
			})
		if err != nil {
			return fmt.Errorf("read recomputation marks: %w", err)
		}
		var save []int64
		for _, m := range marks {
			mark, ok := current[m.id]
			_, computed := results[m.id]
			f, isFailure := failures[m.id]
			switch {
			case !ok:
				// Recomputed by someone else since, or deleted: nothing to do.
			case mark.seq != m.seq:
				out.skipped++
			case computed:
				save = append(save, m.id)
			case isFailure:
				if err := recordFailure(ctx, tx, mark, now, f.Err); err != nil {
					return err
				}
				out.failed = append(out.failed, f)
			}
		}
		if len(save) == 0 {
			return nil
		}
		if err := s.saveResults(ctx, tx, acct, save, results, hs, now); err != nil {
			return err
		}
		out.done = len(save)
		return stampResults(ctx, s.dialect, tx, version, save)
	}
	if len(marks) >= bulkSave {
		// Thousands of rows: written as a bulk write is (bulkTx), which
		// a save may be: customers are deleted only alone in their account.
		err = s.bulkTx(ctx, acct, false, func(tx *sql.Tx, conn *sql.Conn) error { return saveBatch(withCopyConn(ctx, conn), tx) })
	} else {
		// Without foreign-key checks on PostgreSQL: the save inserts
		// rows only under its customers, held by the account's lock,
		// and deletes only rows nothing references.
		err = s.uncheckedTx(ctx, acct, func(tx *sql.Tx, conn *sql.Conn) error { return saveBatch(withCopyConn(ctx, conn), tx) })
	}
	out.saving = time.Since(start)
	return out, err
}

// withExtra scans a row into dest and then extra: an account with a
// column of the recomputation's own.
type withExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }

func recordFailure(ctx context.Context, tx *sql.Tx, m dirtyMark, now time.Time, cause error) error {
	msg := cause.Error()
	if len(msg) > maxFailureText {
		msg = strings.ToValidUTF8(msg[:maxFailureText], "") // not half a character: PostgreSQL refuses it
	}
	attempts := m.attempts + 1
	if _, err := tx.ExecContext(ctx, `UPDATE dirty_customers SET attempts = $1, failed_at = $2, retry_at = $3, error = $4 WHERE customer_id = $5`,
		attempts, millis(now), millis(now.Add(retryAfter(attempts))), msg, m.id); err != nil {
		return fmt.Errorf("record recomputation failure: %w", err)
	}
	return nil
}

// saveResults replaces the stored results of the customers and clears
// their marks; hs are the histories they were computed from.
func (s *Store) saveResults(ctx context.Context, tx *sql.Tx, acct int64, ids []int64, results map[int64]Result, hs map[int64]*History,
	now time.Time) error {
	var points, acts, steps [][]any
	for _, id := range ids {
		res := results[id]
		for _, p := range res.Points {
			points = append(points, []any{id, acct, millis(p.At), p.MRR, boolInt(p.Active), p.FX})
		}
		for _, st := range res.Steps {
			steps = append(steps, []any{id, acct, st.SubscriptionUUID, st.ExternalID, st.Group, millis(st.At), st.MRR, boolInt(st.Live), st.Plan, st.FX})
		}
		for _, a := range res.Activities {
			subsJSON, _ := json.Marshal(a.SubscriptionExternalIDs)
			causes, _ := json.Marshal(a.Sources)
			acts = append(acts, []any{acct, id, a.UUID, millis(a.At), a.Type, a.Amount, a.MRRAfter, string(subsJSON),
				nullStr(strPtrOrNil(a.PlanExternalID)), nullStr(strPtrOrNil(a.PlanName)), string(causes)})
		}
	}
	cur := make([]customerNow, len(ids))
	for i, id := range ids {
		cur[i] = nowOf(id, acct, results[id].Points, results[id].Steps, now)
		cur[i].facts = true
		cur[i].currencies, cur[i].quantities = factsOf(hs[id])
	}
	if err := s.saveNow(ctx, tx, cur, 0); err != nil {
		return err
	}
	if err := s.clearResults(ctx, tx, ids); err != nil {
		return err
	}
	if err := s.bulkInsert(ctx, tx, "mrr_points", []string{"customer_id", "account_id", "at", "mrr", "active", "fx"}, points); err != nil {
		return fmt.Errorf("save mrr points: %w", err)
	}
	if err := s.bulkInsert(ctx, tx, "activities", []string{"account_id", "customer_id", "uuid", "at", "type", "amount", "mrr_after",
		"subscription_external_ids", "plan_external_id", "plan_name", "causes"}, acts); err != nil {
		return fmt.Errorf("save activities: %w", err)
	}
	if err := s.bulkInsert(ctx, tx, "subscription_steps", []string{"customer_id", "account_id", "subscription_uuid", "external_id",
		"group_key", "at", "mrr", "live", "plan_uuid", "fx"}, steps); err != nil {
		return fmt.Errorf("save subscription steps: %w", err)
	}
	return nil
}

// clearResults deletes the customers' stored results and marks: on
// PostgreSQL in one statement (a round trip, not four).
func (s *Store) clearResults(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `WITH p AS (DELETE FROM mrr_points WHERE customer_id = ANY($1)),
			a AS (DELETE FROM activities WHERE customer_id = ANY($1)),
			st AS (DELETE FROM subscription_steps WHERE customer_id = ANY($1))
			DELETE FROM dirty_customers WHERE customer_id = ANY($1)`, ids); err != nil {
			return fmt.Errorf("clear results: %w", err)
		}
		return nil
	}
	for _, table := range []string{"mrr_points", "activities", "subscription_steps", "dirty_customers"} {
		if err := queryInExec(ctx, s.dialect, tx, `DELETE FROM `+table+` WHERE customer_id IN (%s)`, nil, ids); err != nil {
			return fmt.Errorf("clear %s: %w", table, err)
		}
	}
	return nil
}

// MarkFlagged marks every customer of the account if a settings change
// flagged it (and clears the flag); otherwise it does nothing.
func (s *Store) MarkFlagged(ctx context.Context, acct int64) error {
	flag, err := s.markFlag(ctx, acct)
	if err != nil || flag == 0 {
		return err
	}
	return s.MarkAllDirty(ctx, acct)
}

// markFlag reads the account's count of settings changes not yet marked.
func (s *Store) markFlag(ctx context.Context, acct int64) (int64, error) {
	var flag int64
	if err := s.r.QueryRowContext(ctx, `SELECT mark_all_pending FROM accounts WHERE id = $1`, acct).Scan(&flag); err != nil {
		return 0, fmt.Errorf("read recomputation flag: %w", err)
	}
	return flag, nil
}

// MarkAllDirty marks every customer of the account for recomputation (a
// settings change, `tally recompute`), a few thousand per transaction so
// that a large account never holds the writer for long, then clears the
// account's flag.
func (s *Store) MarkAllDirty(ctx context.Context, acct int64) error {
	// A change made while this marks sets the flag again: it is cleared
	// only if it still counts the changes seen here.
	flag, err := s.markFlag(ctx, acct)
	if err != nil {
		return err
	}
	var ids []int64
	err = scanRows(ctx, s.r, `SELECT id FROM customers WHERE account_id = $1 ORDER BY id`, []any{acct}, func(scan func(...any) error) error {
		var id int64
		err := scan(&id)
		ids = append(ids, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("list customers to recompute: %w", err)
	}
	const chunk = 2000
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
			return markDirty(ctx, tx, `SELECT id FROM customers WHERE account_id = $1 AND id BETWEEN $2 AND $3`,
				acct, part[0], part[len(part)-1])
		})
		if err != nil {
			return err
		}
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE accounts SET mark_all_pending = 0 WHERE id = $1 AND mark_all_pending = $2`, acct, flag); err != nil {
		return fmt.Errorf("clear recomputation flag: %w", err)
	}
	return nil
}

// DirtyAccounts lists the accounts with marked customers that which
// selects, and those a settings change flagged.
func (s *Store) DirtyAccounts(ctx context.Context, which Pending, now time.Time) ([]int64, error) {
	cond, extra := which.where(now, 1)
	q := `SELECT DISTINCT account_id FROM dirty_customers WHERE true` + cond +
		` UNION SELECT id FROM accounts WHERE mark_all_pending <> 0 ORDER BY 1`
	var out []int64
	err := scanRows(ctx, s.r, q, extra, func(scan func(...any) error) error {
		var id int64
		err := scan(&id)
		out = append(out, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find accounts to recompute: %w", err)
	}
	return out, nil
}

// RecomputeState is whether a customer's stored results wait for a
// recomputation, and why the last one failed.
type RecomputeState struct {
	Pending  bool
	Attempts int
	FailedAt *time.Time
	RetryAt  *time.Time
	Error    string
}

// CustomerRecomputeState reads a customer's recomputation state.
func (s *Store) CustomerRecomputeState(ctx context.Context, acct, customerID int64) (RecomputeState, error) {
	var st RecomputeState
	var failed, retry sql.NullInt64
	var msg sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT attempts, failed_at, retry_at, error FROM dirty_customers WHERE account_id = $1 AND customer_id = $2`,
		acct, customerID).Scan(&st.Attempts, &failed, &retry, &msg)
	switch {
	case err == sql.ErrNoRows:
		return st, nil
	case err != nil:
		return st, fmt.Errorf("read recomputation state: %w", err)
	}
	st.Pending, st.FailedAt, st.RetryAt, st.Error = true, timePtr(failed), timePtr(retry), msg.String
	return st, nil
}

// statusAt is the status a timeline gives at now (as statusExpr works it
// out in SQL) and the next instant it may change: the next point's.
func statusAt(points []ResultPoint, now time.Time) (status string, until int64) {
	status, until = billing.StatusNewLead, math.MaxInt64
	for _, p := range points {
		if p.At.After(now) {
			return status, millis(p.At)
		}
		switch {
		case p.Active:
			status = billing.StatusActive
		case status == billing.StatusActive:
			status = billing.StatusCancelled
		}
	}
	return status, until
}

// RefreshStatuses works out anew the stored status, MRR and current plans
// (customerNow) of every customer whose state may have changed with time alone
// (status_until has come), from its stored timeline and subscription
// steps; the background pass runs it. Returns how many.
func (s *Store) RefreshStatuses(ctx context.Context, now time.Time) (int, error) {
	var ids []int64
	accts := map[int64]int64{}
	err := scanRows(ctx, s.r, `SELECT id, account_id FROM customers WHERE status_until <= $1 ORDER BY id LIMIT 5000`, []any{millis(now)},
		func(scan func(...any) error) error {
			var id, acct int64
			err := scan(&id, &acct)
			ids, accts[id] = append(ids, id), acct
			return err
		})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	points := map[int64][]ResultPoint{}
	err = queryIn(ctx, s.dialect, s.r, `SELECT customer_id, at, mrr, active FROM mrr_points WHERE customer_id IN (%s) ORDER BY customer_id, at`, nil, ids,
		func(scan func(...any) error) error {
			var id, at, mrr int64
			var active int
			if err := scan(&id, &at, &mrr, &active); err != nil {
				return err
			}
			points[id] = append(points[id], ResultPoint{At: fromMillis(at), MRR: mrr, Active: active != 0})
			return nil
		})
	if err != nil {
		return 0, fmt.Errorf("read timelines for statuses: %w", err)
	}
	steps := map[int64][]ResultStep{}
	err = queryIn(ctx, s.dialect, s.r, `SELECT customer_id, subscription_uuid, at, live, plan_uuid FROM subscription_steps WHERE customer_id IN (%s)`, nil, ids,
		func(scan func(...any) error) error {
			var id, at int64
			var st ResultStep
			var live int
			if err := scan(&id, &st.SubscriptionUUID, &at, &live, &st.Plan); err != nil {
				return err
			}
			st.At, st.Live = fromMillis(at), live != 0
			steps[id] = append(steps[id], st)
			return nil
		})
	if err != nil {
		return 0, fmt.Errorf("read subscription steps for statuses: %w", err)
	}
	// A write that recomputes one of them meanwhile writes the same thing
	// or a newer one: only rows still due are updated.
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		cur := make([]customerNow, len(part))
		for i, id := range part {
			cur[i] = nowOf(id, accts[id], points[id], steps[id], now)
		}
		if err := s.tx(ctx, func(tx *sql.Tx) error { return s.saveNow(ctx, tx, cur, millis(now)) }); err != nil {
			return 0, fmt.Errorf("refresh customer status: %w", err)
		}
	}
	return len(ids), nil
}

// DirtyCustomers counts the customers of every account marked for
// recomputation (for monitoring).
func (s *Store) DirtyCustomers(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM dirty_customers`).Scan(&n)
	return n, err
}
