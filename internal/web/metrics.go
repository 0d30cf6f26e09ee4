package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// column is one field of a metric's entries, as the API names it.
type column struct {
	Key, Label string
	// Unit is money (minor units), pct, count or rate (a plain number).
	Unit string
	// Drill is what a cell links to: the activities of its period of
	// this type ("new_biz", …), of any type ("*"), or nothing ("").
	Drill string
	// Sum: the cell is the sum of the activities it links to
	// (movement flows), so the drill-down adds up to it.
	Sum bool
}

// chartKind is how a metric is drawn: "movements" (stacked movement bars
// with the MRR line), "line" or "bars".
type metricDef struct {
	Name, Title, API string
	// Extra are parameters the page always asks its answer with.
	Extra   url.Values
	Columns []column
	Chart   string
	// ChartKeys are the columns drawn (all of them when empty).
	ChartKeys []string
	// Summary is the API summary's fields shown as tiles: the "current",
	// "previous" and change of each key.
	About string
}

var (
	movementCols = []column{
		{"mrr-new-business", "New business", "money", "new_biz", true},
		{"mrr-expansion", "Expansion", "money", "expansion", true},
		{"mrr-reactivation", "Reactivation", "money", "reactivation", true},
		{"mrr-contraction", "Contraction", "money", "contraction", true},
		{"mrr-churn", "Churn", "money", "churn", true},
		{"net-new-mrr", "Net new MRR", "money", "*", true},
	}
	metricDefs = []metricDef{
		{Name: "mrr", Title: "MRR", API: "/v1/metrics/mrr", Extra: url.Values{"with_net_new": {"true"}}, Chart: "movements",
			Columns: append([]column{{"mrr", "MRR", "money", "*", false}}, movementCols...),
			About:   "Monthly recurring revenue at the end of each period, and the movements that changed it."},
		{Name: "arr", Title: "ARR", API: "/v1/metrics/arr", Chart: "line",
			Columns: []column{{"arr", "ARR", "money", "*", false}}, About: "Annual run rate: 12 × MRR."},
		{Name: "arpa", Title: "ARPA", API: "/v1/metrics/arpa", Chart: "line",
			Columns: []column{{"arpa", "ARPA", "money", "*", false}}, About: "Average revenue per account: MRR ÷ paying customers."},
		{Name: "asp", Title: "ASP", API: "/v1/metrics/asp", Chart: "line",
			Columns: []column{{"asp", "ASP", "money", "new_biz", false}}, About: "Average sale price: new-business MRR ÷ new customers in the period."},
		{Name: "customer-count", Title: "Customers", API: "/v1/metrics/customer-count", Chart: "line",
			Columns: []column{{"customers", "Customers", "count", "*", false}}, About: "Paying customers at the end of each period."},
		{Name: "customer-churn-rate", Title: "Customer churn rate", API: "/v1/metrics/customer-churn-rate", Chart: "line",
			Columns: []column{{"customer-churn-rate", "Customer churn rate", "pct", "churn", false}}, About: "Customers lost in the period as a share of those at its start."},
		{Name: "mrr-churn-rate", Title: "Net MRR churn rate", API: "/v1/metrics/mrr-churn-rate", Chart: "line",
			Columns: []column{{"mrr-churn-rate", "Net MRR churn rate", "pct", "*", false}}, About: "MRR lost to churn and contraction, less expansion and reactivation, as a share of MRR at the period's start."},
		{Name: "ltv", Title: "LTV", API: "/v1/metrics/ltv", Chart: "line",
			Columns: []column{{"ltv", "LTV", "money", "*", false}}, About: "Customer lifetime value: ARPA ÷ customer churn rate."},
		{Name: "all", Title: "All metrics", API: "/v1/metrics/all", Chart: "line", ChartKeys: []string{"mrr"},
			Columns: []column{{"mrr", "MRR", "money", "*", false}, {"arr", "ARR", "money", "*", false},
				{"customers", "Customers", "count", "*", false}, {"arpa", "ARPA", "money", "*", false},
				{"asp", "ASP", "money", "new_biz", false}, {"customer-churn-rate", "Customer churn", "pct", "churn", false},
				{"mrr-churn-rate", "Net MRR churn", "pct", "*", false}, {"ltv", "LTV", "money", "*", false}},
			About: "Every metric of the Metrics API, period by period."},
		{Name: "cash-flow", Title: "Cash flow", API: "/v1/metrics/cash-flow", Chart: "bars",
			ChartKeys: []string{"gross-cash-flow", "refunds", "net-cash-flow"},
			Columns: []column{{"gross-cash-flow", "Gross", "money", "", false}, {"refunds", "Refunds", "money", "", false},
				{"net-cash-flow", "Net", "money", "", false}, {"non-recurring-cash-flow", "Non-recurring", "money", "", false},
				{"failed-charges", "Failed charges", "money", "", false}, {"failed-transactions", "Failed transactions", "count", "", false},
				{"successful-payments", "Successful payments", "count", "", false}},
			About: "Money collected: successful payments less refunds, by the date of each transaction."},
		{Name: "retention", Title: "Retention", API: "/v1/metrics/retention", Chart: "line",
			ChartKeys: []string{"net-mrr-retention", "gross-mrr-retention", "customer-retention"},
			Columns: []column{{"net-mrr-retention", "Net MRR retention", "pct", "*", false},
				{"gross-mrr-retention", "Gross MRR retention", "pct", "*", false},
				{"gross-mrr-churn-rate", "Gross MRR churn", "pct", "*", false},
				{"customer-retention", "Customer retention", "pct", "churn", false},
				{"net-mrr-retention-t12m", "Net MRR retention (12 mo.)", "pct", "", false},
				{"gross-mrr-retention-t12m", "Gross MRR retention (12 mo.)", "pct", "", false},
				{"customer-retention-t12m", "Customer retention (12 mo.)", "pct", "", false}},
			About: "How much of the MRR and of the customers at a period's start is still there at its end."},
		{Name: "cmrr", Title: "Committed MRR", API: "/v1/metrics/cmrr", Chart: "line", ChartKeys: []string{"cmrr", "mrr"},
			Columns: []column{{"cmrr", "Committed MRR", "money", "", false}, {"mrr", "MRR", "money", "*", false},
				{"scheduled-new-business", "Scheduled new business", "money", "", false},
				{"scheduled-expansion", "Scheduled expansion", "money", "", false},
				{"scheduled-contraction", "Scheduled contraction", "money", "", false},
				{"scheduled-churn", "Scheduled churn", "money", "", false},
				{"scheduled-reactivation", "Scheduled reactivation", "money", "", false}},
			About: "MRR with the changes already scheduled (subscription events in the future)."},
	}
)

