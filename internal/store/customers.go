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
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/billing"
)

// customerCols selects a customer with its state now, read from the MRR
// timeline the metrics engine stored (so it stays current as time passes
// without any write): MRR, status and the day it first became a customer.
func customerCols() string {
	at := strconv.FormatInt(millis(time.Now()), 10)
	return `c.id, c.uuid, ds.uuid, ds.system, c.external_id, c.name, c.email, c.company, c.country, c.state,
	c.city, c.zip, c.website_url, c.owner, c.lead_created_at, c.free_trial_started_at, c.tags, c.custom, ` +
		statusExpr(at) + `, COALESCE((SELECT p.mrr FROM mrr_points p WHERE p.customer_id = c.id AND p.at <= ` + at + `
		ORDER BY p.at DESC LIMIT 1), 0),
	(SELECT MIN(p.at) FROM mrr_points p WHERE p.customer_id = c.id AND p.active = 1 AND p.at <= ` + at + `), c.created_at`
}

// statusExpr is a customer's status at Unix ms at: Active while a
// customer, Cancelled after having been one, a New Lead before. "Having
// been one" is a row or none of a subquery with LIMIT 1, not EXISTS:
// PostgreSQL, costing EXISTS for every customer of a list (not the page
// its LIMIT keeps), hashed the account's every MRR point first (40 ms at
// 100,000 customers, for each page).
func statusExpr(at string) string {
	return `CASE WHEN (SELECT p.active FROM mrr_points p WHERE p.customer_id = c.id AND p.at <= ` + at + `
			ORDER BY p.at DESC LIMIT 1) = 1 THEN 'Active'
		WHEN (SELECT 1 FROM mrr_points p WHERE p.customer_id = c.id AND p.active = 1 AND p.at <= ` + at + ` LIMIT 1) IS NOT NULL THEN 'Cancelled'
		ELSE 'New Lead' END`
}

const customerFrom = ` FROM customers c JOIN data_sources ds ON ds.id = c.data_source_id `

func scanCustomer(row interface{ Scan(...any) error }) (billing.Customer, error) {
	var c billing.Customer
	var country, state, zip, website, owner sql.NullString
	var lead, trial, since sql.NullInt64
	var tags, custom string
	var created int64
	err := row.Scan(&c.ID, &c.UUID, &c.DataSourceUUID, &c.DataSourceSystem, &c.ExternalID, &c.Name, &c.Email, &c.Company,
		&country, &state, &c.City, &zip, &website, &owner, &lead, &trial, &tags, &custom,
		&c.Status, &c.MRR, &since, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, &MissingError{What: "customer"}
	}
	if err != nil {
		return c, err
	}
	c.Country, c.State, c.Zip, c.WebsiteURL, c.Owner = strPtr(country), strPtr(state), strPtr(zip), strPtr(website), strPtr(owner)
	c.LeadCreatedAt, c.FreeTrialStartedAt, c.CustomerSince = timePtr(lead), timePtr(trial), timePtr(since)
	c.CreatedAt = fromMillis(created)
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return c, fmt.Errorf("decode tags of %s: %w", c.UUID, err)
	}
	if err := json.Unmarshal([]byte(custom), &c.Custom); err != nil {
		return c, fmt.Errorf("decode custom attributes of %s: %w", c.UUID, err)
	}
	return c, nil
}

func encodeAttributes(c *billing.Customer) (tags, custom string, err error) {
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.Custom == nil {
		c.Custom = map[string]billing.CustomAttribute{}
	}
	t, err := json.Marshal(c.Tags)
	if err != nil {
		return "", "", err
	}
	cu, err := json.Marshal(c.Custom)
	return string(t), string(cu), err
}

// customerInsertCols are the columns of a new customer's row, as
// customerRow gives them.
const customerInsertCols = `account_id, data_source_id, uuid, external_id, name, email, company, country, state, city, zip,
	website_url, owner, lead_created_at, free_trial_started_at, tags, custom, created_at, email_key, name_key, external_keys`

// customerRow is a new customer's row (customerInsertCols), its UUID and
// creation time already set, tags and custom encoded.
func customerRow(acct, dsID int64, c *billing.Customer, tags, custom string) []any {
	return []any{acct, dsID, c.UUID, c.ExternalID, c.Name, c.Email, c.Company, nullStr(c.Country), nullStr(c.State), c.City,
		nullStr(c.Zip), nullStr(c.WebsiteURL), nullStr(c.Owner), nullMillis(c.LeadCreatedAt), nullMillis(c.FreeTrialStartedAt),
		tags, custom, millis(c.CreatedAt), emailKey(c.Email), textKey(c.Name), textKey(c.ExternalID)}
}

