package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
)

// CustomerResults is one customer's stored engine output, with the
// facts a segment's filters select customers by (issue 12). Every write
// that changes one of the facts gives the customer a new results version,
// as a recomputation does, so the cache reloads them with the results.
type CustomerResults struct {
	CustomerID int64
	Country    string
	Version    int64
	Points     []ResultPoint
	Activities []ResultActivity
	Steps      []ResultStep

	// DataSources are the UUIDs of the data sources the customer is known
	// in: its own and those of the identities merged into it, in the order
	// they were added, each once.
	DataSources []string
	Tags        []string
	Custom      map[string]billing.CustomAttribute
	// Currencies are the distinct currencies of its invoices, sorted.
	// It and Quantities are what the recomputation last worked out from
	// the customer's history (migration 00013): a customer whose
	// recomputation fails keeps them, as it keeps its results.
	Currencies []string
	// Quantities is each subscription's quantity (by subscription UUID):
	// that of its latest line by service period start, whether or not
	// that period has begun (a stored fact cannot follow the clock: an
	// invoice issued ahead of its period counts from its import). At the
	// same start a charge wins over a credit (a negative amount: what a
	// change of quantity gives back for the old one), then the line
	// imported last. The caller sums over the subscriptions live now.
	Quantities map[string]int64
}

