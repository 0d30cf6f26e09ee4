package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/recompute"
)

// metricKeys maps a Metrics API path to the key its entries carry.
var metricKeys = map[string]string{
	"mrr": "mrr", "arr": "arr", "arpa": "arpa", "asp": "asp", "customer-count": "customers",
	"customer-churn-rate": "customer-churn-rate", "mrr-churn-rate": "mrr-churn-rate", "ltv": "ltv",
}

// allKeys is the order of metrics in /metrics/all.
var allKeys = []string{"mrr", "arr", "customer-churn-rate", "mrr-churn-rate", "ltv", "customers", "asp", "arpa"}

// query reads a Metrics API parameter under its hyphenated name (Go's)
// or the snake_case spelling some callers use.
func query(q url.Values, name string) string {
	if v := q.Get(name); v != "" {
		return v
	}
	return q.Get(strings.ReplaceAll(name, "-", "_"))
}

// maxPlansFilter bounds the distinct plans one filter names (api.md
// "Limits"): each is a bind parameter of one query.
const maxPlansFilter = 100

// The Metrics API's dates lie in the range of every stored date
// (billing.MinDate to billing.MaxDate, api.md "Limits"): no data lies
// outside it, so a series there is a typo or a probe and is not built.
func errDateRange(param string) *Error {
	return errBadRequest(param+" must be between 1970-01-01 and 2999-12-31.", param)
}

func dateInRange(t time.Time) bool { return !t.Before(billing.MinDate) && !t.After(billing.MaxDate) }

// errTooManyEntries is a series over --max-entries.
func errTooManyEntries(max int) *Error {
	return errBadRequest("This request asks for more than "+strconv.Itoa(max)+
		" entries, the most one answer holds (--max-entries): use a longer interval or a shorter range.", "interval")
}

type seriesQuery struct {
	req   metrics.SeriesRequest
	asOf  time.Time
	geo   map[string]bool // nil: every country
	plans map[string]bool // nil: every plan
}

// parseSeries reads start-date, end-date, interval, geo, plans and as-of
// (Tally's own: the instant the summary's "current" is taken at).
func (a *API) parseSeries(r *http.Request) (seriesQuery, error) {
	q := r.URL.Query()
	acct := account(r)
	loc := accountLocation(acct)
	var sq seriesQuery
	sq.req.Location, sq.req.WeekStart = loc, weekday(acct.WeekStartOn)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start-date", &sq.req.Start}, {"end-date", &sq.req.End}} {
		v := query(q, p.name)
		if v == "" {
			return sq, errBadRequest(p.name+" is required (YYYY-MM-DD).", p.name)
		}
		t, err := billing.ParseDate(v)
		if err != nil {
			return sq, errBadRequest(p.name+" must be a date (YYYY-MM-DD).", p.name)
		}
		if !dateInRange(t) {
			return sq, errDateRange(p.name)
		}
		*p.dst = t
	}
	if sq.req.End.Before(sq.req.Start) {
		return sq, errBadRequest("end-date must not be before start-date.", "end-date")
	}
	sq.req.Interval = query(q, "interval")
	if sq.req.Interval == "" {
		sq.req.Interval = "month"
	}
	if !metrics.Intervals[sq.req.Interval] {
		return sq, errBadRequest("interval must be day, week, month, quarter or year.", "interval")
	}
	// The cap is checked here, before anything is loaded or built, by
	// cutting the periods (at most MaxEntries of them) that every series
	// cuts again with the same bound.
	sq.req.MaxEntries = a.opts.MaxEntries
	if _, _, err := sq.req.Bounds(); err != nil {
		if tooMany, ok := errors.AsType[*metrics.TooManyEntriesError](err); ok {
			return sq, errTooManyEntries(tooMany.Max)
		}
		return sq, errBadRequest(err.Error(), "interval")
	}
	sq.asOf = time.Now()
	if v := query(q, "as-of"); v != "" {
		t, err := billing.ParseDate(v)
		if err != nil {
			return sq, errBadRequest("as-of must be a date or time.", "as-of")
		}
		if !dateInRange(t) {
			return sq, errDateRange("as-of")
		}
		sq.asOf = t
	}
	if v := query(q, "geo"); v != "" {
		for _, c := range strings.Split(v, ",") {
			if c = strings.ToUpper(strings.TrimSpace(c)); c == "" {
				continue // "geo=US," or "geo=,": empty items name nothing
			}
			if !billing.ValidCountry(c) {
				return sq, errBadRequest("geo must list ISO 3166-1 alpha-2 country codes; "+c+" is not one.", "geo")
			}
			if sq.geo == nil {
				sq.geo = map[string]bool{}
			}
			sq.geo[c] = true
		}
	}
	if v := query(q, "plans"); v != "" {
		var tokens []string
		seen := map[string]bool{}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" && !seen[p] {
				seen[p] = true
				tokens = append(tokens, p)
			}
		}
		if len(tokens) == 0 {
			return sq, nil // "plans=,": no plan named, so no filter, as with "plans="
		}
		if len(tokens) > maxPlansFilter {
			return sq, errBadRequest("The plans filter names at most "+itoa(maxPlansFilter)+" different plans.", "plans")
		}
		uuids, unknown, err := a.store.ResolvePlans(r.Context(), acct.ID, tokens)
		if err != nil {
			return sq, err
		}
		if len(unknown) > 0 {
			return sq, errBadRequest("Unknown plans in the filter: "+strings.Join(unknown, ", ")+".", "plans")
		}
		sq.plans = map[string]bool{}
		for _, u := range uuids {
			sq.plans[u] = true
		}
	}
	return sq, nil
}

