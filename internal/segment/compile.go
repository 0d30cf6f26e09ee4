package segment

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
)

// pred is one compiled condition other than a plan condition.
type pred interface {
	match(c *Facts) bool
	String() string // canonical CFL
}

// Compile resolves the expression's names in the account; unknown names
// are *Error. r may be nil for an expression without plan, plan_group,
// data_source, mrr or arr conditions. Plan and plan group conditions under the same operator are
// one condition on the union of their plans: under ANY that union is the
// filter's plan view (CFL's special case: joined by AND they act as OR).
func (e *Expr) Compile(ctx context.Context, r Resolver) (*Filter, error) {
	f := &Filter{}
	if e == nil {
		return f.build(nil), nil
	}
	if r == nil {
		for _, c := range e.conds {
			switch c.filter {
			case FilterPlan, FilterPlanGroup, FilterDataSource, FilterMRR, FilterARR:
				return nil, fmt.Errorf("compile %s: no resolver for its names", c.filter)
			}
		}
	}
	groups, err := resolveGroups(ctx, r, e.conds)
	if err != nil {
		return nil, err
	}
	var parts []string
	for _, c := range e.conds {
		switch c.filter {
		case FilterPlan, FilterPlanGroup:
			if err := f.addPlans(ctx, r, c, groups); err != nil {
				return nil, err
			}
			continue
		}
		var p pred
		switch c.filter {
		case FilterRegion, FilterCurrency, FilterTags, FilterCustomerStatus:
			p = newSetPred(c)
		case FilterDataSource:
			if p, err = dataSourcePred(ctx, r, c); err != nil {
				return nil, err
			}
		case FilterMRR, FilterARR, FilterActiveQuantity:
			p = newAmountPred(c, r)
		case FilterSubscriberSince:
			p = &sincePred{cond: c, in: dateRange(c)}
		default:
			p = newCustomPred(c)
		}
		if sp, ok := spec(c.filter); ok && sp.Timed {
			f.timed = true
		}
		f.preds = append(f.preds, p)
		parts = append(parts, p.String())
	}
	return f.build(parts), nil
}