// ResultsState is what tells a cache of the account's results whether it
// is current: the latest results version, and how many times customers
// were removed.
func (s *Store) ResultsState(ctx context.Context, acct int64) (version, resets int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT results_seq, results_reset FROM accounts WHERE id = $1`, acct).Scan(&version, &resets)
	if err != nil {
		return 0, 0, fmt.Errorf("results state: %w", err)
	}
	return version, resets, nil
}

// ResultsSince loads the stored results of the account's customers whose
// results version is above since (all of them for since < 0).
func (s *Store) ResultsSince(ctx context.Context, acct, since int64) ([]*CustomerResults, error) {
	by := map[int64]*CustomerResults{}
	var out []*CustomerResults
	err := scanRows(ctx, s.r, `SELECT id, COALESCE(country, ''), results_version, tags, custom, currencies, quantities FROM customers
		WHERE account_id = $1 AND results_version > $2 ORDER BY id`,
		[]any{acct, since}, func(scan func(...any) error) error {
			r := &CustomerResults{}
			var tags, custom, currencies, quantities string
			if err := scan(&r.CustomerID, &r.Country, &r.Version, &tags, &custom, &currencies, &quantities); err != nil {
				return err
			}
			if err := r.decodeFacts(tags, custom, currencies, quantities); err != nil {
				return fmt.Errorf("decode customer %d: %w", r.CustomerID, err)
			}
			by[r.CustomerID] = r
			out = append(out, r)
			return nil
		})
	if err != nil || len(out) == 0 {
		return out, err
	}
	// One pass per table over the account, or over the customers changed
	// since (a subquery: after a whole-account recompute they are all of
	// them, more than a statement can bind).
	scope, args := `t.account_id = $1`, []any{acct}
	if since >= 0 {
		// By customer alone, so that each table is read through its
		// customer index for just the changed ones: with the account's
		// condition beside it, SQLite walked every row of the account to
		// test each against the list, and that grew with the book until,
		// at 200 requests/s, cache refreshes took most of the CPU.
		scope = `t.customer_id IN (SELECT id FROM customers WHERE account_id = $1 AND results_version > $2)`
		args = append(args, since)
	}
	err = scanRows(ctx, s.r, `SELECT t.customer_id, t.at, t.mrr, t.active, t.fx FROM mrr_points t WHERE `+scope+` ORDER BY t.customer_id, t.at`, args,
		func(scan func(...any) error) error {
			var id, at int64
			var p ResultPoint
			var active int
			if err := scan(&id, &at, &p.MRR, &active, &p.FX); err != nil {
				return err
			}
			if r := by[id]; r != nil {
				p.At, p.Active = fromMillis(at), active != 0
				r.Points = append(r.Points, p)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("load timelines: %w", err)
	}
	err = scanRows(ctx, s.r, `SELECT t.customer_id, t.at, t.type, t.amount, t.mrr_after FROM activities t WHERE `+scope+` ORDER BY t.customer_id, t.at, t.id`, args,
		func(scan func(...any) error) error {
			var id, at int64
			var a ResultActivity
			if err := scan(&id, &at, &a.Type, &a.Amount, &a.MRRAfter); err != nil {
				return err
			}
			if r := by[id]; r != nil {
				a.At = fromMillis(at)
				r.Activities = append(r.Activities, a)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("load activities: %w", err)
	}
	err = scanRows(ctx, s.r, `SELECT t.customer_id, t.subscription_uuid, t.external_id, t.group_key, t.at, t.mrr, t.live, t.plan_uuid, t.fx
		FROM subscription_steps t WHERE `+scope+` ORDER BY t.customer_id, t.subscription_uuid, t.at`, args,
		func(scan func(...any) error) error {
			var id, at int64
			var st ResultStep
			var live int
			if err := scan(&id, &st.SubscriptionUUID, &st.ExternalID, &st.Group, &at, &st.MRR, &live, &st.Plan, &st.FX); err != nil {
				return err
			}
			if r := by[id]; r != nil {
				st.At, st.Live = fromMillis(at), live != 0
				r.Steps = append(r.Steps, st)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("load subscription steps: %w", err)
	}
	err = scanRows(ctx, s.r, `SELECT t.customer_id, ds.uuid FROM customer_identities t JOIN data_sources ds ON ds.id = t.data_source_id
		WHERE `+scope+` ORDER BY t.customer_id, t.id`, args,
		func(scan func(...any) error) error {
			var id int64
			var u string
			if err := scan(&id, &u); err != nil {
				return err
			}
			// Two identities in one data source (a merge of two of its
			// customers) name it once.
			if r := by[id]; r != nil && !slices.Contains(r.DataSources, u) {
				r.DataSources = append(r.DataSources, u)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("load data sources: %w", err)
	}
	return out, nil
}

// decodeFacts reads the customer row's JSON columns. Empty ones are
// not decoded (most customers have no tags or custom attributes), and a
// customer's one currency is read without the decoder.
func (r *CustomerResults) decodeFacts(tags, custom, currencies, quantities string) error {
	if tags != "[]" {
		if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
	}
	if custom != "{}" {
		if err := json.Unmarshal([]byte(custom), &r.Custom); err != nil {
			return fmt.Errorf("custom attributes: %w", err)
		}
	}
	switch {
	case currencies == "[]":
	case len(currencies) == len(`["USD"]`) && currencies[:2] == `["` && currencies[5:] == `"]`:
		r.Currencies = []string{currencies[2:5]}
	default:
		if err := json.Unmarshal([]byte(currencies), &r.Currencies); err != nil {
			return fmt.Errorf("currencies: %w", err)
		}
	}
	if quantities != "{}" {
		var ok bool
		if r.Quantities, ok = quickQuantities(quantities); !ok {
			if err := json.Unmarshal([]byte(quantities), &r.Quantities); err != nil {
				return fmt.Errorf("quantities: %w", err)
			}
		}
	}
	return nil
}

// quickQuantities reads customers.quantities as the recomputation writes
// it, {"<uuid>":<n>,…} with no space or escape, a tenth of the decoder's
// time (it took a quarter second at 100,000 customers); anything else is
// not ok, for the decoder.
func quickQuantities(s string) (map[string]int64, bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	m := map[string]int64{}
	for rest := s[1 : len(s)-1]; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, ",")
		k, v, ok := strings.Cut(pair, ":")
		if !ok || len(k) < 2 || k[0] != '"' || k[len(k)-1] != '"' || strings.ContainsAny(k[1:len(k)-1], `"\`) {
			return nil, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false
		}
		m[k[1:len(k)-1]] = n
	}
	return m, true
}

