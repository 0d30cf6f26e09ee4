package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tally-analytics/tally/internal/segment"
)

// The filter builder writes a CFL expression (ChartMogul Filter Language:
// filter~OPERATOR~value~AND~…) into the page's filters parameter, the
// API's own; the API reads it, and refuses what it cannot (a 400 naming
// the part, shown beside the builder). The filters, their operators and
// how their values are written are internal/segment's catalog, the one
// the API parses with; the builder only splits and joins the
// expression's text to show it as rows. What a filter selects is the
// API's business.

// filterDef is one filter the builder offers: a segment.Spec, with where
// its values are picked from.
type filterDef struct {
	// Name is the CFL name; the custom attributes are one entry, custom,
	// written custom.KEY.
	Name  string   `json:"name"`
	Label string   `json:"label"`
	Kind  string   `json:"kind"`
	Ops   []string `json:"ops"`
	// Keyed filters take a key and a type (a custom attribute's); Types
	// are the kind and operators of each type.
	Keyed bool                  `json:"keyed,omitempty"`
	Types map[string]customType `json:"types,omitempty"`
	// Source names the list its values are picked from: plans,
	// plan_groups, data_sources (the API's lists), statuses (the
	// catalog's).
	Source string `json:"source,omitempty"`
	Hint   string `json:"hint,omitempty"`
}

// customType is what a custom attribute of one type takes.
type customType struct {
	Kind string   `json:"kind"`
	Ops  []string `json:"ops"`
	Hint string   `json:"hint"`
}

// customTypes are the custom attribute types, as the API names them.
var customTypes = []string{"String", "Integer", "Decimal", "Timestamp", "Boolean"}

// allOps is every operator, for a row whose filter the catalog does not
// know (the API says whether it does).
var allOps = []string{"ANY", "ALL", "NONE", "EQ", "NOT_EQ", "GT", "GTE", "LT", "LTE", "BETWEEN", "CONTAINS", "NOT_CONTAINS", "IS", "IS_NOT"}

// opLabels are the operators as the builder words them.
var opLabels = map[string]string{
	"ANY": "is any of", "ALL": "has all of", "NONE": "is none of", "EQ": "=", "NOT_EQ": "≠",
	"GT": ">", "GTE": "≥", "LT": "<", "LTE": "≤", "BETWEEN": "between", "CONTAINS": "contains",
	"NOT_CONTAINS": "does not contain", "IS": "is not set", "IS_NOT": "is set",
}

func opLabel(op string) string { return cmp.Or(opLabels[op], op) }

// kindHints say how a value of each kind is typed.
var kindHints = map[segment.Kind]string{
	segment.KindCountry: "country codes: US, FR", segment.KindCurrency: "currency codes: USD, EUR",
	segment.KindText: "values, comma-separated", segment.KindMoney: "major units: 150 or 99.50",
	segment.KindInteger: "a whole number", segment.KindNumber: "a number", segment.KindDate: "YYYY-MM-DD",
	segment.KindBoolean: "TRUE or FALSE",
}

// kindSources are the lists the values of a kind are picked from.
var kindSources = map[segment.Kind]string{
	segment.KindPlan: "plans", segment.KindPlanGroup: "plan_groups", segment.KindDataSource: "data_sources",
	segment.KindStatus: "statuses",
}

func opStrings(ops []segment.Op) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = string(o)
	}
	return out
}

// filterCatalog is segment's catalog as the builder offers it: its
// filters in its order, then the custom attributes.
var filterCatalog = func() []filterDef {
	var out []filterDef
	for _, sp := range segment.Filters() {
		out = append(out, filterDef{Name: sp.Name, Label: sp.Label, Kind: string(sp.Kind), Ops: opStrings(sp.Ops),
			Source: kindSources[sp.Kind], Hint: kindHints[sp.Kind]})
	}
	custom := filterDef{Name: strings.TrimSuffix(segment.CustomPrefix, "."), Label: "Custom attribute", Keyed: true, Types: map[string]customType{}}
	for _, typ := range customTypes {
		sp, ok := segment.CustomSpec("key", typ)
		if !ok {
			continue
		}
		custom.Types[typ] = customType{Kind: string(sp.Kind), Ops: opStrings(sp.Ops), Hint: kindHints[sp.Kind]}
		if typ == "String" {
			custom.Kind, custom.Ops, custom.Hint = string(sp.Kind), opStrings(sp.Ops), kindHints[sp.Kind]
		}
	}
	return append(out, custom)
}()