// CreateCustomer stores a new customer under the data source with UUID
// c.DataSourceUUID; (data source, external_id) is unique.
func (s *Store) CreateCustomer(ctx context.Context, acct int64, c *billing.Customer) error {
	tags, custom, err := encodeAttributes(c)
	if err != nil {
		return fmt.Errorf("create customer: %w", err)
	}
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		// A results version of its own, as updateCustomer gives (and
		// taken first, as it takes it): a cache of the account's results
		// learns of the customer (a lead has no results, but segments
		// select customers, leads included, by their attributes).
		version, _, err := nextResultsVersion(ctx, tx, acct)
		if err != nil {
			return err
		}
		dsID, err := dataSourceID(ctx, tx, acct, c.DataSourceUUID)
		if err != nil {
			return err
		}
		c.UUID, c.CreatedAt, c.Status = NewUUID("cus_"), now(), billing.StatusNewLead // no history yet
		err = tx.QueryRowContext(ctx, `INSERT INTO customers (`+customerInsertCols+`, results_version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) RETURNING id`,
			append(customerRow(acct, dsID, c, tags, custom), version)...).Scan(&c.ID)
		if isUnique(err) {
			return &ConflictError{Field: "external_id"}
		}
		if err != nil {
			return fmt.Errorf("create customer: %w", err)
		}
		// A merged-away customer's identity lives on in another customer.
		_, err = tx.ExecContext(ctx, `INSERT INTO customer_identities (account_id, customer_id, data_source_id, external_id)
			VALUES ($1, $2, $3, $4)`, acct, c.ID, dsID, c.ExternalID)
		if isUnique(err) {
			return &ConflictError{Field: "external_id"}
		}
		if err != nil {
			return fmt.Errorf("create customer: %w", err)
		}
		c.Identities = []billing.Identity{{DataSourceUUID: c.DataSourceUUID, ExternalID: c.ExternalID}}
		return tx.QueryRowContext(ctx, `SELECT system FROM data_sources WHERE id = $1`, dsID).Scan(&c.DataSourceSystem)
	})
}

// CustomerFilter narrows a customer list; empty fields do not filter.
type CustomerFilter struct {
	DataSourceUUID string
	ExternalID     string
	Status         string
	System         string
	Email          string

	// Tally's own (docs/api.md "Customer search"): Query is text found,
	// case-insensitively, in the name, the email or any external id (3
	// to 255 characters); Plan a plan's UUID, external id or name (as
	// the metrics' plans filter takes them), for the customers with a
	// live subscription on it now; Countries ISO 3166-1 alpha-2 codes.
	Query     string
	Plan      string
	Countries []string
	// CustomerIDs, when not nil, restricts the list to these customers
	// (internal ids; other accounts' are never listed): the members of a
	// segment the caller worked out. Empty, nothing matches.
	CustomerIDs []int64
	// Sort orders the list (creation order when empty); After, for a
	// sorted list, is the last customer of the page before, which the
	// page starts after (Page.AfterID is for creation order only).
	Sort  CustomerSort
	After *CustomerKey
}

// CustomerSort is the order of a customer list: by MRR now or by name
// (case-folded, byte by byte), ascending or, with "-", descending; ties
// by id, the other way round in a descending order (each order is the
// exact reverse of its ascending one).
type CustomerSort string

const (
	SortCreated  CustomerSort = ""
	SortMRR      CustomerSort = "mrr"
	SortMRRDesc  CustomerSort = "-mrr"
	SortName     CustomerSort = "name"
	SortNameDesc CustomerSort = "-name"
)

// Valid says whether the order is one the list knows.
func (o CustomerSort) Valid() bool {
	switch o {
	case SortCreated, SortMRR, SortMRRDesc, SortName, SortNameDesc:
		return true
	}
	return false
}

// CustomerKey is a customer's place in a sorted list: its id, and its
// MRR or name as the list showed them.
type CustomerKey struct {
	ID   int64
	MRR  int64
	Name string
}

// FilterError is a list filter whose value cannot be used, with the
// parameter it came in (the API's 400 names it).
type FilterError struct {
	Param   string
	Message string
}

func (e *FilterError) Error() string { return "filter " + e.Param + ": " + e.Message }

// A search text is at least minQuery characters (a trigram: shorter text
// no index serves, and it matches most of a book) and at most maxQuery
// (the longest name, email or external id).
const (
	minQuery = 3
	maxQuery = 255
)