// columnLabel is the column a drill-down names (its with parameter), the
// zero column for a key no metric table has.
func columnLabel(key string) column {
	for _, d := range metricDefs {
		if i := slices.IndexFunc(d.Columns, func(c column) bool { return c.Key == key }); i >= 0 {
			return d.Columns[i]
		}
	}
	return column{}
}

// query is q with the def's Extra parameters, a copy.
func (d metricDef) query(q url.Values) url.Values {
	out := maps.Clone(q)
	maps.Copy(out, d.Extra)
	return out
}

func metricDefByName(name string) (metricDef, bool) {
	i := slices.IndexFunc(metricDefs, func(d metricDef) bool { return d.Name == name })
	if i < 0 {
		return metricDef{}, false
	}
	return metricDefs[i], true
}

// series is a Metrics API answer as the API wrote it.
type series struct {
	Entries []map[string]any `json:"entries"`
	Summary map[string]any   `json:"summary"`
}

// chart is what app.js draws: the API's values as it wrote them, with a
// drill-down link per point.
type chart struct {
	Kind       string        `json:"kind"`
	Dates      []string      `json:"dates"`
	Series     []chartSeries `json:"series"`
	Unit       string        `json:"unit"`
	Currency   string        `json:"currency"`
	Unfinished bool          `json:"unfinished"`
	// Decimals and Symbol say how the currency is written.
	Decimals int    `json:"decimals"`
	Symbol   string `json:"symbol"`
}

type chartSeries struct {
	Key    string        `json:"key"`
	Label  string        `json:"label"`
	Role   string        `json:"role"` // gain, loss, line, bar
	Unit   string        `json:"unit"`
	Values []json.Number `json:"values"`
	Links  []string      `json:"links,omitempty"`
}