// filterNamed is the catalog's filter of a CFL name (custom.KEY is the
// custom attributes' entry), and the key.
func filterNamed(name string) (filterDef, string, bool) {
	base, key, keyed := strings.Cut(name, ".")
	i := slices.IndexFunc(filterCatalog, func(d filterDef) bool { return d.Name == base && d.Keyed == keyed })
	if i < 0 {
		return filterDef{}, "", false
	}
	return filterCatalog[i], key, true
}

// condition is one filter~OPERATOR~values of an expression.
type condition struct {
	Filter string // the catalog's name (custom for custom.KEY)
	Key    string // a custom attribute's key
	// Type is a custom attribute's type (String, Integer, …): how its
	// values are written.
	Type   string
	Op     string
	Values []string // unquoted
}

// name is the condition's CFL filter name.
func (c condition) name() string {
	if c.Key != "" {
		return c.Filter + "." + c.Key
	}
	return c.Filter
}

// kind is how the condition's values are written: the catalog's kind of
// its filter (of its type, for a custom attribute), NULL under IS and
// IS_NOT, text for a filter the catalog does not know.
func (c condition) kind() segment.Kind {
	if c.Op == string(segment.OpIs) || c.Op == string(segment.OpIsNot) {
		return segment.KindNull
	}
	d, _, known := filterNamed(c.name())
	switch {
	case !known:
		return segment.KindText
	case d.Keyed:
		if t, ok := d.Types[c.Type]; ok {
			return segment.Kind(t.Kind)
		}
		return segment.KindText
	}
	return segment.Kind(d.Kind)
}

// typeOf is the custom attribute type a value written as v (quoted or
// bare) reads as: text when quoted; bare, a boolean, a date or a number.
func typeOf(v string, quoted bool) string {
	switch {
	case quoted, strings.EqualFold(v, "NULL"):
		return "String"
	case strings.EqualFold(v, "TRUE"), strings.EqualFold(v, "FALSE"):
		return "Boolean"
	case len(v) == 10 && v[4] == '-' && v[7] == '-':
		return "Timestamp"
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return "Integer"
	}
	return "Decimal"
}

// splitOutside splits s at sep where sep is not inside a quoted string
// (in single quotes, a quote inside doubled); ok is false for an
// unclosed quote.
func splitOutside(s, sep string) (parts []string, ok bool) {
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			quoted = !quoted
		case !quoted && strings.HasPrefix(s[i:], sep):
			parts = append(parts, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, s[start:]), !quoted
}

// parseCFL splits an expression into its conditions, in its order, for
// the builder's rows; ok is false when its text is not of that shape (the
// API then says what is wrong with it, and the builder shows it as text
// only). A custom attribute's type is read from how its first value is
// written.
func parseCFL(s string) (conds []condition, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	tokens, ok := splitOutside(s, "~")
	if !ok || len(tokens)%4 != 3 {
		return nil, false
	}
	for i := 0; i < len(tokens); i += 4 {
		if i > 0 && !strings.EqualFold(strings.TrimSpace(tokens[i-1]), "AND") {
			return nil, false
		}
		name, op := strings.TrimSpace(tokens[i]), strings.ToUpper(strings.TrimSpace(tokens[i+1]))
		if name == "" || op == "" {
			return nil, false
		}
		c := condition{Filter: name, Op: op}
		d, key, known := filterNamed(name)
		if known {
			c.Filter, c.Key = d.Name, key
		}
		raw, ok := splitOutside(tokens[i+2], ",")
		if !ok {
			return nil, false
		}
		for j, v := range raw {
			v = strings.TrimSpace(v)
			quoted := len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\''
			if quoted {
				v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
			}
			if j == 0 && known && d.Keyed {
				c.Type = typeOf(v, quoted)
			}
			c.Values = append(c.Values, v)
		}
		if c.kind() == segment.KindNull {
			c.Values = nil // IS and IS_NOT take NULL, which the row does not show
		}
		conds = append(conds, c)
	}
	return conds, true
}