// ListCustomers lists the account's customers in creation order, or in
// f.Sort's.
func (s *Store) ListCustomers(ctx context.Context, acct int64, f CustomerFilter, p Page) (Listed[billing.Customer], error) {
	// A customer is listed under every data source and external id it is
	// known by (merged identities included); each filter selects customer
	// ids through an index of its own.
	var inSource, ofSystem string
	var err error
	var ids idConds
	// A filter that selects every data source of the account selects
	// every customer (sourceIDs): it is left out.
	bySource, bySystem := `$2 = ''`, `$5 = ''`
	if f.DataSourceUUID != "" {
		var every bool
		if inSource, every, err = s.sourceIDs(ctx, acct, f.DataSourceUUID, ""); err != nil {
			return Listed[billing.Customer]{}, err
		}
		bySource = `$2 <> ''`
		if !every {
			bySource = ids.in(rankSource, `SELECT ci.customer_id FROM customer_identities ci WHERE ci.data_source_id `+inSource) + ` AND $2 <> ''`
			if f.ExternalID != "" {
				// The external id picks a customer or two: check their data
				// sources one by one rather than list the data source's every
				// customer (the client's lookup before an import).
				bySource = `EXISTS (SELECT 1 FROM customer_identities ci WHERE ci.customer_id = c.id AND ci.data_source_id ` + inSource + `) AND $2 <> ''`
			}
		}
	}
	if f.System != "" {
		var every bool
		if ofSystem, every, err = s.sourceIDs(ctx, acct, "", f.System); err != nil {
			return Listed[billing.Customer]{}, err
		}
		bySystem = `$5 <> ''`
		if !every {
			bySystem = ids.in(rankSource, `SELECT sc.id FROM customers sc WHERE sc.data_source_id `+ofSystem) + ` AND $5 <> ''`
		}
	}
	byExternal := `$3 = ''`
	if f.ExternalID != "" {
		byExternal = ids.in(rankExternal, `SELECT ci.customer_id FROM customer_identities ci WHERE ci.account_id = $1 AND ci.external_id = $3`)
	}
	// The stored status is the timeline's until status_until: only the
	// customers past it (not refreshed yet: few, found through the index
	// of status_until) are checked against their timelines, which costs
	// two lookups a customer (issue 11: checking every Active customer
	// took 100 ms at 100,000 customers, and PostgreSQL, costing the check
	// for every row, spent as long compiling the query). "+c.account_id":
	// SQLite would read the account's every entry of customers_status.
	at := strconv.FormatInt(millis(time.Now()), 10)
	cond := `
		AND ` + bySource + `
		AND ` + byExternal + `
		AND ` + filter(f.Status, `$4`, `c.status = $4 AND (c.status_until > `+at+` OR c.id IN (SELECT c.id FROM customers c
			WHERE c.status_until <= `+at+` AND +c.account_id = $1 AND `+statusExpr(at)+` = $4))`) + `
		AND ` + bySystem + `
		AND ` + eq(`c.email_key`, `$6`, emailKey(f.Email))
	args := []any{acct, f.DataSourceUUID, f.ExternalID, f.Status, f.System, emailKey(f.Email)}
	more, err := s.searchFilters(ctx, acct, f, &args, &ids)
	if err != nil {
		return Listed[billing.Customer]{}, err
	}
	cond = ids.resolve(cond+more.cond, s.dialect)
	where := `WHERE c.account_id = $1` + cond
	count := `SELECT count(*) FROM customers c ` + where
	// A data source or a system of every customer narrows nothing.
	everySource := f.DataSourceUUID == "" || bySource == `$2 <> ''`
	everySystem := f.System == "" || bySystem == `$5 <> ''`
	if more.plans != "" && !more.narrowed && everySource && everySystem && f.ExternalID == "" && f.Status == "" && f.Email == "" {
		// The plan alone: its customers are counted in its own index (the
		// count through the customers took 45 ms for a plan of 40,000). A
		// customer is on one plan once; on two of the plans a name or an
		// external id resolved to, once.
		count = `SELECT count(DISTINCT cp.customer_id) FROM customer_plans cp WHERE cp.account_id = $1 AND cp.plan_uuid IN (` + more.plans + `)
			AND ($2 = '' OR $2 <> '') AND $3 = '' AND $4 = '' AND ($5 = '' OR $5 <> '') AND $6 = ''`
		if !strings.Contains(more.plans, ",") {
			count = strings.Replace(count, "DISTINCT cp.customer_id", "*", 1)
		}
	}
	scan := func(row interface{ Scan(...any) error }) (billing.Customer, int64, error) {
		c, err := scanCustomer(row)
		return c, c.ID, err
	}
	var l Listed[billing.Customer]
	if f.Sort == SortCreated {
		n := len(args)
		l, err = list(ctx, s.reads(), "customers", count,
			`SELECT `+customerCols()+customerFrom+where+fmt.Sprintf(` AND c.id > $%d ORDER BY c.id LIMIT $%d OFFSET $%d`, n+1, n+2, n+3),
			args, p.AfterID, p, scan)
	} else {
		// The filters that select customer ids through an index of their
		// own, which a sorted SQLite list may read its page through.
		byIDs := len(ids.ranks) > 0 || more.byIDs
		l, err = s.listSorted(ctx, count, cond, byIDs, args, f, p, scan)
	}
	if err != nil {
		return l, err
	}
	if err := loadIdentities(ctx, s.dialect, s.reads(), l.Items); err != nil {
		return l, err
	}
	return l, nil
}