// JSON is the chart for its data attribute.
func (c chart) JSON() (string, error) {
	c.Decimals, c.Symbol = money.Exponent(c.Currency), symbol(c.Currency)
	b, err := json.Marshal(c)
	return string(b), err
}

// entryPeriods are the dates each entry covers: from the range's start or
// the day after the entry before, to the entry's date (metrics.md rule
// 15: the first period starts at start-date).
func entryPeriods(entries []map[string]any, start time.Time) [][2]string {
	out := make([][2]string, len(entries))
	from := start.Format(time.DateOnly)
	for i, e := range entries {
		d := str(e["date"])
		out[i] = [2]string{from, d}
		if t, err := time.Parse(time.DateOnly, d); err == nil {
			from = t.Add(day).Format(time.DateOnly)
		}
	}
	return out
}

// drillLink is a cell's drill-down: the activities of its period, of the
// page's selection (keep).
func drillLink(base string, c column, span [2]string, keep url.Values) string {
	if c.Drill == "" {
		return ""
	}
	typ := c.Drill
	if typ == "*" {
		typ = ""
	}
	return link(base, "activities", "start-date", span[0], "end-date", span[1], "type", typ, "with", c.Key,
		"filters", keep.Get("filters"), "segment", keep.Get("segment"))
}

// numbers is one key of every entry.
func numbers(entries []map[string]any, key string) []json.Number {
	out := make([]json.Number, len(entries))
	for i, e := range entries {
		if n, ok := e[key].(json.Number); ok {
			out[i] = n
		} else {
			out[i] = "0"
		}
	}
	return out
}

// buildChart draws def's series.
func buildChart(def metricDef, s series, p period, base, currency string) chart {
	spans := entryPeriods(s.Entries, p.Start)
	c := chart{Kind: def.Chart, Currency: currency, Unfinished: p.Unfinished()}
	for _, e := range s.Entries {
		c.Dates = append(c.Dates, str(e["date"]))
	}
	cols := def.Columns
	if def.Chart == "movements" {
		cols = []column{movementCols[0], movementCols[1], movementCols[2], movementCols[3], movementCols[4], def.Columns[0]}
	}
	for _, col := range cols {
		if len(def.ChartKeys) > 0 && !slices.Contains(def.ChartKeys, col.Key) {
			continue
		}
		role := "line"
		switch {
		case def.Chart == "movements" && (col.Key == "mrr-contraction" || col.Key == "mrr-churn"):
			role = "loss"
		case def.Chart == "movements" && col.Key != "mrr":
			role = "gain"
		case def.Chart == "bars":
			role = "bar"
		}
		cs := chartSeries{Key: col.Key, Label: col.Label, Role: role, Unit: col.Unit, Values: numbers(s.Entries, col.Key)}
		if col.Drill != "" && p.NoDrill == "" {
			for _, sp := range spans {
				cs.Links = append(cs.Links, drillLink(base, col, sp, p.Keep))
			}
		}
		c.Series = append(c.Series, cs)
		if c.Unit == "" {
			c.Unit = col.Unit
		}
	}
	return c
}

// table is a metric's entries as rows of cells.
type table struct {
	Columns []column
	Rows    []row
}

type row struct {
	Date  string
	Cells []cell
}

type cell struct {
	Key, Unit string
	Value     any
	Link      string
}