func weekday(name string) time.Weekday {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(d.String(), name) {
			return d
		}
	}
	return time.Sunday
}

// segment is a query's customers from the results cache: those seen as
// stored (keep), and those a plans filter aggregates again from their
// subscription steps with only those plans in view (rule 19), with the
// Book of the whole account.
type segment struct {
	all   *metrics.Book
	cs    []*cachedCustomer
	keep  map[int64]bool
	mixed map[int64]metrics.History
}

// parts are the segment's customers as parts of books: the account's
// book with the customers seen as stored kept, beside a book of those the
// plans filter aggregates again (built of them alone). Nothing is copied:
// the engine sums over the parts.
func (seg segment) parts() []metrics.Part {
	if seg.keep == nil {
		return []metrics.Part{{Book: seg.all}}
	}
	return []metrics.Part{{Book: seg.all, Keep: metrics.SetOf(seg.keep)}, {Book: metrics.NewBook(seg.mixed)}}
}

// seriesParts are the customers of sq's segment as the engine takes them:
// every metric built on the Book (the Metrics API's nine, cohorts) gets
// its customers here, and only here.
func (a *API) seriesParts(r *http.Request, sq seriesQuery) ([]metrics.Part, error) {
	seg, err := a.segment(r, sq)
	if err != nil {
		return nil, err
	}
	return seg.parts(), nil
}

// histories is the segment's engine outputs customer by customer.
func (seg segment) histories() []metrics.History {
	out := make([]metrics.History, 0, len(seg.cs))
	for _, c := range seg.cs {
		if seg.keep == nil || seg.keep[c.id] {
			out = append(out, c.history)
		}
	}
	for _, h := range seg.mixed {
		out = append(out, h)
	}
	return out
}

// segment classifies the account's customers for sq; keep is nil when
// nothing is filtered.
func (a *API) segment(r *http.Request, sq seriesQuery) (segment, error) {
	acct := account(r)
	cs, all, err := a.results.customers(r.Context(), a.store, acct.ID)
	if err != nil || (sq.geo == nil && sq.plans == nil) {
		return segment{all: all, cs: cs}, err
	}
	settings := recompute.Settings(acct)
	settings.Plans = sq.plans
	// A customer whose plans are all in the filter looks the same through
	// it, and one with none of them is not in it: only customers with
	// plans on both sides are aggregated again.
	keep := map[int64]bool{}
	mixed := map[int64]metrics.History{}
	for _, c := range cs {
		if sq.geo != nil && !sq.geo[c.country] {
			continue
		}
		if sq.plans == nil {
			keep[c.id] = true
			continue
		}
		switch some, every := c.coverage(sq.plans); {
		case every:
			keep[c.id] = true
		case some:
			res, err := metrics.Aggregate("", c.subs, settings)
			if err != nil {
				return segment{}, err
			}
			mixed[c.id] = metrics.History{Timeline: res.Timeline, Movements: res.Movements}
		}
	}
	return segment{all: all, cs: cs, keep: keep, mixed: mixed}, nil
}