// searchFilters is the SQL of f's search, plan, country and customer
// set filters, their values appended to args; a value that cannot be
// used is a *FilterError.
func (s *Store) searchFilters(ctx context.Context, acct int64, f CustomerFilter, args *[]any, ids *idConds) (searched, error) {
	arg := func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	}
	var where strings.Builder
	var out searched
	if !f.Sort.Valid() {
		return out, &FilterError{"sort", "sort must be mrr, -mrr, name or -name."}
	}
	if q := textKey(f.Query); q != "" {
		switch n := utf8.RuneCountInString(q); {
		case n < minQuery:
			return out, &FilterError{"q", "q must be at least " + strconv.Itoa(minQuery) + " characters long."}
		case n > maxQuery:
			return out, &FilterError{"q", "q must be at most " + strconv.Itoa(maxQuery) + " characters long."}
		}
		out.narrowed, out.byIDs = true, true
		// A trigram index of the folded keys finds the rows that contain
		// the text, exactly: SQLite's FTS5 as a phrase (of trigrams),
		// PostgreSQL's pg_trgm as LIKE '%…%' (or, where it estimates that
		// most customers match, by reading them in the list's order). A
		// customer is found by any of its identities' external ids, merged
		// ones included.
		if s.dialect == SQLite {
			m := arg(`"` + strings.ReplaceAll(q, `"`, `""`) + `"`)
			where.WriteString(` AND ` + ids.in(rankSearch, `SELECT rowid FROM customer_search WHERE customer_search MATCH `+m))
		} else {
			m := arg("%" + likeEscaper.Replace(q) + "%")
			where.WriteString(` AND (c.name_key LIKE ` + m + ` OR c.email_key LIKE ` + m + ` OR c.external_keys LIKE ` + m + `)`)
		}
	}
	if plan := strings.TrimSpace(f.Plan); plan != "" {
		uuids, unknown, err := s.ResolvePlans(ctx, acct, []string{plan})
		if err != nil {
			return out, err
		}
		if len(unknown) > 0 {
			return out, &FilterError{"plan", "No plan of the account has the UUID, external id or name " + strconv.Quote(plan) + "."}
		}
		// A plan of few customers selects them through its index; a plan
		// of many is checked customer by customer as the list reads them
		// (SQLite: a set of 40,000 ids took 15 ms to build for a page).
		var size int
		if err := queryIn(ctx, s.dialect, s.reads(), `SELECT count(*) FROM customer_plans WHERE account_id = $1 AND plan_uuid IN (%s)`, []any{acct}, uuids,
			func(scan func(...any) error) error { return scan(&size) }); err != nil {
			return out, fmt.Errorf("count the plan's customers: %w", err)
		}
		marks := make([]string, len(uuids))
		for i, u := range uuids {
			marks[i] = arg(u)
		}
		out.plans = strings.Join(marks, ", ")
		if size <= sortMatches {
			out.byIDs = true
			where.WriteString(` AND ` + ids.in(rankFew, `SELECT cp.customer_id FROM customer_plans cp WHERE cp.account_id = $1
				AND cp.plan_uuid IN (`+out.plans+`)`))
		} else {
			where.WriteString(` AND EXISTS (SELECT 1 FROM customer_plans cp WHERE cp.customer_id = c.id AND cp.plan_uuid IN (` + out.plans + `))`)
		}
	}
	var countries []string
	for _, c := range f.Countries {
		c = strings.ToUpper(strings.TrimSpace(c))
		switch {
		case c == "" || slices.Contains(countries, c):
			continue
		case !billing.ValidCountry(c):
			return out, &FilterError{"country", "country must list ISO 3166-1 alpha-2 country codes; " + c + " is not one."}
		}
		countries = append(countries, c)
	}
	if len(countries) > 0 {
		marks := make([]string, len(countries))
		for i, c := range countries {
			marks[i] = arg(c)
		}
		where.WriteString(` AND c.country IN (` + strings.Join(marks, ", ") + `)`)
		out.narrowed = true
	}
	if f.CustomerIDs != nil {
		// A set of few customers is read by id; of many, tested against
		// each customer the list reads in its order.
		cond, few := s.idSet(`c.id`, f.CustomerIDs, args)
		if few {
			// idSet's list: "c.id IN (SELECT value FROM json_each($n))" on
			// SQLite, "c.id = ANY(…)" on PostgreSQL.
			if sub, ok := strings.CutPrefix(cond, `c.id IN (`); ok {
				cond = ids.in(rankFew, strings.TrimSuffix(sub, `)`))
			}
		}
		where.WriteString(` AND ` + cond)
		out.narrowed, out.byIDs = true, out.byIDs || few
	}
	out.cond = where.String()
	return out, nil
}