// quantityLine is where a subscription line stands among its
// subscription's: the latest gives the subscription's quantity.
type quantityLine struct {
	start  int64 // service period start, Unix ms
	charge int   // 1 unless a credit (a negative amount)
	id     int64 // the later imported, the larger
}

func (a quantityLine) before(b quantityLine) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	if a.charge != b.charge {
		return a.charge < b.charge
	}
	return a.id < b.id
}

// Activity is a stored activity with what the Activities API shows of its
// customer and data source.
type Activity struct {
	ID                 int64
	UUID               string
	CustomerUUID       string
	CustomerExternalID string
	CustomerName       string
	DataSourceUUID     string
	ResultActivity
}

// ActivityFilter narrows an activity list.
type ActivityFilter struct {
	CustomerUUID string
	// CustomerIDs, when not nil, keeps the activities of these customers
	// (internal ids): a segment's. Empty, none.
	CustomerIDs []int64
	Type        string
	From, To    *int64 // Unix ms, [From, To)
	Descending  bool
	// AfterAt and AfterUUID continue after this activity, in the list's
	// order (date, then UUID). Not a row id: a recomputation writes a
	// customer's activities anew, with new ids, between a client's two
	// pages; and the place holds even if that movement is gone since.
	AfterAt   *int64
	AfterUUID string
}

// ListActivities lists activities by date (then UUID), after f.AfterAt
// and f.AfterUUID; Page.AfterID is not used.
func (s *Store) ListActivities(ctx context.Context, acct int64, f ActivityFilter, p Page) (Listed[Activity], error) {
	var afterAt int64
	if f.AfterAt != nil {
		afterAt = *f.AfterAt
	}
	args := []any{acct, f.CustomerUUID, f.Type, 0, 0, f.AfterUUID, afterAt}
	where, few := s.activityWhere(f, &args)
	from := activityFrom
	if s.dialect == SQLite && f.Type != "" && f.CustomerUUID == "" && !few {
		// One type, of the whole account (or of a set of many customers,
		// tested row by row): its activities through activities_type,
		// by date. SQLite, planning without statistics, walked
		// activities_account by date instead, reading each row for its
		// type: at 100,000 customers, where the first churns come long
		// after the first activities, 500 ms for a page of churns before
		// a date (the dates are a range of both indexes).
		from = strings.Replace(from, `FROM activities a `, `FROM activities a INDEXED BY activities_type `, 1)
	}
	order, cmp := `a.at, a.uuid`, `>`
	if f.Descending {
		order, cmp = `a.at DESC, a.uuid DESC`, `<`
	}
	// Keyset on (at, uuid) = ($7, $6). The generic row-id keyset (always
	// 0 here), the limit and the offset follow the filters' parameters.
	after := `$6 = '' AND $7 = CAST(0 AS BIGINT)`
	if f.AfterAt != nil {
		// The page starts at the cursor's date: it narrows the dates' range
		// ($4, $5), which an index reads from, and the rows of that date
		// go by UUID. Written "a.at > $7 OR (a.at = $7 AND …)", no index
		// could start there, and a page deep in the list read every
		// activity before it (20 to 40 ms half-way through 290,000).
		after = `a.at ` + cmp + ` $7 OR a.uuid ` + cmp + ` $6`
		if f.Descending {
			args[4] = min(args[4].(int64), afterAt+1)
		} else {
			args[3] = max(args[3].(int64), afterAt)
		}
	}
	n := len(args)
	// Not counted: no activity list shows a total (ActivityTotal counts
	// when asked), and counting walked every activity of the account on
	// each page.
	return list(ctx, s.reads(), "activities", "",
		`SELECT `+activityCols+from+where+` AND (`+after+`) AND `+fmt.Sprintf(`$%d = 0 ORDER BY %s LIMIT $%d OFFSET $%d`, n+1, order, n+2, n+3),
		args, 0, p,
		func(row interface{ Scan(...any) error }) (Activity, int64, error) {
			a, err := scanActivity(row)
			return a, a.ID, err
		})
}

