package segment

import "slices"

// Op is a CFL operator, spelled as CFL spells it.
type Op string

// The operators. The set and comparison operators and BETWEEN are
// ChartMogul's ("ChartMogul Filter Language", Operators). CFL also names
// containment and identity operators without Tally having found their
// spelling, so CONTAINS, NOT_CONTAINS, IS and IS_NOT are Tally's
// (docs/segments.md).
const (
	OpAny         Op = "ANY"  // the customer has at least one of the values
	OpAll         Op = "ALL"  // the customer has every value
	OpNone        Op = "NONE" // the customer has none of the values
	OpEq          Op = "EQ"
	OpNotEq       Op = "NOT_EQ"
	OpGt          Op = "GT"
	OpGte         Op = "GTE"
	OpLt          Op = "LT"
	OpLte         Op = "LTE"
	OpBetween     Op = "BETWEEN" // two values, both included
	OpContains    Op = "CONTAINS"
	OpNotContains Op = "NOT_CONTAINS"
	OpIs          Op = "IS"     // IS~NULL: the attribute is not set
	OpIsNot       Op = "IS_NOT" // IS_NOT~NULL: the attribute is set
)

var ops = []Op{OpAny, OpAll, OpNone, OpEq, OpNotEq, OpGt, OpGte, OpLt, OpLte, OpBetween,
	OpContains, OpNotContains, OpIs, OpIsNot}

// Complement is the operator that selects exactly the customers op does
// not, when there is one: ANY/NONE, EQ/NOT_EQ, CONTAINS/NOT_CONTAINS,
// IS/IS_NOT. A condition and its complement partition the customers.
func (op Op) Complement() (Op, bool) {
	switch op {
	case OpAny:
		return OpNone, true
	case OpNone:
		return OpAny, true
	case OpEq:
		return OpNotEq, true
	case OpNotEq:
		return OpEq, true
	case OpContains:
		return OpNotContains, true
	case OpNotContains:
		return OpContains, true
	case OpIs:
		return OpIsNot, true
	case OpIsNot:
		return OpIs, true
	}
	return "", false
}

// negative tells whether op is evaluated as the complement of another.
func (op Op) negative() bool {
	return op == OpNone || op == OpNotEq || op == OpNotContains || op == OpIsNot
}

// Kind is what a filter's values are.
type Kind string

// The value kinds. Text-like kinds are written in single quotes; numbers,
// dates, TRUE/FALSE and NULL bare.
const (
	KindPlan       Kind = "plan"        // plan UUID, external ID or name
	KindPlanGroup  Kind = "plan_group"  // plan group UUID
	KindCountry    Kind = "country"     // ISO 3166-1 alpha-2 code
	KindCurrency   Kind = "currency"    // ISO 4217 code
	KindDataSource Kind = "data_source" // data source UUID
	KindStatus     Kind = "status"      // one of Statuses
	KindText       Kind = "text"
	KindMoney      Kind = "money"   // major units of the account currency: 150, 99.5
	KindInteger    Kind = "integer" // whole number
	KindNumber     Kind = "number"  // decimal number
	KindDate       Kind = "date"    // YYYY-MM-DD
	KindBoolean    Kind = "boolean" // TRUE or FALSE
	KindNull       Kind = "null"    // NULL, with IS and IS_NOT
)

// quoted tells whether values of the kind are written in quotes.
func (k Kind) quoted() bool {
	switch k {
	case KindPlan, KindPlanGroup, KindCountry, KindCurrency, KindDataSource, KindStatus, KindText:
		return true
	}
	return false
}

// Spec describes one filter: what the dashboard's filter builder offers
// and what Parse accepts.
type Spec struct {
	Name    string // CFL name, e.g. "plan"; custom attributes are "custom.<key>"
	Label   string // ChartMogul's name in its interface
	Kind    Kind   // what the values are
	Ops     []Op   // the operators it takes
	Choices []string
	// Timed filters read a fact that changes with time (status, MRR…):
	// a customer is selected by its value when the filter is evaluated.
	Timed bool
}