// idConds are a customer list's conditions "c.id IN (subquery)", each
// selecting customer ids through an index of its own. SQLite, which plans
// without statistics, reads two of them as two lists of keys of one
// index (the customers' ids) and looks up every pair: at 10,000 customers
// a plan's 1,400 customers and a data source's 10,000 took 20 s. So only
// the one expected to select fewest (the lowest rank) selects the rows;
// the others are written "+c.id IN" (an expression, which no index
// serves), each a set the rows are tested against. PostgreSQL, which
// joins them by their statistics, gets them as they are.
type idConds struct {
	ranks []int
}

// The ranks of id conditions, fewest rows expected first.
const (
	rankExternal = iota // an external id: a customer or two
	rankFew             // a plan's or a segment's few customers (at most sortMatches)
	rankSearch          // the customers a search text finds
	rankSource          // a data source's or a system's customers
)

// in is "c.id IN (sub)" of the given rank, marked for resolve.
func (c *idConds) in(rank int, sub string) string {
	c.ranks = append(c.ranks, rank)
	return "\x00" + strconv.Itoa(len(c.ranks)-1) + "\x00 IN (" + sub + ")"
}

// resolve writes the marks of in into cond: "c.id" for the first of the
// lowest rank, and on SQLite "+c.id" for the others.
func (c *idConds) resolve(cond string, d Dialect) string {
	first := -1
	for i, r := range c.ranks {
		if first < 0 || r < c.ranks[first] {
			first = i
		}
	}
	for i := range c.ranks {
		col := "c.id"
		if i != first && d == SQLite {
			col = "+c.id"
		}
		cond = strings.Replace(cond, "\x00"+strconv.Itoa(i)+"\x00", col, 1)
	}
	return cond
}

// searched is the SQL of a list's search, plan, country and customer set
// filters.
type searched struct {
	cond     string
	plans    string // the plan filter's parameters ("$7, $8"), "" without one
	narrowed bool   // by the search, the countries or a set of customers
	byIDs    bool   // the search, the plan or a set of few customers selects customer ids through an index of its own
}

// likeEscaper makes text match itself in a LIKE pattern (PostgreSQL's
// default escape character is the backslash).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// sortMatches is how many matching customers a sorted SQLite list sorts
// rather than find by walking the order's index: at 100,000 customers,
// 2,000 matches are found in the index within 50 rows a match.
const sortMatches = 2000

// listSorted runs one page of a sorted customer list: the page's ids
// first, in the order, through the order's index (customers_mrr,
// customers_name), after the keyset position f.After or at p's offset;
// then their columns, which are worked out for the page's rows alone.
func (s *Store) listSorted(ctx context.Context, count, cond string, byIDs bool, args []any, f CustomerFilter, p Page,
	scan func(row interface{ Scan(...any) error }) (billing.Customer, int64, error)) (Listed[billing.Customer], error) {
	q := s.reads()
	var total int
	if err := q.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return Listed[billing.Customer]{}, fmt.Errorf("count customers: %w", err)
	}
	col, dir, cmp := "c.mrr", "", ">"
	if f.Sort == SortName || f.Sort == SortNameDesc {
		col = "c.name_key"
	}
	if f.Sort == SortMRRDesc || f.Sort == SortNameDesc {
		dir, cmp = " DESC", "<"
	}
	// SQLite plans without statistics, and walks the order's index through
	// every customer of the account, testing each, even when the filters
	// pick a handful: when the count says few match, the order (and the
	// account, when a filter selects ids) is written as an expression no
	// index serves, so that it reads the matches through the filters'
	// indexes and sorts them (PostgreSQL weighs the two plans itself).
	order, where := col, `WHERE c.account_id = $1`+cond
	if s.dialect == SQLite && total <= sortMatches {
		order = map[string]string{"c.mrr": "c.mrr + 0", "c.name_key": "c.name_key || ''"}[col]
		where = `WHERE ` + byAccount("c.account_id", byIDs) + cond
	}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if k := f.After; k != nil {
		var key any = k.MRR
		if col == "c.name_key" {
			key = textKey(k.Name)
		}
		where += ` AND (` + order + `, c.id) ` + cmp + ` (` + arg(key) + `, ` + arg(k.ID) + `)`
	}
	limit, offset := arg(p.Limit+1), arg(p.Offset)
	rows, err := q.QueryContext(ctx, `SELECT `+customerCols()+` FROM (SELECT c.id, `+col+` AS k FROM customers c `+where+`
		ORDER BY `+order+dir+`, c.id`+dir+` LIMIT `+limit+` OFFSET `+offset+`) pg
		JOIN customers c ON c.id = pg.id JOIN data_sources ds ON ds.id = c.data_source_id
		ORDER BY pg.k`+dir+`, pg.id`+dir, args...)
	if err != nil {
		return Listed[billing.Customer]{}, fmt.Errorf("list customers: %w", err)
	}
	defer rows.Close()
	var items []billing.Customer
	var ids []int64
	for rows.Next() {
		c, id, err := scan(rows)
		if err != nil {
			return Listed[billing.Customer]{}, fmt.Errorf("list customers: %w", err)
		}
		items, ids = append(items, c), append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return Listed[billing.Customer]{}, fmt.Errorf("list customers: %w", err)
	}
	return trim(items, ids, p.Limit, total), nil
}