// activityWhere is the condition selecting f's activities (but for its
// After fields) on $1 account, $2 customer, $3 type and [$4, $5) dates,
// whose bounds it sets in args, and a set of customers, whose parameter
// it appends to args.
func (s *Store) activityWhere(f ActivityFilter, args *[]any) (where string, few bool) {
	from, to := int64(-1<<62), int64(1<<62)
	if f.From != nil {
		from = *f.From
	}
	if f.To != nil {
		to = *f.To
	}
	(*args)[3], (*args)[4] = from, to
	// A set of few customers, like one customer, reads their activities
	// through the customer index (and sorts them); a set of many is
	// tested against each activity the list reads in date order.
	set := ``
	if f.CustomerIDs != nil {
		set, few = s.idSet(`a.customer_id`, f.CustomerIDs, args)
		set = ` AND ` + set
	}
	where = `WHERE ` + byAccount(`a.account_id`, f.CustomerUUID != "" || few) + ` AND ` + filter(f.CustomerUUID, `$2`, `a.customer_id = (SELECT fc.id FROM customers fc WHERE fc.account_id = $1 AND fc.uuid = $2)`) + ` AND ` + eq(`a.type`, `$3`, f.Type) + ` AND a.at >= $4 AND a.at < $5`
	if s.dialect == SQLite && f.Type != "" && f.From == nil && f.To == nil && f.AfterAt == nil {
		// The dates filter nothing: SQLite would walk the account's
		// activities by date (activities_account) rather than by type.
		// Not on PostgreSQL, which costs "+a.at" as a filter that keeps
		// almost nothing and sorted the type's every activity instead
		// of reading activities_type in order (90 ms for 25,000 churns).
		where = strings.Replace(where, `a.at >= $4 AND a.at < $5`, `+a.at >= $4 AND +a.at < $5`, 1)
	}
	return where + set, few
}

// ActivityTotal is how many activities f selects (its After fields
// aside) and the sum of their MRR movements: a drill-down's proof that
// the activities behind a number add up to it.
func (s *Store) ActivityTotal(ctx context.Context, acct int64, f ActivityFilter) (count, sum int64, err error) {
	args := []any{acct, f.CustomerUUID, f.Type, 0, 0}
	where, _ := s.activityWhere(f, &args)
	// The sum is read as text: PostgreSQL sums BIGINT as NUMERIC.
	var total string
	err = s.reads().QueryRowContext(ctx, `SELECT count(*), CAST(COALESCE(sum(a.amount), 0) AS TEXT) FROM activities a `+where,
		args...).Scan(&count, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("activity total: %w", err)
	}
	if sum, err = strconv.ParseInt(total, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("activity total %s: %w", total, money.ErrOverflow)
	}
	return count, sum, nil
}

const activityCols = `a.id, a.uuid, c.uuid, c.external_id, c.name, ds.uuid, a.at, a.type, a.amount, a.mrr_after,
	a.subscription_external_ids, COALESCE(a.plan_external_id, ''), COALESCE(a.plan_name, ''), a.causes`

const activityFrom = ` FROM activities a JOIN customers c ON c.id = a.customer_id JOIN data_sources ds ON ds.id = c.data_source_id `

func scanActivity(row interface{ Scan(...any) error }) (Activity, error) {
	var a Activity
	var at int64
	var subs, sources string
	err := row.Scan(&a.ID, &a.UUID, &a.CustomerUUID, &a.CustomerExternalID, &a.CustomerName, &a.DataSourceUUID, &at, &a.Type,
		&a.Amount, &a.MRRAfter, &subs, &a.PlanExternalID, &a.PlanName, &sources)
	if err != nil {
		return a, err
	}
	a.At = fromMillis(at)
	_ = json.Unmarshal([]byte(subs), &a.SubscriptionExternalIDs)
	_ = json.Unmarshal([]byte(sources), &a.Sources)
	return a, nil
}

