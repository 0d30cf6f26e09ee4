package segment

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

// Facts are what a filter can ask of one customer. The attributes are the
// customer's as they are now; Plans is every plan its subscriptions have
// ever been on (a plan filter selects by it and then views the customer
// through the filter's plans, metrics.md rule 19).
type Facts struct {
	Country     string   // ISO 3166-1 alpha-2, "" unknown
	DataSources []string // data source UUIDs (a merged customer has several)
	Currencies  []string // currencies of its invoices
	Tags        []string
	Custom      map[string]billing.CustomAttribute
	Plans       []string // plan UUIDs

	// Now-dependent facts, taken at the instant the filter is evaluated.
	Status string // "Active", "Cancelled", "New Lead", ...
	MRR    int64  // minor units of the account currency
	// Since is customer-since: first became a customer; nil never. It is
	// compared by its calendar date in its own location, so the caller
	// gives it in the account's time zone.
	Since    *time.Time
	Quantity int64 // active paid quantity: summed over live subscriptions
}

// Error is an expression that cannot be used; Part is the offending text.
type Error struct {
	Part    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Resolver looks up what an expression names in the account.
type Resolver interface {
	// Plans gives the UUIDs of the plans named (by UUID, external id or
	// name) and the names it does not know.
	Plans(ctx context.Context, names []string) (uuids, unknown []string, err error)
	// PlanGroups gives the plan UUIDs of each plan group named by UUID,
	// and the names it does not know.
	PlanGroups(ctx context.Context, names []string) (plans map[string][]string, unknown []string, err error)
	// DataSources gives the UUIDs of the data sources named by UUID, and
	// the names it does not know.
	DataSources(ctx context.Context, names []string) (uuids, unknown []string, err error)
	// Currency is the account currency (ISO 4217): mrr and arr values are
	// in its major units. Compile asks only when they appear.
	Currency() string
}

// Expr is a parsed CFL expression, not yet resolved against an account.
// Its conditions are checked and in canonical form.
type Expr struct {
	conds []cond
}

// normalise sorts the conditions and drops repeated ones: AND does not
// depend on their order.
func (e *Expr) normalise() {
	slices.SortFunc(e.conds, func(a, b cond) int { return strings.Compare(a.String(), b.String()) })
	e.conds = slices.CompactFunc(e.conds, func(a, b cond) bool { return a.String() == b.String() })
}

// String is the expression's canonical form: conditions sorted, names and
// operators in their CFL spelling, set values sorted without repeats,
// codes upper-case, text quoted. Parse(e.String()) gives e again.
func (e *Expr) String() string {
	if e == nil {
		return ""
	}
	parts := make([]string, len(e.conds))
	for i, c := range e.conds {
		parts[i] = c.String()
	}
	return strings.Join(parts, "~AND~")
}

// Condition is one condition of an expression, for a filter builder to
// show. Values are canonical and unquoted.
type Condition struct {
	Filter string // "plan", "region", "custom.<key>"
	Op     Op
	Kind   Kind
	Values []string
}

// String writes the condition in CFL.
func (c Condition) String() string {
	return cond{filter: c.Filter, op: c.Op, kind: c.Kind, vals: c.Values}.String()
}

// Conditions lists the expression's conditions in canonical order.
func (e *Expr) Conditions() []Condition {
	if e == nil {
		return nil
	}
	out := make([]Condition, len(e.conds))
	for i, c := range e.conds {
		out[i] = Condition{Filter: c.filter, Op: c.op, Kind: c.kind, Values: slices.Clone(c.vals)}
	}
	return out
}

// Timed tells whether the expression reads a now-dependent fact.
func (e *Expr) Timed() bool {
	if e == nil {
		return false
	}
	for _, c := range e.conds {
		if sp, ok := spec(c.filter); ok && sp.Timed {
			return true
		}
	}
	return false
}

func (c cond) String() string {
	var b strings.Builder
	b.WriteString(c.filter)
	b.WriteByte('~')
	b.WriteString(string(c.op))
	b.WriteByte('~')
	for i, v := range c.vals {
		if i > 0 {
			b.WriteByte(',')
		}
		if c.kind.quoted() {
			b.WriteString(Quote(v))
		} else {
			b.WriteString(v)
		}
	}
	return b.String()
}

// Quote writes s as a CFL string: in single quotes, a quote inside it
// doubled.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Filter is a compiled expression. A nil *Filter selects every customer.
// A Filter is read-only once built, so it may be shared between
// goroutines.
type Filter struct {
	preds []pred
	// The plan conditions (rule 19): view holds the plans of the ANY
	// conditions (nil without one), none those of the NONE conditions;
	// each of allOf is one value of an ALL condition.
	view  map[string]bool
	none  map[string]bool
	allOf []planReq
	timed bool
	key   string
}

// planReq is one value of plan~ALL or plan_group~ALL: the customer has
// had one of its plans.
type planReq struct {
	filter string // plan or plan_group
	value  string // canonical value, for String
	plans  map[string]bool
}

// Match tells whether the customer is in the segment: it meets every
// condition and, when the filter has a plan view, has been on at least
// one plan in it.
func (f *Filter) Match(c *Facts) bool {
	if f == nil {
		return true
	}
	for _, p := range f.preds {
		if !p.match(c) {
			return false
		}
	}
	if f.view != nil && !anyIn(c.Plans, f.view) {
		return false
	}
	if len(f.none) > 0 && anyIn(c.Plans, f.none) {
		return false
	}
	for _, r := range f.allOf {
		if !anyIn(c.Plans, r.plans) {
			return false
		}
	}
	return true
}

func anyIn(vals []string, set map[string]bool) bool {
	for _, v := range vals {
		if set[v] {
			return true
		}
	}
	return false
}

// Plans is the filter's plan view (rule 19), nil when it has no plan or
// plan group condition under ANY. The map is the filter's own: read it,
// do not change it.
func (f *Filter) Plans() map[string]bool {
	if f == nil {
		return nil
	}
	return f.view
}

// Timed tells whether the filter reads a now-dependent fact.
func (f *Filter) Timed() bool { return f != nil && f.timed }

// String is the filter's canonical form: equal filters give equal
// strings. Names are resolved (plans and plan groups under ANY and NONE
// become the plan UUIDs they stand for), so it is a key for results of
// this account as its plans are now. Parse and Compile of it give the
// same filter, except for an empty plan view (ANY conditions whose plans
// do not meet, from All), written plan~ANY~ with no value.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.key
}