func buildTable(def metricDef, s series, p period, base string) table {
	spans := entryPeriods(s.Entries, p.Start)
	t := table{Columns: def.Columns}
	for i, e := range s.Entries {
		r := row{Date: str(e["date"])}
		for _, c := range def.Columns {
			var href string
			if p.NoDrill == "" {
				href = drillLink(base, c, spans[i], p.Keep)
			}
			r.Cells = append(r.Cells, cell{Key: c.Key, Unit: c.Unit, Value: e[c.Key], Link: href})
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

// metricPage is the data of a metric's page.
type metricPage struct {
	Def     metricDef
	Chart   chart
	Table   table
	Summary []summaryItem
	// Scheduled lists committed MRR's future events.
	Scheduled []map[string]any
	// Compare is the page's series beside a second selection's.
	Compare *comparison
}

type summaryItem struct {
	Label, Unit     string
	Current, Change any
	Previous        any
}

// summaryItems reads the API's summary: "current"/"previous" for a single
// metric, "current-KEY"/"previous-KEY" for several.
func summaryItems(def metricDef, s series) []summaryItem {
	var out []summaryItem
	if _, single := s.Summary["current"]; single {
		c := def.Columns[0]
		return []summaryItem{{Label: c.Label, Unit: c.Unit, Current: s.Summary["current"], Previous: s.Summary["previous"], Change: s.Summary["percentage-change"]}}
	}
	for _, c := range def.Columns {
		cur, ok := s.Summary["current-"+c.Key]
		if !ok {
			continue
		}
		out = append(out, summaryItem{Label: c.Label, Unit: c.Unit, Current: cur, Previous: s.Summary["previous-"+c.Key], Change: s.Summary[c.Key+"-percentage-change"]})
	}
	return out
}

// metric serves /metrics/NAME and /metrics/NAME.csv.
func (w *Web) metric(rw http.ResponseWriter, r *http.Request) error {
	name, asCSV := strings.CutSuffix(r.PathValue("name"), ".csv")
	def, ok := metricDefByName(name)
	if !ok {
		return errNotFound
	}
	pg, _, done, err := w.selectionPage(rw, r, def.Title, "metrics/"+def.Name)
	if done || err != nil {
		return err
	}
	p, q, err := w.period(r, pg.Filters)
	if err != nil {
		return err
	}
	pg.Period = &p
	var raw struct {
		series
		Scheduled []map[string]any `json:"scheduled"`
	}
	version, err := w.version(r)
	if err != nil {
		return err
	}
	q = def.query(q)
	if err := w.get(r, def.API, q, &raw); err != nil {
		return w.refuse(rw, r, pg, err)
	}
	s := raw.series
	if asCSV {
		return writeCSV(rw, def.Name, tableCSV(buildTable(def, s, p, pg.Base)))
	}
	pg.Version = version
	data := metricPage{Def: def, Chart: buildChart(def, s, p, pg.Base, pg.Account.Currency), Table: buildTable(def, s, p, pg.Base),
		Summary: summaryItems(def, s), Scheduled: raw.Scheduled}
	if data.Compare, err = w.compare(r, def, s, p, pg); err != nil {
		return err
	}
	pg.Data = data
	w.render(rw, r, http.StatusOK, "metric", pg)
	return nil
}

// period reads the page's period, the API's parameters to ask with (the
// page's own selection kept: geo, plans, filters, segment), and the
// account's first activity date for the "all" preset. fb is the page's
// filter builder, which knows whether the selection names plans.
func (w *Web) period(r *http.Request, fb *filterBar) (period, url.Values, error) {
	return w.periodOf(r, fb, "interval", intervals)
}

// periodOf is period with the interval in the parameter param, one of
// choices (the cohorts' cohort-interval).
func (w *Web) periodOf(r *http.Request, fb *filterBar, param string, choices []string) (period, url.Values, error) {
	v := viewerOf(r)
	p, q := parsePeriod(r.URL.Query(), today(v.p.Account, w.opts.Now()), param, choices)
	p.Keep = url.Values{}
	p.Cohorts = param == "cohort-interval"
	for _, k := range []string{"geo", "plans", "filters", "segment"} {
		s := r.URL.Query().Get(k)
		if s == "" {
			continue
		}
		q.Set(k, s)
		if k == "filters" || k == "segment" {
			p.Keep.Set(k, s)
		} else {
			// The activity list takes neither geo nor plans: a
			// drill-down would list more than the number explains.
			p.NoDrill = "geo"
		}
	}
	if p.NoDrill == "" && fb != nil && fb.PlanView {
		p.NoDrill = "plan"
	}
	var first struct {
		Entries []map[string]any `json:"entries"`
	}
	if err := w.get(r, "/v1/activities", url.Values{"per_page": {"1"}, "order": {"date"}}, &first); err != nil {
		return p, q, err
	}
	if len(first.Entries) > 0 {
		if t, err := time.Parse(time.DateOnly, formatDate(first.Entries[0]["date"])); err == nil {
			p.First = t
		}
	}
	return p, q, nil
}