// value is one metric of an entry as published.
func value(e metrics.Entry, key string) any {
	switch key {
	case "mrr":
		return e.MRR
	case "arr":
		return e.ARR()
	case "customers":
		return e.Customers
	case "arpa":
		return e.ARPA
	case "asp":
		return e.ASP
	case "customer-churn-rate":
		return e.CustomerChurnRate
	case "mrr-churn-rate":
		return e.MRRChurnRate
	case "ltv":
		return e.LTV
	}
	return nil
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// getMetric serves /v1/metrics/{name}.
func (a *API) getMetric(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	key, single := metricKeys[name]
	if !single && name != "all" {
		return errRouteNotFound(r.URL.Path)
	}
	sq, err := a.parseSeries(r)
	if err != nil {
		return err
	}
	parts, err := a.seriesParts(r, sq)
	if err != nil {
		return err
	}
	entries, err := metrics.SeriesOf(sq.req, parts...)
	if errors.Is(err, money.ErrOverflow) {
		return err
	}
	if err != nil {
		return errBadRequest(err.Error(), "interval")
	}
	var withNetNew bool
	switch r.URL.Query().Get("with_net_new") {
	case "", "false":
	case "true":
		withNetNew = true
	default:
		return errBadRequest("with_net_new must be true or false.", "with_net_new")
	}
	keys := allKeys
	if single {
		keys = []string{key}
	}
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		m := map[string]any{"date": e.Date.Format("2006-01-02")}
		for _, k := range keys {
			m[k] = value(e, k)
			change := 0.0
			if i > 0 {
				change = metrics.PercentChange(asFloat(value(entries[i-1], k)), asFloat(m[k]))
			}
			if single {
				m["percentage-change"] = change
			} else {
				m[k+"-percentage-change"] = change
			}
		}
		if name == "mrr" {
			m["mrr-new-business"], m["mrr-expansion"], m["mrr-contraction"] = e.NewBiz, e.Expansion, e.Contraction
			m["mrr-churn"], m["mrr-reactivation"] = e.Churn, e.Reactivation
			if withNetNew {
				// Tally's own: the five together, the dashboard's net
				// new MRR (asked for, so ChartMogul's entry stays as is).
				m["net-new-mrr"], m["net-new-mrr-percentage-change"] = e.NetNew(), 0.0
				if i > 0 {
					m["net-new-mrr-percentage-change"] = metrics.PercentChange(float64(entries[i-1].NetNew()), float64(e.NetNew()))
				}
			}
		}
		out[i] = m
	}
	summary := map[string]any{}
	stocks, err := summaryStocks(parts, sq)
	if err != nil {
		return err
	}
	for _, k := range keys {
		cur, prev, err := stocks.summary(parts, entries, sq, k)
		if err != nil {
			return err
		}
		if single {
			summary["current"], summary["previous"] = cur, prev
			summary["percentage-change"] = metrics.PercentChange(asFloat(prev), asFloat(cur))
		} else {
			summary["current-"+k], summary["previous-"+k] = cur, prev
			summary[k+"-percentage-change"] = metrics.PercentChange(asFloat(prev), asFloat(cur))
		}
	}
	return respond(w, r, name, map[string]any{"entries": out, "summary": summary}, out, metricColumns(name, keys, withNetNew))
}

// stocks are the summary's stock values now (as-of) and one interval
// earlier, computed once for every metric of a request.
type stocks struct{ cur, prev metrics.Entry }

func summaryStocks(parts []metrics.Part, sq seriesQuery) (stocks, error) {
	at := func(t time.Time) (metrics.Entry, error) {
		mrr, customers, err := metrics.StockAtOf(t, parts...)
		e := metrics.Entry{MRR: mrr, Customers: customers}
		if customers > 0 {
			e.ARPA = mrr / customers
		}
		return e, err
	}
	cur, err := at(sq.asOf)
	if err != nil {
		return stocks{}, err
	}
	prev, err := at(metrics.Back(sq.asOf, sq.req.Interval))
	return stocks{cur: cur, prev: prev}, err
}

// summary is rule 18's summary: MRR, ARR, customers, ARPA and ASP now
// (as-of) against one interval earlier; churn rates and LTV from the last
// two entries.
func (st stocks) summary(parts []metrics.Part, entries []metrics.Entry, sq seriesQuery, key string) (cur, prev any, err error) {
	switch key {
	case "customer-churn-rate", "mrr-churn-rate", "ltv":
		n := len(entries)
		cur = value(entries[n-1], key)
		if n > 1 {
			prev = value(entries[n-2], key)
		} else {
			prev = value(metrics.Entry{}, key)
		}
		return cur, prev, nil
	case "asp":
		back := metrics.Back(sq.asOf, sq.req.Interval)
		now, err := metrics.ASPBetweenOf(back, sq.asOf, parts...)
		if err != nil {
			return nil, nil, err
		}
		before, err := metrics.ASPBetweenOf(metrics.Back(back, sq.req.Interval), back, parts...)
		return now, before, err
	}
	return value(st.cur, key), value(st.prev, key), nil
}