// build computes the filter's key from its parts.
func (f *Filter) build(parts []string) *Filter {
	if f.view != nil {
		parts = append(parts, planList(OpAny, f.view))
	}
	if len(f.none) > 0 {
		parts = append(parts, planList(OpNone, f.none))
	}
	slices.SortFunc(f.allOf, func(a, b planReq) int {
		return cmp.Or(strings.Compare(a.filter, b.filter), strings.Compare(a.value, b.value))
	})
	f.allOf = slices.CompactFunc(f.allOf, func(a, b planReq) bool { return a.filter == b.filter && a.value == b.value })
	for _, name := range []string{FilterPlan, FilterPlanGroup} {
		c := cond{filter: name, op: OpAll, kind: KindPlan}
		for _, r := range f.allOf {
			if r.filter == name {
				c.vals = append(c.vals, r.value)
			}
		}
		if len(c.vals) > 0 {
			parts = append(parts, c.String())
		}
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)
	f.key = strings.Join(parts, "~AND~")
	return f
}

func planList(op Op, set map[string]bool) string {
	c := cond{filter: FilterPlan, op: op, kind: KindPlan}
	for p := range set {
		c.vals = append(c.vals, p)
	}
	slices.Sort(c.vals)
	return c.String()
}

// All is the conjunction of filters (nil ones are skipped); plan views
// intersect. All of no filter, or only nil ones, is nil.
func All(fs ...*Filter) *Filter {
	fs = slices.DeleteFunc(slices.Clone(fs), func(f *Filter) bool { return f == nil })
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	out := &Filter{}
	var parts []string
	for _, f := range fs {
		out.preds = append(out.preds, f.preds...)
		out.timed = out.timed || f.timed
		parts = append(parts, f.predParts()...)
		if f.view != nil {
			if out.view == nil {
				out.view = f.view
			} else {
				meet := map[string]bool{}
				for p := range out.view {
					if f.view[p] {
						meet[p] = true
					}
				}
				out.view = meet
			}
		}
		if len(f.none) > 0 {
			if out.none == nil {
				out.none = map[string]bool{}
			}
			for p := range f.none {
				out.none[p] = true
			}
		}
		out.allOf = append(out.allOf, f.allOf...)
	}
	return out.build(parts)
}

// predParts are the canonical texts of the filter's non-plan conditions.
func (f *Filter) predParts() []string {
	out := make([]string, len(f.preds))
	for i, p := range f.preds {
		out[i] = p.String()
	}
	return out
}

// Geo is the filter of the Metrics API's geo parameter: customers whose
// country is one of codes (region~ANY). Codes are trimmed and upper-cased,
// empty ones skipped; none left is nil. An invalid code is an *Error.
func Geo(codes []string) (*Filter, error) {
	c := cond{filter: FilterRegion, op: OpAny, kind: KindCountry}
	for _, code := range codes {
		code = strings.TrimSpace(code)
		if code == "" {
			continue
		}
		v, err := canonical(c, rawValue{text: code, src: code})
		if err != nil {
			return nil, err
		}
		c.vals = append(c.vals, v)
	}
	if len(c.vals) == 0 {
		return nil, nil
	}
	slices.Sort(c.vals)
	c.vals = slices.Compact(c.vals)
	p := newSetPred(c)
	f := &Filter{preds: []pred{p}}
	return f.build([]string{p.String()}), nil
}

// PlanView is the filter of the Metrics API's plans parameter, already
// resolved: the view of the given plan UUIDs (plan~ANY). No UUID is nil.
func PlanView(uuids []string) *Filter {
	if len(uuids) == 0 {
		return nil
	}
	f := &Filter{view: map[string]bool{}}
	for _, u := range uuids {
		f.view[u] = true
	}
	return f.build(nil)
}
