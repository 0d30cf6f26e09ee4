package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// comparison is one column of a metric for two selections, drawn on one
// chart: the page's own (A) and a second saved segment or expression (B),
// each as the API answers it.
type comparison struct {
	// Key is the column compared; Columns are the choices.
	Key     column
	Columns []column
	// Segment and Filters are B's selection (compare-segment,
	// compare-filters), the form's values.
	Segment, Filters string
	// A and B name the two selections.
	A, B  string
	Chart chart
	Rows  []compareRow
	// Error is the API's refusal of B's selection.
	Error string
}

type compareRow struct {
	Date string
	A, B any
}

// On reports whether a second selection is set.
func (c *comparison) On() bool { return c.Segment != "" || c.Filters != "" }

// selectionLabel names a selection: its saved segment's name, its
// expression, or the whole book.
func selectionLabel(segments []savedSegment, segment, filters string, extra ...string) string {
	var parts []string
	if segment != "" {
		name := segment
		if i := slices.IndexFunc(segments, func(s savedSegment) bool { return s.UUID == segment }); i >= 0 {
			name = segments[i].Name
		}
		parts = append(parts, name)
	}
	if filters != "" {
		parts = append(parts, filters)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			parts = append(parts, extra[i]+" "+extra[i+1])
		}
	}
	if len(parts) == 0 {
		return "All customers"
	}
	return strings.Join(parts, " · ")
}

// compare reads the metric for the second selection the page names
// (compare-segment, compare-filters), over the same period, and lays the
// compared column of both answers side by side. A refusal of the second
// selection is shown beside its form.
func (w *Web) compare(r *http.Request, def metricDef, a series, p period, pg page) (*comparison, error) {
	in := r.URL.Query()
	c := &comparison{Segment: in.Get("compare-segment"), Filters: in.Get("compare-filters"), Columns: def.Columns}
	key := in.Get("compare-key")
	if key == "" && len(def.ChartKeys) > 0 {
		key = def.ChartKeys[0]
	}
	c.Key = def.Columns[0]
	if i := slices.IndexFunc(def.Columns, func(col column) bool { return col.Key == key }); i >= 0 {
		c.Key = def.Columns[i]
	}
	if !c.On() {
		return c, nil
	}
	var segs []savedSegment
	if pg.Filters != nil {
		segs = pg.Filters.Segments
	}
	c.A = selectionLabel(segs, in.Get("segment"), in.Get("filters"), "countries", in.Get("geo"), "plans", in.Get("plans"))
	c.B = selectionLabel(segs, c.Segment, c.Filters)
	q := def.query(p.Params())
	if c.Segment != "" {
		q.Set("segment", c.Segment)
	}
	if c.Filters != "" {
		q.Set("filters", c.Filters)
	}
	var b series
	if err := w.get(r, def.API, q, &b); err != nil {
		var ae apiError
		if errors.As(err, &ae) && refusal(ae.StatusCode()) {
			c.Error = ae.Message()
			return c, nil
		}
		return nil, err
	}
	c.Chart = chart{Kind: "line", Unit: c.Key.Unit, Currency: pg.Account.Currency, Unfinished: p.Unfinished(),
		Series: []chartSeries{
			{Key: "a", Label: c.A, Role: "line", Unit: c.Key.Unit, Values: numbers(a.Entries, c.Key.Key)},
			{Key: "b", Label: c.B, Role: "line", Unit: c.Key.Unit, Values: make([]json.Number, len(a.Entries))},
		}}
	byDate := map[string]map[string]any{}
	for _, e := range b.Entries {
		byDate[str(e["date"])] = e
	}
	for i, e := range a.Entries {
		d := str(e["date"])
		c.Chart.Dates = append(c.Chart.Dates, d)
		row := compareRow{Date: d, A: e[c.Key.Key]}
		c.Chart.Series[1].Values[i] = "0"
		if eb, ok := byDate[d]; ok {
			row.B = eb[c.Key.Key]
			c.Chart.Series[1].Values[i] = number(eb[c.Key.Key])
		}
		c.Rows = append(c.Rows, row)
	}
	return c, nil
}

// refusal reports whether an API status is its refusal of what the page
// asked (a bad expression, an unknown segment), to show beside the form
// that asked it, rather than a failure of the page.
func refusal(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusNotFound || status == http.StatusUnprocessableEntity
}

// refuse answers a page whose selection the API refused: the page's
// controls, with the API's words beside the builder. Any other error is
// the page's failure.
func (w *Web) refuse(rw http.ResponseWriter, r *http.Request, pg page, err error) error {
	var ae apiError
	if pg.Filters == nil || !pg.Filters.Active() || !errors.As(err, &ae) || !refusal(ae.StatusCode()) ||
		strings.HasSuffix(r.URL.Path, ".csv") {
		return err
	}
	pg.Filters.Error = ae.Message()
	pg.Version = ""
	w.render(rw, r, ae.StatusCode(), "refused", pg)
	return nil
}

// keepQuery is q without the named parameters, the builder's rows and
// empty values, for a form's hidden fields and a link's query.
func keepQuery(q url.Values, drop ...string) url.Values {
	out := url.Values{}
	for k, v := range q {
		if !slices.Contains(drop, k) && !rowField.MatchString(k) && slices.ContainsFunc(v, func(s string) bool { return s != "" }) {
			out[k] = v
		}
	}
	return out
}