// Customer finds one customer of the account by UUID.
func (s *Store) Customer(ctx context.Context, acct int64, uuid string) (billing.Customer, error) {
	c, err := scanCustomer(s.r.QueryRowContext(ctx, `SELECT `+customerCols()+customerFrom+`WHERE c.account_id = $1 AND c.uuid = $2`, acct, uuid))
	if err != nil {
		return c, err
	}
	cs := []billing.Customer{c}
	err = loadIdentities(ctx, s.dialect, s.r, cs)
	return cs[0], err
}

// loadIdentities fills in the identities of the customers, own first.
func loadIdentities(ctx context.Context, d Dialect, q querier, cs []billing.Customer) error {
	byID := make(map[int64]int, len(cs))
	ids := make([]int64, len(cs))
	for i, c := range cs {
		byID[c.ID] = i
		ids[i] = c.ID
	}
	err := queryIn(ctx, d, q, `SELECT ci.customer_id, ds.uuid, ci.external_id FROM customer_identities ci
		JOIN data_sources ds ON ds.id = ci.data_source_id
		WHERE ci.customer_id IN (%s) ORDER BY ci.id`, nil, ids, func(scan func(...any) error) error {
		var id int64
		var ident billing.Identity
		if err := scan(&id, &ident.DataSourceUUID, &ident.ExternalID); err != nil {
			return err
		}
		i := byID[id]
		cs[i].Identities = append(cs[i].Identities, ident)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load customer identities: %w", err)
	}
	return nil
}

// UpdateCustomer reads the customer, lets change edit it and writes the
// editable fields back, all in one transaction. An error from change
// aborts the update and is returned as is.
func (s *Store) UpdateCustomer(ctx context.Context, acct int64, uuid string, change func(*billing.Customer) error) (billing.Customer, error) {
	var c billing.Customer
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		c, err = s.updateCustomer(ctx, tx, acct, uuid, change)
		return err
	})
	return c, err
}

// UpdateCustomers applies change to each of the customers in one
// transaction: if it fails for one, none is changed (the by-email
// attribute endpoints).
func (s *Store) UpdateCustomers(ctx context.Context, acct int64, uuids []string, change func(*billing.Customer) error) ([]billing.Customer, error) {
	var out []billing.Customer
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		out = out[:0]
		for _, uuid := range uuids {
			c, err := s.updateCustomer(ctx, tx, acct, uuid, change)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

func (s *Store) updateCustomer(ctx context.Context, tx *sql.Tx, acct int64, uuid string, change func(*billing.Customer) error) (billing.Customer, error) {
	// The account row before the customer's, in the order the
	// recomputation takes them (its country feeds the geo filter, so the
	// customer gets a new results version).
	version, _, err := nextResultsVersion(ctx, tx, acct)
	if err != nil {
		return billing.Customer{}, err
	}
	// NO KEY UPDATE: an import inserting the customer's invoices holds a
	// key share on the row, which FOR UPDATE would wait for (and it for us).
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR NO KEY UPDATE OF c"
	}
	c, err := scanCustomer(tx.QueryRowContext(ctx, `SELECT `+customerCols()+customerFrom+`WHERE c.account_id = $1 AND c.uuid = $2`+lock, acct, uuid))
	if err != nil {
		return c, err
	}
	cs := []billing.Customer{c}
	if err := loadIdentities(ctx, s.dialect, tx, cs); err != nil {
		return c, err
	}
	c = cs[0]
	if err := change(&c); err != nil {
		return c, err
	}
	tags, custom, err := encodeAttributes(&c)
	if err != nil {
		return c, fmt.Errorf("update customer: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE customers SET name = $3, email = $4, company = $5, country = $6, state = $7,
		city = $8, zip = $9, website_url = $10, owner = $11, lead_created_at = $12, free_trial_started_at = $13,
		tags = $14, custom = $15, email_key = $16, name_key = $17 WHERE account_id = $1 AND id = $2`,
		acct, c.ID, c.Name, c.Email, c.Company, nullStr(c.Country), nullStr(c.State), c.City, nullStr(c.Zip),
		nullStr(c.WebsiteURL), nullStr(c.Owner), nullMillis(c.LeadCreatedAt), nullMillis(c.FreeTrialStartedAt), tags, custom,
		emailKey(c.Email), textKey(c.Name))
	if err != nil {
		return c, fmt.Errorf("update customer: %w", err)
	}
	return c, stampResults(ctx, s.dialect, tx, version, []int64{c.ID})
}

// DeleteCustomer removes a customer and everything under it.
func (s *Store) DeleteCustomer(ctx context.Context, acct int64, uuid string) error {
	return s.aloneTx(ctx, acct, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM customers WHERE account_id = $1 AND uuid = $2`, acct, uuid)
		if err != nil {
			return fmt.Errorf("delete customer: %w", err)
		}
		if err := oneRow(res, "customer"); err != nil {
			return err
		}
		return customersRemoved(ctx, tx, acct)
	})
}