// resolveGroups looks up every plan group the expression names at once.
func resolveGroups(ctx context.Context, r Resolver, conds []cond) (map[string][]string, error) {
	var names []string
	for _, c := range conds {
		if c.filter == FilterPlanGroup {
			names = append(names, c.vals...)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	groups, unknown, err := r.PlanGroups(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("resolve plan groups: %w", err)
	}
	if len(unknown) > 0 {
		return nil, unknownError("plan group", "UUID", unknown)
	}
	return groups, nil
}

func unknownError(what, by string, unknown []string) error {
	msg := fmt.Sprintf("There is no %s with the %s %s.", what, by, Quote(unknown[0]))
	if len(unknown) > 1 {
		msg = fmt.Sprintf("There is no %s with the %s %s (nor %s).", what, by, Quote(unknown[0]), quotedList(unknown[1:]))
	}
	return &Error{Part: unknown[0], Message: msg}
}

// addPlans adds a plan or plan group condition to the filter's plan view,
// its NONE set or its ALL requirements.
func (f *Filter) addPlans(ctx context.Context, r Resolver, c cond, groups map[string][]string) error {
	resolve := func(names []string) ([]string, error) {
		if c.filter == FilterPlanGroup {
			var out []string
			for _, g := range names {
				out = append(out, groups[g]...)
			}
			return out, nil
		}
		uuids, unknown, err := r.Plans(ctx, names)
		if err != nil {
			return nil, fmt.Errorf("resolve plans: %w", err)
		}
		if len(unknown) > 0 {
			return nil, unknownError("plan", "UUID, external ID or name", unknown)
		}
		return uuids, nil
	}
	switch c.op {
	case OpAny, OpNone:
		plans, err := resolve(c.vals)
		if err != nil {
			return err
		}
		set := &f.none
		if c.op == OpAny {
			set = &f.view
		}
		if *set == nil {
			*set = map[string]bool{}
		}
		for _, p := range plans {
			(*set)[p] = true
		}
	case OpAll:
		// Each value on its own: a name shared by several plans is had
		// when any of them was.
		for _, v := range c.vals {
			plans, err := resolve([]string{v})
			if err != nil {
				return err
			}
			req := planReq{filter: c.filter, value: v, plans: map[string]bool{}}
			for _, p := range plans {
				req.plans[p] = true
			}
			if c.filter == FilterPlan && len(plans) == 1 {
				req.value = plans[0]
			}
			f.allOf = append(f.allOf, req)
		}
	}
	return nil
}

// setPred is a set operator over a customer's values of one attribute.
type setPred struct {
	cond
	set map[string]bool
}

func newSetPred(c cond) *setPred {
	p := &setPred{cond: c, set: make(map[string]bool, len(c.vals))}
	for _, v := range c.vals {
		p.set[v] = true
	}
	return p
}

func (p *setPred) values(c *Facts) []string {
	switch p.filter {
	case FilterCurrency:
		return c.Currencies
	case FilterDataSource:
		return c.DataSources
	case FilterTags:
		return c.Tags
	}
	return nil
}

func (p *setPred) match(c *Facts) bool {
	switch p.filter {
	case FilterRegion, FilterCustomerStatus: // one value, ALL not taken
		v := c.Country
		if p.filter == FilterCustomerStatus {
			v = c.Status
		}
		return p.set[v] != (p.op == OpNone) // "" is never in the set
	}
	vals := p.values(c)
	switch p.op {
	case OpAll:
		for v := range p.set {
			found := false
			for _, x := range vals {
				if x == v {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case OpNone:
		return !anyIn(vals, p.set)
	}
	return anyIn(vals, p.set)
}

// dataSourcePred checks the data sources exist; under ALL each value is
// looked up on its own, as for plans.
func dataSourcePred(ctx context.Context, r Resolver, c cond) (pred, error) {
	lookup := func(names []string) ([]string, error) {
		uuids, unknown, err := r.DataSources(ctx, names)
		if err != nil {
			return nil, fmt.Errorf("resolve data sources: %w", err)
		}
		if len(unknown) > 0 {
			return nil, unknownError("data source", "UUID", unknown)
		}
		return uuids, nil
	}
	if c.op != OpAll {
		uuids, err := lookup(c.vals)
		if err != nil {
			return nil, err
		}
		p := newSetPred(c)
		p.set = map[string]bool{}
		for _, u := range uuids {
			p.set[u] = true
		}
		return p, nil
	}
	// ALL: a set of one UUID per value.
	var reqs []*setPred
	for _, v := range c.vals {
		uuids, err := lookup([]string{v})
		if err != nil {
			return nil, err
		}
		one := cond{filter: c.filter, op: OpAny, kind: c.kind, vals: []string{v}}
		p := newSetPred(one)
		p.set = map[string]bool{}
		for _, u := range uuids {
			p.set[u] = true
		}
		reqs = append(reqs, p)
	}
	return &allPred{cond: c, each: reqs}, nil
}

// allPred holds when each of its parts does.
type allPred struct {
	cond
	each []*setPred
}

func (p *allPred) match(c *Facts) bool {
	for _, q := range p.each {
		if !q.match(c) {
			return false
		}
	}
	return true
}

// interval is a test lo <= x <= hi, negated for NOT_EQ.
type interval struct {
	lo, hi int64
	neg    bool
}

func (in interval) has(x int64) bool { return (in.lo <= x && x <= in.hi) != in.neg }

// amountPred compares MRR, ARR or the active quantity. Values are exact
// decimals; they become bounds on an integer (MRR in minor units, the
// quantity) once, so a match compares integers.
type amountPred struct {
	cond
	in interval
}

func newAmountPred(c cond, r Resolver) *amountPred {
	// scale turns a value into the units of the integer compared.
	scale := big.NewRat(1, 1)
	if c.filter == FilterMRR || c.filter == FilterARR {
		e := money.Exponent(strings.ToUpper(r.Currency()))
		scale.SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil))
		if c.filter == FilterARR {
			scale.Quo(scale, big.NewRat(12, 1)) // ARR is 12 × MRR
		}
	}
	vals := make([]*big.Rat, len(c.vals))
	for i, v := range c.vals {
		vals[i] = new(big.Rat).Mul(rat(v), scale)
	}
	return &amountPred{cond: c, in: ratInterval(c.op, vals)}
}

// ratInterval is the set of integers x with x op vals.
func ratInterval(op Op, vals []*big.Rat) interval {
	in := interval{lo: math.MinInt64, hi: math.MaxInt64}
	v := vals[0]
	switch op {
	case OpEq, OpNotEq:
		in.neg = op == OpNotEq
		if v.IsInt() {
			in.lo, in.hi = clamp(floor(v)), clamp(floor(v))
		} else {
			in.lo, in.hi = 1, 0 // no integer equals it
		}
	case OpGt:
		in.lo = clamp(new(big.Int).Add(floor(v), big.NewInt(1)))
	case OpGte:
		in.lo = clamp(ceil(v))
	case OpLt:
		in.hi = clamp(new(big.Int).Sub(ceil(v), big.NewInt(1)))
	case OpLte:
		in.hi = clamp(floor(v))
	case OpBetween:
		in.lo, in.hi = clamp(ceil(v)), clamp(floor(vals[1]))
	}
	return in
}

func floor(r *big.Rat) *big.Int {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() < 0 {
		q.Sub(q, big.NewInt(1))
	}
	return q
}

func ceil(r *big.Rat) *big.Int {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func clamp(x *big.Int) int64 {
	if x.IsInt64() {
		return x.Int64()
	}
	if x.Sign() > 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}

func (p *amountPred) match(c *Facts) bool {
	if p.filter == FilterActiveQuantity {
		return p.in.has(c.Quantity)
	}
	return p.in.has(c.MRR) // ARR's bounds are divided by 12
}

// dateRange is the set of dates (as YYYYMMDD numbers) of a date condition.
func dateRange(c cond) interval {
	vals := make([]*big.Rat, len(c.vals))
	for i, v := range c.vals {
		vals[i] = new(big.Rat).SetInt64(dayNumber(v))
	}
	return ratInterval(c.op, vals)
}

// dayNumber is a YYYY-MM-DD date as the number YYYYMMDD; numbers keep the
// order of dates.
func dayNumber(s string) int64 {
	if len(s) < 10 {
		return 0
	}
	var n int64
	for _, ch := range s[:4] + s[5:7] + s[8:10] {
		n = n*10 + int64(ch-'0')
	}
	return n
}

func dateNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return int64(y)*10000 + int64(m)*100 + int64(d)
}

// sincePred compares the customer-since date; a customer who never was
// one matches only NOT_EQ.
type sincePred struct {
	cond
	in interval
}

func (p *sincePred) match(c *Facts) bool {
	if c.Since == nil {
		return p.in.neg
	}
	return p.in.has(dateNumber(*c.Since))
}

// customPred is a condition on one custom attribute. A customer without
// the attribute, or whose attribute has another type than the value
// written, fails every operator but the complements (NOT_EQ, NONE,
// NOT_CONTAINS, IS_NOT… of what it fails).
type customPred struct {
	cond
	key    string
	set    map[string]bool // text under ANY/NONE
	needle string          // lower-case text under CONTAINS
	nums   []num           // numbers
	days   interval        // dates
}

type num struct {
	f     float64
	i     int64
	isInt bool
}

func newCustomPred(c cond) *customPred {
	key, _ := c.custom()
	p := &customPred{cond: c, key: key}
	switch c.kind {
	case KindText:
		p.set = map[string]bool{}
		for _, v := range c.vals {
			p.set[v] = true
		}
		p.needle = strings.ToLower(c.vals[0])
	case KindNumber:
		for _, v := range c.vals {
			r := rat(v)
			f, _ := r.Float64()
			n := num{f: f}
			if r.IsInt() && r.Num().IsInt64() {
				n.i, n.isInt = r.Num().Int64(), true
			}
			p.nums = append(p.nums, n)
		}
	case KindDate:
		p.days = dateRange(c)
	}
	return p
}

func (p *customPred) match(c *Facts) bool {
	a, ok := c.Custom[p.key]
	present := ok && a.Value != nil
	return p.positive(a, present) != p.op.negative()
}

// positive evaluates the operator, or its complement for a negative one.
func (p *customPred) positive(a billing.CustomAttribute, present bool) bool {
	if p.kind == KindNull {
		return !present // IS~NULL; IS_NOT is its complement
	}
	if !present || valueKind(a.Type) != p.kind {
		return false
	}
	switch p.kind {
	case KindText:
		s, ok := a.Value.(string)
		if !ok {
			return false
		}
		switch p.op {
		case OpContains, OpNotContains:
			return strings.Contains(strings.ToLower(s), p.needle)
		}
		return p.set[s] // EQ, NOT_EQ, ANY, NONE
	case KindBoolean:
		b, ok := a.Value.(bool)
		return ok && b == (p.vals[0] == "TRUE")
	case KindDate:
		d, ok := attrDay(a.Value)
		if !ok {
			return false
		}
		in := p.days
		in.neg = false
		return in.has(d)
	case KindNumber:
		x, ok := attrNum(a.Value)
		if !ok {
			return false
		}
		switch p.op {
		case OpEq, OpNotEq:
			return compareNum(x, p.nums[0]) == 0
		case OpGt:
			return compareNum(x, p.nums[0]) > 0
		case OpGte:
			return compareNum(x, p.nums[0]) >= 0
		case OpLt:
			return compareNum(x, p.nums[0]) < 0
		case OpLte:
			return compareNum(x, p.nums[0]) <= 0
		case OpBetween:
			return compareNum(x, p.nums[0]) >= 0 && compareNum(x, p.nums[1]) <= 0
		}
	}
	return false
}

// valueKind is the kind of value an attribute type compares with: an
// Integer and a Decimal with numbers, an untyped attribute is a String.
func valueKind(typ string) Kind {
	switch typ {
	case "String", "":
		return KindText
	case "Integer", "Decimal":
		return KindNumber
	case "Timestamp":
		return KindDate
	case "Boolean":
		return KindBoolean
	}
	return ""
}

func attrNum(v any) (num, bool) {
	switch x := v.(type) {
	case int64:
		return num{f: float64(x), i: x, isInt: true}, true
	case int:
		return num{f: float64(x), i: int64(x), isInt: true}, true
	case float64:
		n := num{f: x}
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			n.i, n.isInt = int64(x), true
		}
		return n, !math.IsNaN(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return num{f: float64(i), i: i, isInt: true}, true
		}
		if f, err := x.Float64(); err == nil {
			return attrNum(f)
		}
	}
	return num{}, false
}

// compareNum compares exactly when both are whole numbers, else as
// float64.
func compareNum(a, b num) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

// attrDay is a Timestamp attribute's date in UTC (as stored: the Import
// API's form, 2017-05-01T00:00:00.000Z) as YYYYMMDD.
func attrDay(v any) (int64, bool) {
	switch x := v.(type) {
	case time.Time:
		return dateNumber(x.UTC()), true
	case string:
		if len(x) >= 10 && looksLikeDate(x[:10]) && (len(x) == 10 || x[10] == 'T' && strings.HasSuffix(x, "Z")) {
			return dayNumber(x), true // the date part of a UTC time
		}
		t, err := billing.ParseDate(x)
		if err != nil {
			return 0, false
		}
		return dateNumber(t), true
	}
	return 0, false
}