// ActivityByUUID finds one activity of the account.
func (s *Store) ActivityByUUID(ctx context.Context, acct int64, uuid string) (Activity, error) {
	a, err := scanActivity(s.r.QueryRowContext(ctx, `SELECT `+activityCols+activityFrom+`WHERE a.account_id = $1 AND a.uuid = $2`, acct, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return a, &MissingError{What: "activity"}
	}
	return a, err
}

// ActivityAt is the date of the account's activity with this UUID (Go's
// start-after names the last activity seen by UUID alone).
func (s *Store) ActivityAt(ctx context.Context, acct int64, uuid string) (int64, error) {
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT at FROM activities WHERE account_id = $1 AND uuid = $2`, acct, uuid).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &MissingError{What: "activity"}
	}
	if err != nil {
		return 0, fmt.Errorf("find activity: %w", err)
	}
	return at, nil
}

// ResolvePlans turns a plans filter's names, UUIDs or external ids
// (metrics.md rule 19) into plan UUIDs, in one query; unknown names come
// back in the second list. The caller bounds and deduplicates tokens.
func (s *Store) ResolvePlans(ctx context.Context, acct int64, tokens []string) (uuids []string, unknown []string, err error) {
	if len(tokens) == 0 {
		return nil, nil, nil
	}
	args := []any{acct}
	marks := make([]string, len(tokens))
	for i, t := range tokens {
		args = append(args, t)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	in := "(" + strings.Join(marks, ", ") + ")"
	found := map[string]bool{}
	err = scanRows(ctx, s.r, `SELECT uuid, name, external_id FROM plans WHERE account_id = $1
		AND (uuid IN `+in+` OR name IN `+in+` OR external_id IN `+in+`)`, args, func(scan func(...any) error) error {
		var u, name, ext string
		if err := scan(&u, &name, &ext); err != nil {
			return err
		}
		uuids = append(uuids, u)
		found[u], found[name], found[ext] = true, true, true
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("resolve plans: %w", err)
	}
	for _, t := range tokens {
		if !found[t] {
			unknown = append(unknown, t)
		}
	}
	return uuids, unknown, nil
}

// ActivityExport is a requested export of activities.
type ActivityExport struct {
	UUID      string
	Type      string
	From, To  *int64
	Filters   string // a CFL expression, "" for none
	CreatedAt time.Time
}

// CreateActivityExport records an export request.
func (s *Store) CreateActivityExport(ctx context.Context, acct int64, x *ActivityExport) error {
	x.UUID, x.CreatedAt = uuid.Must(uuid.NewV7()).String(), now()
	_, err := s.w.ExecContext(ctx, `INSERT INTO activity_exports (uuid, account_id, activity_type, start_at, end_at, filters, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, x.UUID, acct, x.Type, nullInt(x.From), nullInt(x.To), x.Filters, millis(x.CreatedAt))
	if err != nil {
		return fmt.Errorf("create activity export: %w", err)
	}
	return nil
}

// ActivityExportByUUID finds an export of the account.
func (s *Store) ActivityExportByUUID(ctx context.Context, acct int64, id string) (ActivityExport, error) {
	var x ActivityExport
	var from, to sql.NullInt64
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT uuid, activity_type, start_at, end_at, filters, created_at FROM activity_exports
		WHERE account_id = $1 AND uuid = $2`, acct, id).Scan(&x.UUID, &x.Type, &from, &to, &x.Filters, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return x, &MissingError{What: "activities export"}
	}
	if err != nil {
		return x, fmt.Errorf("find activity export: %w", err)
	}
	x.From, x.To, x.CreatedAt = intPtr(from), intPtr(to), fromMillis(created)
	return x, nil
}