// emailKey is how emails are compared: trimmed and case-folded with
// Unicode rules, the same on both backends.
func emailKey(email string) string { return textKey(email) }

// textKey is how names, emails and external ids are searched and names
// ordered (name_key, email_key, external_keys): trimmed and case-folded
// with Unicode rules in Go, so that both backends match and order them
// alike, byte by byte (SQLite's lower() folds ASCII only, PostgreSQL's
// follows the database's locale).
func textKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// fillSearchKeys works out the search keys of customers that have none
// yet: those stored before migration 00012 added the columns (SQL could
// not fold them as Go does), or written since by an older server during a
// rolling upgrade. Migrate runs it; on an up-to-date database it reads the
// customers once and writes nothing.
func (s *Store) fillSearchKeys(ctx context.Context) error {
	var after int64
	for {
		type row struct {
			id   int64
			name string
		}
		var rows []row
		err := scanRows(ctx, s.w, `SELECT id, name FROM customers WHERE id > $1 AND ((name_key = '' AND name <> '') OR external_keys = '')
			ORDER BY id LIMIT 1000`, []any{after}, func(scan func(...any) error) error {
			var r row
			err := scan(&r.id, &r.name)
			rows = append(rows, r)
			return err
		})
		if err != nil || len(rows) == 0 {
			return err
		}
		after = rows[len(rows)-1].id
		err = s.tx(ctx, func(tx *sql.Tx) error {
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.id
			}
			keys, err := externalKeys(ctx, s.dialect, tx, ids)
			if err != nil {
				return err
			}
			for _, r := range rows {
				// The name's key unless a write changed the name meanwhile
				// (and its key with it).
				if _, err := tx.ExecContext(ctx, `UPDATE customers SET external_keys = $2,
					name_key = CASE WHEN name = $3 THEN $4 ELSE name_key END WHERE id = $1`,
					r.id, keys[r.id], r.name, textKey(r.name)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fill search keys: %w", err)
		}
	}
}

// externalKeys is what customers.external_keys holds for each customer:
// the folded external ids of its identities, one a line, its own first.
func externalKeys(ctx context.Context, d Dialect, q querier, ids []int64) (map[int64]string, error) {
	keys := make(map[int64]string, len(ids))
	err := queryIn(ctx, d, q, `SELECT customer_id, external_id FROM customer_identities WHERE customer_id IN (%s) ORDER BY id`, nil, ids,
		func(scan func(...any) error) error {
			var id int64
			var ext string
			if err := scan(&id, &ext); err != nil {
				return err
			}
			if k := textKey(ext); keys[id] == "" {
				keys[id] = k
			} else {
				keys[id] += "\n" + k
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read external ids: %w", err)
	}
	return keys, nil
}

// customerNow is what a customer's stored results say of it at a moment,
// kept beside it for the list's filters and orders (migrations 00010 and
// 00012): its status and MRR, the plans of its live subscriptions, and
// until, the next instant at which any of them may change.
type customerNow struct {
	id, acct int64
	status   string
	mrr      int64
	plans    []string
	until    int64
	// facts is set by a recomputation, with what the history says of the
	// customer for segments (factsOf; migration 00013).
	facts                  bool
	currencies, quantities string
}

// saveNowAll is saveNow's update on PostgreSQL, of every customer in one
// statement (rows that would not change are not written).
func saveNowAll(ctx context.Context, tx *sql.Tx, cs []customerNow, keys map[int64]string) error {
	n := len(cs)
	ids, untils, mrrs := make([]int64, n), make([]int64, n), make([]int64, n)
	statuses, exts, curs, qtys := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	facts := make([]bool, n)
	for i, c := range cs {
		ids[i], statuses[i], untils[i], mrrs[i], exts[i] = c.id, c.status, c.until, c.mrr, keys[c.id]
		curs[i], qtys[i], facts[i] = c.currencies, c.quantities, c.facts
	}
	_, err := tx.ExecContext(ctx, `UPDATE customers c SET status = v.status, status_until = v.until, mrr = v.mrr, external_keys = v.ext,
		currencies = CASE WHEN v.facts THEN v.cur ELSE c.currencies END,
		quantities = CASE WHEN v.facts THEN v.qty ELSE c.quantities END
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::boolean[])
			AS v(id, status, until, mrr, ext, cur, qty, facts)
		WHERE c.id = v.id AND (c.status <> v.status OR c.status_until <> v.until OR c.mrr <> v.mrr OR c.external_keys <> v.ext
			OR (v.facts AND (c.currencies <> v.cur OR c.quantities <> v.qty)))`, ids, statuses, untils, mrrs, exts, curs, qtys, facts)
	if err != nil {
		return fmt.Errorf("save customer status: %w", err)
	}
	return nil
}

// nowOf works out customerNow from a customer's MRR timeline (in time
// order) and its subscriptions' steps at now. A subscription is current
// when its latest step at or before now is live (started and not
// cancelled, free plans included); its plan is that step's. MRR and
// status are the timeline's, as customerCols reads them.
func nowOf(id, acct int64, points []ResultPoint, steps []ResultStep, now time.Time) customerNow {
	cur := customerNow{id: id, acct: acct}
	cur.status, cur.until = statusAt(points, now)
	for _, p := range points {
		if p.At.After(now) {
			break
		}
		cur.mrr = p.MRR
	}
	latest := map[string]ResultStep{}
	for _, st := range steps {
		if st.At.After(now) {
			cur.until = min(cur.until, millis(st.At))
			continue
		}
		if l, ok := latest[st.SubscriptionUUID]; !ok || !st.At.Before(l.At) {
			latest[st.SubscriptionUUID] = st
		}
	}
	for _, st := range latest {
		if st.Live && st.Plan != "" && !slices.Contains(cur.plans, st.Plan) {
			cur.plans = append(cur.plans, st.Plan)
		}
	}
	slices.Sort(cur.plans)
	return cur
}

// saveNow stores what the customers are now, with their external ids'
// search keys (a merge, an unmerge or a data source's deletion changes
// them and marks the customers for the recomputation that calls this),
// and replaces their current plans; from a recomputation, also what
// their histories say of them for segments. A row is written only where it
// changes (PostgreSQL rewrites every index of a row it updates). With
// due > 0 (the background pass), a customer is written only if its
// status_until is still at or before due: a recomputation that ran
// meanwhile wrote a newer state.
func (s *Store) saveNow(ctx context.Context, tx *sql.Tx, cs []customerNow, due int64) error {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.id
	}
	keys, err := externalKeys(ctx, s.dialect, tx, ids)
	if err != nil {
		return err
	}
	var saved []int64
	var plans [][]any
	if s.dialect == Postgres && due == 0 && len(cs) > 1 {
		// One statement for them all: a statement per customer took a
		// round trip each (a bulk import's thousand customers, a third
		// of a second).
		if err := saveNowAll(ctx, tx, cs, keys); err != nil {
			return err
		}
		// Every customer's plans are replaced, as below (due is 0): a
		// change of plan at the same price changes no column above.
		for _, c := range cs {
			saved = append(saved, c.id)
			for _, p := range c.plans {
				plans = append(plans, []any{c.id, c.acct, p})
			}
		}
		cs = nil
	}
	// The statement is the same for every customer with facts, and for
	// every one without: the connection prepares each once.
	for _, c := range cs {
		set, changed := ``, ``
		args := []any{c.id, c.status, c.until, c.mrr, keys[c.id]}
		if c.facts {
			set, changed = `, currencies = $6, quantities = $7`, ` OR currencies <> $6 OR quantities <> $7`
			args = append(args, c.currencies, c.quantities)
		}
		q := `UPDATE customers SET status = $2, status_until = $3, mrr = $4, external_keys = $5` + set + `
			WHERE id = $1 AND (status <> $2 OR status_until <> $3 OR mrr <> $4 OR external_keys <> $5` + changed + `)`
		if due > 0 {
			args = append(args, due)
			q += ` AND status_until <= $` + strconv.Itoa(len(args))
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("save customer status: %w", err)
		}
		// Due rows always change (their status_until moves on): none
		// written means a newer state is there.
		if n, err := res.RowsAffected(); err != nil || (due > 0 && n == 0) {
			continue
		}
		saved = append(saved, c.id)
		for _, p := range c.plans {
			plans = append(plans, []any{c.id, c.acct, p})
		}
	}
	if err := queryInExec(ctx, s.dialect, tx, `DELETE FROM customer_plans WHERE customer_id IN (%s)`, nil, saved); err != nil {
		return fmt.Errorf("clear customer plans: %w", err)
	}
	if err := s.bulkInsert(ctx, tx, "customer_plans", []string{"customer_id", "account_id", "plan_uuid"}, plans); err != nil {
		return fmt.Errorf("save customer plans: %w", err)
	}
	return nil
}
