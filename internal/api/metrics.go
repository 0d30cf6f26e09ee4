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
	req  metrics.SeriesRequest
	asOf time.Time
	sel  selection // which customers
}

// parseSeries reads start-date, end-date, interval, as-of (Tally's own:
// the instant the summary's "current" is taken at) and the selection.
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
	sel, err := a.parseSelection(r)
	sq.sel = sel
	return sq, err
}

func weekday(name string) time.Weekday {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(d.String(), name) {
			return d
		}
	}
	return time.Sunday
}

// seriesParts are the customers of sq's selection as the engine takes
// them: every metric built on the Book (the Metrics API's nine, cohorts)
// gets its customers here, and only here.
func (a *API) seriesParts(r *http.Request, sq seriesQuery) ([]metrics.Part, error) {
	sel, err := a.selectFor(r, sq.sel)
	if err != nil {
		return nil, err
	}
	return sel.parts(), nil
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
