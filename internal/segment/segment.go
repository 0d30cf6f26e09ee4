// Package segment reads expressions of the ChartMogul Filter Language
// (CFL) and decides which customers they select. It is pure: what it
// needs from the database (which plans a plan group holds, which names a
// plan goes by) comes through a Resolver, and a customer's attributes
// come as Facts worked out by the caller.
package segment

import (
	"context"
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
	Status   string     // "Active", "Cancelled", "New Lead", ...
	MRR      int64      // minor units of the account currency
	Since    *time.Time // customer-since: first became a customer; nil never
	Quantity int64      // active paid quantity: summed over live subscriptions
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
}

// Expr is a parsed CFL expression, not yet resolved against an account.
type Expr struct{}

// Parse reads a CFL expression; errors are *Error.
func Parse(s string) (*Expr, error) { panic("segment.Parse: not written yet") }

// Compile resolves the expression's names in the account; unknown names
// are *Error.
func (e *Expr) Compile(ctx context.Context, r Resolver) (*Filter, error) {
	panic("segment.Compile: not written yet")
}

// Filter is a compiled expression.
type Filter struct{}

// Match tells whether the customer is in the segment.
func (f *Filter) Match(c *Facts) bool { panic("segment.Match: not written yet") }

// Plans is the filter's plan view (rule 19), nil when it has no plan or
// plan group condition.
func (f *Filter) Plans() map[string]bool { panic("segment.Plans: not written yet") }

// Timed tells whether the filter reads a now-dependent fact.
func (f *Filter) Timed() bool { panic("segment.Timed: not written yet") }

// String is the filter's canonical form: equal filters give equal strings.
func (f *Filter) String() string { panic("segment.String: not written yet") }

// All is the conjunction of filters (nil ones are skipped); plan views
// intersect.
func All(fs ...*Filter) *Filter { panic("segment.All: not written yet") }