// composeCFL writes conditions as an expression, each as segment writes
// it: text quoted (a quote inside doubled), numbers, dates, TRUE/FALSE
// and NULL bare, values joined by commas, conditions by ~AND~.
func composeCFL(conds []condition) string {
	var parts []string
	for _, c := range conds {
		sc := segment.Condition{Filter: c.name(), Op: segment.Op(c.Op), Kind: c.kind(), Values: c.Values}
		if sc.Kind == segment.KindNull {
			sc.Values = []string{"NULL"}
		}
		parts = append(parts, sc.String())
	}
	return strings.Join(parts, "~AND~")
}

// hasPlanCondition reports whether an expression selects by plan or plan
// group: the API then views each customer through the plans the filter
// names (metrics.md rule 19), and the activity list, which shows a
// customer's movements whole, would not add up to the figure. An
// expression segment cannot read selects nothing: the API refuses it.
func hasPlanCondition(cfl string) bool {
	e, err := segment.Parse(cfl)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(e.Conditions(), func(c segment.Condition) bool {
		return c.Filter == segment.FilterPlan || c.Filter == segment.FilterPlanGroup
	})
}

// rowField is a builder form field: c3-filter, c3-key, c3-type, c3-op,
// c3-value.
var rowField = regexp.MustCompile(`^c([0-9]{1,3})-(filter|key|type|op|value)$`)