// The filter names.
const (
	FilterPlan            = "plan"
	FilterPlanGroup       = "plan_group"
	FilterRegion          = "region"
	FilterCurrency        = "currency"
	FilterDataSource      = "data_source"
	FilterTags            = "tags"
	FilterCustomerStatus  = "customer_status"
	FilterMRR             = "mrr"
	FilterARR             = "arr"
	FilterSubscriberSince = "subscriber_since"
	FilterActiveQuantity  = "active_quantity"
	// CustomPrefix starts a custom attribute filter: custom.<key>.
	CustomPrefix = "custom."
)

// Statuses are the customer statuses ChartMogul names ("Customer &
// Subscription Statuses"), as customer_status takes them. Tally gives its
// customers three of them: New Lead, Active and Cancelled.
var Statuses = []string{"New Lead", "Working Lead", "Qualified Lead", "Unqualified Lead", "Active", "Past Due", "Cancelled"}

var (
	setOps     = []Op{OpAny, OpNone, OpAll}
	oneOfOps   = []Op{OpAny, OpNone}
	compareOps = []Op{OpEq, OpNotEq, OpGt, OpGte, OpLt, OpLte, OpBetween}
)

var specs = []Spec{
	{Name: FilterPlan, Label: "Plan", Kind: KindPlan, Ops: setOps},
	{Name: FilterPlanGroup, Label: "Plan group", Kind: KindPlanGroup, Ops: setOps},
	{Name: FilterRegion, Label: "Region", Kind: KindCountry, Ops: oneOfOps},
	{Name: FilterCurrency, Label: "Currency", Kind: KindCurrency, Ops: setOps},
	{Name: FilterDataSource, Label: "Data source", Kind: KindDataSource, Ops: setOps},
	{Name: FilterTags, Label: "Tags", Kind: KindText, Ops: setOps},
	{Name: FilterCustomerStatus, Label: "Customer status", Kind: KindStatus, Ops: oneOfOps, Choices: Statuses, Timed: true},
	{Name: FilterMRR, Label: "MRR (Current)", Kind: KindMoney, Ops: compareOps, Timed: true},
	{Name: FilterARR, Label: "ARR (Current)", Kind: KindMoney, Ops: compareOps, Timed: true},
	{Name: FilterSubscriberSince, Label: "Subscriber since", Kind: KindDate, Ops: compareOps, Timed: true},
	{Name: FilterActiveQuantity, Label: "Paid subscription quantity", Kind: KindInteger, Ops: compareOps, Timed: true},
}

// Filters lists the standard filters in the order a filter builder shows
// them; custom attributes come from CustomSpec. The result is a copy.
func Filters() []Spec {
	out := make([]Spec, len(specs))
	for i, s := range specs {
		s.Ops = slices.Clone(s.Ops)
		s.Choices = slices.Clone(s.Choices)
		out[i] = s
	}
	return out
}

func spec(name string) (Spec, bool) {
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// customOps are the operators a custom attribute takes by the kind of the
// value written (its type: String text, Integer and Decimal numbers,
// Timestamp dates, Boolean TRUE/FALSE), after ChartMogul's "Custom
// attributes" operators per type. IS/IS_NOT take NULL for every type.
var customOps = map[Kind][]Op{
	KindText:    {OpEq, OpNotEq, OpAny, OpNone, OpContains, OpNotContains},
	KindNumber:  compareOps,
	KindDate:    compareOps,
	KindBoolean: {OpEq, OpNotEq},
	KindNull:    {OpIs, OpIsNot},
}

// customKinds maps a custom attribute type to the kind of its values.
var customKinds = map[string]Kind{
	"String": KindText, "Integer": KindInteger, "Decimal": KindNumber,
	"Timestamp": KindDate, "Boolean": KindBoolean,
}

// CustomSpec describes the filter on custom attribute key of type typ
// (String, Integer, Decimal, Timestamp, Boolean); ok is false for another
// type. Its operators include IS and IS_NOT, which take NULL.
func CustomSpec(key, typ string) (s Spec, ok bool) {
	k, ok := customKinds[typ]
	if !ok {
		return Spec{}, false
	}
	vk := k
	if k == KindInteger {
		vk = KindNumber // an Integer attribute is compared as a number
	}
	return Spec{Name: CustomPrefix + key, Label: key, Kind: k, Ops: slices.Concat(customOps[vk], customOps[KindNull])}, true
}