// builderRows reads the builder's rows from a form's query, in their
// order; a row whose filter is empty is a removed one.
func builderRows(q url.Values) (conds []condition, submitted bool) {
	rows := map[int]*condition{}
	for k, vs := range q {
		m := rowField.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		submitted = true
		n, _ := strconv.Atoi(m[1])
		c := rows[n]
		if c == nil {
			c = &condition{}
			rows[n] = c
		}
		switch m[2] {
		case "filter":
			c.Filter = strings.TrimSpace(vs[0])
		case "key":
			c.Key = strings.TrimSpace(vs[0])
		case "type":
			c.Type = strings.TrimSpace(vs[0])
		case "op":
			c.Op = strings.TrimSpace(vs[0])
		case "value":
			c.Values = append(c.Values, vs...)
		}
	}
	var order []int
	for n := range rows {
		order = append(order, n)
	}
	slices.Sort(order)
	for _, n := range order {
		c := rows[n]
		if c.Filter == "" {
			continue
		}
		if d, _, known := filterNamed(c.Filter); known && !d.Keyed {
			c.Key, c.Type = "", ""
		}
		// Values typed as a list ("US, FR") are split; a picker sends
		// each apart. A comparison takes its value whole, BETWEEN its
		// two bounds.
		var vals []string
		for _, v := range c.Values {
			if c.Op == "ANY" || c.Op == "ALL" || c.Op == "NONE" || c.Op == "BETWEEN" {
				for p := range strings.SplitSeq(v, ",") {
					if p = strings.TrimSpace(p); p != "" {
						vals = append(vals, p)
					}
				}
			} else if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		c.Values = vals
		conds = append(conds, *c)
	}
	return conds, submitted
}

// selectionPage starts a page that takes a selection: the builder's GET
// is redirected to the CFL it makes (done), and a page, not its CSV, gets
// the filter bar.
func (w *Web) selectionPage(rw http.ResponseWriter, r *http.Request, title, base string) (pg page, asCSV, done bool, err error) {
	pg = w.newPage(r, title, base)
	if builderRedirect(rw, r, pg.Base) {
		return pg, false, true, nil
	}
	asCSV = strings.HasSuffix(r.URL.Path, ".csv")
	if !asCSV {
		pg.Filters, err = w.newFilterBar(r, &pg)
	}
	return pg, asCSV, false, err
}

// builderRedirect answers a submitted builder form (its rows in c0-filter,
// c0-op, … parameters) with the page's own URL, the rows written as CFL
// into filters: the URL holds the state with the API's parameter names.
// It reports whether it answered.
func builderRedirect(rw http.ResponseWriter, r *http.Request, base string) bool {
	q := r.URL.Query()
	conds, submitted := builderRows(q)
	if !submitted {
		return false
	}
	out := url.Values{}
	for k, v := range q {
		if !rowField.MatchString(k) && k != "filters" && k != "page" && k != "cursor" {
			out[k] = v
		}
	}
	if cfl := composeCFL(conds); cfl != "" {
		out.Set("filters", cfl)
	}
	u := base + strings.TrimPrefix(r.URL.Path, "/")
	if len(out) > 0 {
		u += "?" + out.Encode()
	}
	http.Redirect(rw, r, u, http.StatusSeeOther)
	return true
}

// filterBar is what the builder shows: the page's expression as rows, the
// saved segments to pick, and the API's refusal if it refused.
type filterBar struct {
	// Action is the page the forms go to.
	Action string
	// Keep are the page's other parameters, carried by the forms.
	Keep    url.Values
	Filters string
	Segment string
	Rows    []builderRow
	// Unshown: the expression's text is not of the builder's shape; it
	// is shown as text only.
	Unshown  bool
	Segments []savedSegment
	// Error is the API's refusal of the expression or segment.
	Error string
	// Catalog is the filters and their choices, for app.js.
	Catalog string
	// Choices are the pickers' values by source.
	Choices map[string][]choice
	// PlanView: the selection names plans (in its expression or its
	// saved segment's), so drill-downs to activities are off.
	PlanView bool
	// CanSave: the viewer may save the expression as a segment.
	CanSave bool
}

type choice struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// builderRow is a condition as the form shows it.
type builderRow struct {
	N int
	condition
	Def   filterDef
	Known bool
	Ops   []string
	// Choices are the picker's values (nil: a text input).
	Choices []choice
	// Text is the values as typed: a list joined by commas; Hint says
	// how to type them.
	Text, Hint string
	// Types are a custom attribute's types, for its type picker.
	Types []string
}

// Selected reports whether a picker's value is among the row's.
func (b builderRow) Selected(v string) bool { return slices.Contains(b.Values, v) }

// savedSegment is an entry of GET /v1/segments.
type savedSegment struct {
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	Filters   string `json:"filters"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// segmentList is a page of GET /v1/segments, whose entries are under
// segments (as the plans and data sources are under theirs) or entries.
type segmentList struct {
	Segments []savedSegment `json:"segments"`
	Entries  []savedSegment `json:"entries"`
	HasMore  bool           `json:"has_more"`
	Cursor   *string        `json:"cursor"`
}

func (l segmentList) list() []savedSegment { return append(l.Segments, l.Entries...) }

// segments reads the account's saved segments for the picker: the first
// 200, which is more than a picker can usefully show.
func (w *Web) segments(r *http.Request) ([]savedSegment, error) {
	var out segmentList
	if err := w.get(r, "/v1/segments", url.Values{"per_page": {"200"}}, &out); err != nil {
		return nil, err
	}
	return out.list(), nil
}

// choices reads the pickers' values from the API's own lists.
func (w *Web) choices(r *http.Request) (map[string][]choice, error) {
	out := map[string][]choice{}
	for _, st := range segment.Statuses {
		out["statuses"] = append(out["statuses"], choice{st, st})
	}
	var plans struct {
		Plans []map[string]any `json:"plans"`
	}
	if err := w.get(r, "/v1/plans", url.Values{"per_page": {"200"}}, &plans); err != nil {
		return nil, err
	}
	for _, p := range plans.Plans {
		out["plans"] = append(out["plans"], choice{str(p["uuid"]), str(p["name"])})
	}
	var groups struct {
		PlanGroups []map[string]any `json:"plan_groups"`
	}
	if err := w.get(r, "/v1/plan_groups", url.Values{"per_page": {"200"}}, &groups); err != nil {
		return nil, err
	}
	for _, g := range groups.PlanGroups {
		out["plan_groups"] = append(out["plan_groups"], choice{str(g["uuid"]), str(g["name"])})
	}
	var sources struct {
		DataSources []map[string]any `json:"data_sources"`
	}
	if err := w.get(r, "/v1/data_sources", nil, &sources); err != nil {
		return nil, err
	}
	for _, s := range sources.DataSources {
		out["data_sources"] = append(out["data_sources"], choice{str(s["uuid"]), str(s["name"])})
	}
	return out, nil
}

// newFilterBar builds the builder for the page: its expression as rows,
// the pickers' values and the saved segments.
func (w *Web) newFilterBar(r *http.Request, pg *page) (*filterBar, error) {
	q := r.URL.Query()
	fb := &filterBar{Action: pg.Base + pg.Path, Filters: q.Get("filters"), Segment: q.Get("segment"), CanSave: pg.CanWrite && w.write != nil}
	fb.Keep = keepQuery(q, "filters", "segment", "page", "cursor")
	var err error
	if fb.Segments, err = w.segments(r); err != nil {
		return nil, err
	}
	if fb.Choices, err = w.choices(r); err != nil {
		return nil, err
	}
	conds, ok := parseCFL(fb.Filters)
	fb.Unshown = !ok
	for i, c := range conds {
		fb.Rows = append(fb.Rows, fb.row(i, c))
	}
	cat, err := json.Marshal(struct {
		Filters []filterDef         `json:"filters"`
		Choices map[string][]choice `json:"choices"`
		AllOps  []string            `json:"all_ops"`
	}{filterCatalog, fb.Choices, allOps})
	if err != nil {
		return nil, err
	}
	fb.Catalog = string(cat)
	if fb.Segment != "" && !slices.ContainsFunc(fb.Segments, func(s savedSegment) bool { return s.UUID == fb.Segment }) {
		// A segment past the picker's first page is read on its own;
		// one the API does not know is its refusal to show, later.
		var one savedSegment
		err := w.get(r, "/v1/segments/"+url.PathEscape(fb.Segment), nil, &one)
		var ae apiError
		switch {
		case err == nil:
			fb.Segments = append(fb.Segments, one)
		case !errors.As(err, &ae) || !refusal(ae.StatusCode()):
			return nil, err
		}
	}
	fb.PlanView = hasPlanCondition(fb.Filters)
	if i := slices.IndexFunc(fb.Segments, func(s savedSegment) bool { return s.UUID == fb.Segment }); i >= 0 && hasPlanCondition(fb.Segments[i].Filters) {
		fb.PlanView = true
	}
	return fb, nil
}

// row is condition c as builder row n.
func (fb *filterBar) row(n int, c condition) builderRow {
	b := builderRow{N: n, condition: c, Ops: allOps, Text: strings.Join(c.Values, ", "), Hint: kindHints[segment.KindText], Types: customTypes}
	if d, _, known := filterNamed(c.name()); known {
		b.Def, b.Known, b.Ops, b.Hint = d, true, d.Ops, d.Hint
		if t, ok := d.Types[c.Type]; ok {
			b.Ops, b.Hint = t.Ops, t.Hint
		}
		if d.Source != "" {
			b.Choices = fb.Choices[d.Source]
			// A value the list does not hold (a name, an external id)
			// stays pickable.
			for _, v := range c.Values {
				if !slices.ContainsFunc(b.Choices, func(ch choice) bool { return ch.Value == v }) {
					b.Choices = append(slices.Clip(b.Choices), choice{v, v})
				}
			}
		}
	}
	if !slices.Contains(b.Ops, c.Op) {
		b.Ops = append(slices.Clip(b.Ops), c.Op)
	}
	return b
}

// NewRow is the blank row that adds a condition.
func (fb *filterBar) NewRow() builderRow {
	return builderRow{N: len(fb.Rows), Ops: allOps, Hint: kindHints[segment.KindText], Types: customTypes}
}

// Defs is the catalog, for the filter selects.
func (fb *filterBar) Defs() []filterDef { return filterCatalog }

// Active reports whether the page's selection is anything but the whole
// book.
func (fb *filterBar) Active() bool { return fb.Filters != "" || fb.Segment != "" }
