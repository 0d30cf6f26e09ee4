package segment

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-analytics/tally/internal/billing"
)

// resolver is a small account: four plans (two share the name "Pro"),
// two plan groups and two data sources.
type resolver struct {
	currency string
	calls    int
}

var plans = []struct{ uuid, ext, name string }{
	{"pl_basic", "basic", "Basic"},
	{"pl_pro", "pro", "Pro"},
	{"pl_pro_eu", "pro-eu", "Pro"},
	{"pl_ent", "ent", "Enterprise"},
}

var groups = map[string][]string{"grp_paid": {"pl_pro", "pl_ent"}, "grp_empty": nil}

func (r *resolver) Plans(_ context.Context, names []string) (uuids, unknown []string, err error) {
	r.calls++
	for _, n := range names {
		found := false
		for _, p := range plans {
			if n == p.uuid || n == p.ext || n == p.name {
				uuids = append(uuids, p.uuid)
				found = true
			}
		}
		if !found {
			unknown = append(unknown, n)
		}
	}
	return uuids, unknown, nil
}

func (r *resolver) PlanGroups(_ context.Context, names []string) (map[string][]string, []string, error) {
	r.calls++
	out := map[string][]string{}
	var unknown []string
	for _, n := range names {
		if g, ok := groups[n]; ok {
			out[n] = g
		} else {
			unknown = append(unknown, n)
		}
	}
	return out, unknown, nil
}

func (r *resolver) DataSources(_ context.Context, names []string) (uuids, unknown []string, err error) {
	r.calls++
	for _, n := range names {
		if n == "ds_stripe" || n == "ds_import" {
			uuids = append(uuids, n)
		} else {
			unknown = append(unknown, n)
		}
	}
	return uuids, unknown, nil
}

func (r *resolver) Currency() string {
	if r.currency == "" {
		return "USD"
	}
	return r.currency
}

func day(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func attr(typ string, v any) billing.CustomAttribute {
	return billing.CustomAttribute{Type: typ, Value: v}
}

// customers are five customers; the account currency is USD (cents).
var customers = map[string]*Facts{
	"ann": {
		Country: "US", DataSources: []string{"ds_stripe"}, Currencies: []string{"USD"},
		Tags: []string{"vip", "beta"},
		Custom: map[string]billing.CustomAttribute{
			"channel": attr("String", "Facebook"), "seats": attr("Integer", int64(10)),
			"score": attr("Decimal", 4.5), "trial_end": attr("Timestamp", "2024-03-01T23:30:00.000Z"),
			"enterprise": attr("Boolean", true),
		},
		Plans:  []string{"pl_basic", "pl_pro"},
		Status: "Active", MRR: 15000, Since: day("2022-04-01"), Quantity: 3,
	},
	"bob": {
		Country: "DE", DataSources: []string{"ds_import"}, Currencies: []string{"EUR", "USD"},
		Tags: []string{"vip"},
		Custom: map[string]billing.CustomAttribute{
			"channel": attr("String", "Google Ads"), "seats": attr("Integer", float64(2)), // as JSON decodes it
			"score": attr("Decimal", 10.0), "trial_end": attr("Timestamp", "2024-02-29T00:00:00.000Z"),
		},
		Plans:  []string{"pl_pro_eu"},
		Status: "Active", MRR: 4999, Since: day("2023-01-15"), Quantity: 1,
	},
	"cat": {
		Country: "FR", DataSources: []string{"ds_stripe", "ds_import"}, Currencies: []string{"EUR"},
		Plans:  []string{"pl_ent"},
		Status: "Cancelled", MRR: 0, Since: day("2021-12-31"),
	},
	"dan": {
		DataSources: []string{"ds_stripe"}, Tags: []string{"beta"},
		Custom: map[string]billing.CustomAttribute{
			"channel": attr("String", "facebook group"), "enterprise": attr("Boolean", false),
			"seats": attr("Integer", nil),
		},
		Status: "New Lead",
	},
	"eve": {
		Country: "US", DataSources: []string{"ds_import"}, Currencies: []string{"USD"},
		Tags: []string{"O'Brien"},
		Custom: map[string]billing.CustomAttribute{
			"seats": attr("String", "10"), "channel": attr("", "Facebook"),
		},
		Plans:  []string{"pl_basic"},
		Status: "Active", MRR: 100000, Since: day("2022-06-30"), Quantity: 12,
	},
}

func compile(t *testing.T, expr string, r Resolver) *Filter {
	t.Helper()
	e, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	f, err := e.Compile(context.Background(), r)
	if err != nil {
		t.Fatalf("Compile(%q): %v", expr, err)
	}
	return f
}

func selected(f *Filter) []string {
	var out []string
	for name, c := range customers {
		if f.Match(c) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func TestMatch(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"", []string{"ann", "bob", "cat", "dan", "eve"}}, // no condition

		// region: the customer's country; dan has none.
		{"region~ANY~'US','FR'", []string{"ann", "cat", "eve"}},
		{"region~NONE~'US','FR'", []string{"bob", "dan"}}, // dan: no country is none of them
		{"region~ANY~de", []string{"bob"}},                // bare and lower-case

		// currency: any of the invoice currencies; bob has EUR and USD.
		{"currency~ANY~'USD'", []string{"ann", "bob", "eve"}},
		{"currency~ALL~'EUR','USD'", []string{"bob"}},
		{"currency~NONE~'USD'", []string{"cat", "dan"}},

		// data_source: cat is merged from both.
		{"data_source~ANY~'ds_stripe'", []string{"ann", "cat", "dan"}},
		{"data_source~ALL~'ds_stripe','ds_import'", []string{"cat"}},
		{"data_source~NONE~'ds_stripe'", []string{"bob", "eve"}},

		// tags, exact text; a quote doubled inside a value.
		{"tags~ANY~'vip'", []string{"ann", "bob"}},
		{"tags~ALL~'vip','beta'", []string{"ann"}},
		{"tags~NONE~'vip'", []string{"cat", "dan", "eve"}},
		{"tags~ANY~'O''Brien'", []string{"eve"}},
		{"tags~ANY~'VIP'", nil}, // tags are compared as written

		// customer_status, any spelling of the case.
		{"customer_status~ANY~'Active'", []string{"ann", "bob", "eve"}},
		{"customer_status~NONE~'active','new lead'", []string{"cat"}},

		// mrr in dollars against cents: 150 → 15000, 49.99 → 4999.
		{"mrr~GT~150", []string{"eve"}},                   // 100000 > 15000; ann's 15000 is not
		{"mrr~GTE~150", []string{"ann", "eve"}},           // 15000 ≥ 15000
		{"mrr~LT~49.995", []string{"bob", "cat", "dan"}},  // M < 4999.5 → M ≤ 4999
		{"mrr~LTE~49.99", []string{"bob", "cat", "dan"}},  // M ≤ 4999
		{"mrr~EQ~49.99", []string{"bob"}},                 // 4999
		{"mrr~EQ~49.995", nil},                            // 4999.5 cents: no whole number of cents
		{"mrr~NOT_EQ~0", []string{"ann", "bob", "eve"}},   // cat and dan have 0
		{"mrr~BETWEEN~49.99,150", []string{"ann", "bob"}}, // [4999, 15000], both ends in
		{"mrr~BETWEEN~0,0", []string{"cat", "dan"}},       // one point
		{"mrr~GT~-1", []string{"ann", "bob", "cat", "dan", "eve"}},

		// arr = 12 × MRR: 1800 dollars → 12M ≥ 180000 → M ≥ 15000.
		{"arr~GTE~1800", []string{"ann", "eve"}},
		{"arr~EQ~599.88", []string{"bob"}},                // 12 × 4999 = 59988 cents
		{"arr~EQ~100", nil},                               // 10000/12 = 833.33 cents: nobody
		{"arr~LT~1799.99", []string{"bob", "cat", "dan"}}, // 12M < 179999 → M ≤ 14999
		{"arr~BETWEEN~599.88,1800", []string{"ann", "bob"}},

		// subscriber_since by date; dan never subscribed.
		{"subscriber_since~GTE~2022-04-01", []string{"ann", "bob", "eve"}},
		{"subscriber_since~GT~2022-04-01", []string{"bob", "eve"}},
		{"subscriber_since~LT~2022-04-01", []string{"cat"}},
		{"subscriber_since~LTE~'2022-04-01'", []string{"ann", "cat"}}, // quoted date too
		{"subscriber_since~EQ~2022-06-30", []string{"eve"}},
		{"subscriber_since~NOT_EQ~2022-06-30", []string{"ann", "bob", "cat", "dan"}}, // dan: no date is not equal
		{"subscriber_since~BETWEEN~2022-04-01,2022-06-30", []string{"ann", "eve"}},   // both ends in

		// active_quantity.
		{"active_quantity~BETWEEN~0,11", []string{"ann", "bob", "cat", "dan"}}, // eve has 12
		{"active_quantity~GT~2", []string{"ann", "eve"}},
		{"active_quantity~EQ~0", []string{"cat", "dan"}},
		{"active_quantity~NOT_EQ~0", []string{"ann", "bob", "eve"}},
		{"active_quantity~LT~3", []string{"bob", "cat", "dan"}},
		{"active_quantity~LTE~3", []string{"ann", "bob", "cat", "dan"}},
		{"active_quantity~GTE~12", []string{"eve"}},

		// custom String: eve's untyped channel is a String.
		{"custom.channel~EQ~'Facebook'", []string{"ann", "eve"}},
		{"custom.channel~NOT_EQ~'Facebook'", []string{"bob", "cat", "dan"}}, // cat has no channel
		{"custom.channel~ANY~'Facebook','Google Ads'", []string{"ann", "bob", "eve"}},
		{"custom.channel~NONE~'Facebook','Google Ads'", []string{"cat", "dan"}},
		{"custom.channel~CONTAINS~'BOOK'", []string{"ann", "dan", "eve"}}, // case-insensitive
		{"custom.channel~NOT_CONTAINS~'book'", []string{"bob", "cat"}},
		// custom numbers: Integer and Decimal alike; eve's seats is a String.
		{"custom.seats~GT~5", []string{"ann"}},
		{"custom.seats~EQ~2", []string{"bob"}}, // 2.0 as JSON decodes it
		{"custom.seats~BETWEEN~2,10", []string{"ann", "bob"}},
		{"custom.seats~NOT_EQ~10", []string{"bob", "cat", "dan", "eve"}},
		{"custom.seats~EQ~'10'", []string{"eve"}}, // quoted: text, so only the String attribute
		{"custom.score~GTE~4.5", []string{"ann", "bob"}},
		{"custom.score~LT~10", []string{"ann"}},
		{"custom.score~LTE~10", []string{"ann", "bob"}},
		// custom Timestamp by its UTC date: ann's is 2024-03-01 23:30Z.
		{"custom.trial_end~EQ~2024-03-01", []string{"ann"}},
		{"custom.trial_end~LT~2024-03-01", []string{"bob"}},
		{"custom.trial_end~BETWEEN~2024-02-01,2024-02-29", []string{"bob"}},
		{"custom.trial_end~NOT_EQ~2024-03-01", []string{"bob", "cat", "dan", "eve"}},
		{"custom.trial_end~GT~2024-02-29", []string{"ann"}},
		// custom Boolean.
		{"custom.enterprise~EQ~TRUE", []string{"ann"}},
		{"custom.enterprise~EQ~false", []string{"dan"}},
		{"custom.enterprise~NOT_EQ~TRUE", []string{"bob", "cat", "dan", "eve"}},
		// IS/IS_NOT NULL: dan's seats is set to null, so not present.
		{"custom.seats~IS~NULL", []string{"cat", "dan"}},
		{"custom.seats~IS_NOT~NULL", []string{"ann", "bob", "eve"}},
		{"custom.Channel~IS_NOT~NULL", nil}, // keys are case-sensitive

		// conjunctions.
		{"region~ANY~'US'~AND~mrr~GT~150", []string{"eve"}},
		{"tags~ANY~'vip'~and~currency~ANY~'EUR'", []string{"bob"}},
		{"region~ANY~'US'~AND~region~NONE~'US'", nil},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f := compile(t, tt.expr, &resolver{})
			if diff := cmp.Diff(tt.want, selected(f)); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlans covers CFL's plan special case: plan and plan_group
// conditions under ANY, joined by AND, are one view of their plans.
func TestPlans(t *testing.T) {
	tests := []struct {
		name, expr string
		view       []string // nil: no view
		want       []string
	}{
		// ann had pl_basic and pl_pro, bob pl_pro_eu, cat pl_ent, eve pl_basic, dan nothing.
		{"one plan by UUID", "plan~ANY~'pl_basic'", []string{"pl_basic"}, []string{"ann", "eve"}},
		{"by external id", "plan~ANY~'ent'", []string{"pl_ent"}, []string{"cat"}},
		// "Pro" names two plans: both are in the view.
		{"shared name", "plan~ANY~'Pro'", []string{"pl_pro", "pl_pro_eu"}, []string{"ann", "bob"}},
		{"group", "plan_group~ANY~'grp_paid'", []string{"pl_ent", "pl_pro"}, []string{"ann", "cat"}},
		// The special case: a plan must match the plan OR the group, so the
		// view is the union {pl_basic} ∪ {pl_pro, pl_ent}.
		{"plan AND group is OR", "plan~ANY~'pl_basic'~AND~plan_group~ANY~'grp_paid'",
			[]string{"pl_basic", "pl_ent", "pl_pro"}, []string{"ann", "cat", "eve"}},
		{"two plan conditions are OR too", "plan~ANY~'pl_basic'~AND~plan~ANY~'pl_ent'",
			[]string{"pl_basic", "pl_ent"}, []string{"ann", "cat", "eve"}},
		// An empty group adds no plan: a view of nothing selects nobody.
		{"empty group", "plan_group~ANY~'grp_empty'", []string{}, nil},
		// NONE selects customers who never had any of the plans; no view.
		{"none", "plan~NONE~'pl_basic'", nil, []string{"bob", "cat", "dan"}},
		{"none of plan or group", "plan~NONE~'pl_basic'~AND~plan_group~NONE~'grp_paid'", nil, []string{"bob", "dan"}},
		// ALL: customers who had every plan, at once or not; no view.
		{"all", "plan~ALL~'pl_basic','pl_pro'", nil, []string{"ann"}},
		// "Pro" under ALL is had when either Pro plan was: bob had pl_pro_eu.
		{"all with a shared name", "plan~ALL~'Pro'", nil, []string{"ann", "bob"}},
		// plan_group ALL: a plan of each group.
		{"all groups", "plan_group~ALL~'grp_paid'", nil, []string{"ann", "cat"}},
		{"all of an empty group", "plan_group~ALL~'grp_empty'", nil, nil},
		// Operators mix as AND: viewed through pl_pro/pl_pro_eu, never on pl_basic.
		{"any and none", "plan~ANY~'Pro'~AND~plan~NONE~'pl_basic'", []string{"pl_pro", "pl_pro_eu"}, []string{"bob"}},
		{"any and all", "plan~ANY~'pl_ent'~AND~plan~ALL~'pl_basic'", []string{"pl_ent"}, nil},
		{"with another filter", "plan~ANY~'pl_basic'~AND~mrr~GT~150", []string{"pl_basic"}, []string{"eve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := compile(t, tt.expr, &resolver{})
			var view []string
			if v := f.Plans(); v != nil {
				view = []string{}
				for p := range v {
					view = append(view, p)
				}
				slices.Sort(view)
			}
			if diff := cmp.Diff(tt.view, view); diff != "" {
				t.Errorf("view (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, selected(f)); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAll(t *testing.T) {
	r := &resolver{}
	us := compile(t, "region~ANY~'US'", r)
	pro := compile(t, "plan~ANY~'pl_basic','pl_pro'", r)
	ent := compile(t, "plan_group~ANY~'grp_paid'", r)

	if All() != nil || All(nil, nil) != nil {
		t.Error("All of no filter is not nil")
	}
	if All(nil, us) != us {
		t.Error("All of one filter is not that filter")
	}
	// US and a plan view of {pl_basic, pl_pro}: ann and eve.
	f := All(us, pro)
	if diff := cmp.Diff([]string{"ann", "eve"}, selected(f)); diff != "" {
		t.Errorf("All(us, pro) (-want +got):\n%s", diff)
	}
	// Views intersect: {pl_basic, pl_pro} ∩ {pl_pro, pl_ent} = {pl_pro}; only ann had pl_pro.
	f = All(pro, ent)
	if diff := cmp.Diff(map[string]bool{"pl_pro": true}, f.Plans()); diff != "" {
		t.Errorf("intersected view (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ann"}, selected(f)); diff != "" {
		t.Errorf("All(pro, ent) (-want +got):\n%s", diff)
	}
	if got, want := f.String(), "plan~ANY~'pl_pro'"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	// Parsed together, the same conditions are OR: the view is the union.
	if got := compile(t, "plan~ANY~'pl_basic','pl_pro'~AND~plan_group~ANY~'grp_paid'", r).Plans(); len(got) != 3 {
		t.Errorf("parsed together: view %v, want three plans", got)
	}
	// Disjoint views select nobody.
	f = All(compile(t, "plan~ANY~'pl_basic'", r), compile(t, "plan~ANY~'pl_ent'", r))
	if len(f.Plans()) != 0 || f.Plans() == nil || len(selected(f)) != 0 {
		t.Errorf("disjoint views: view %v, selected %v", f.Plans(), selected(f))
	}
	if got, want := f.String(), "plan~ANY~"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	// All is the same whichever way it is grouped, and its key equals the
	// key of the one expression when there is no plan view to intersect.
	a := All(us, compile(t, "mrr~GT~150", r), compile(t, "plan~NONE~'pl_ent'", r))
	b := compile(t, "plan~NONE~'pl_ent'~AND~mrr~GT~150~AND~region~ANY~'US'", r)
	if a.String() != b.String() {
		t.Errorf("All key %q, expression key %q", a.String(), b.String())
	}
	if !a.Timed() || us.Timed() {
		t.Error("Timed does not follow mrr through All")
	}
}

func TestTimed(t *testing.T) {
	timed := map[string]bool{
		"customer_status~ANY~'Active'": true, "mrr~GT~1": true, "arr~GT~1": true,
		"subscriber_since~GT~2020-01-01": true, "active_quantity~GT~1": true,
		"region~ANY~'US'": false, "plan~ANY~'pl_pro'": false, "tags~ANY~'a'": false,
		"custom.seats~GT~1": false, "currency~ANY~'USD'": false, "data_source~ANY~'ds_stripe'": false,
		"region~ANY~'US'~AND~mrr~GT~1": true, "": false,
	}
	for expr, want := range timed {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if e.Timed() != want {
			t.Errorf("Expr(%q).Timed = %v, want %v", expr, !want, want)
		}
		if f := compile(t, expr, &resolver{}); f.Timed() != want {
			t.Errorf("Filter(%q).Timed = %v, want %v", expr, !want, want)
		}
	}
}

// TestCurrency reads mrr in the account currency's major units.
func TestCurrency(t *testing.T) {
	// JPY has no minor unit: 150 is 150.
	f := compile(t, "mrr~EQ~4999", &resolver{currency: "JPY"})
	if diff := cmp.Diff([]string{"bob"}, selected(f)); diff != "" {
		t.Errorf("JPY (-want +got):\n%s", diff)
	}
	// KWD has three: 15 is 15000 fils, ann's MRR.
	f = compile(t, "mrr~EQ~15", &resolver{currency: "KWD"})
	if diff := cmp.Diff([]string{"ann"}, selected(f)); diff != "" {
		t.Errorf("KWD (-want +got):\n%s", diff)
	}
}

// TestComplement: a condition and its complement partition the customers.
func TestComplement(t *testing.T) {
	exprs := []string{
		"region~ANY~'US','FR'", "currency~ANY~'EUR'", "tags~ANY~'beta'", "data_source~ANY~'ds_import'",
		"customer_status~ANY~'Active'", "plan~ANY~'Pro'", "plan_group~ANY~'grp_paid'",
		"mrr~EQ~0", "arr~EQ~599.88", "subscriber_since~EQ~2022-04-01", "active_quantity~EQ~3",
		"custom.channel~EQ~'Facebook'", "custom.channel~ANY~'Facebook','x'", "custom.channel~CONTAINS~'face'",
		"custom.seats~EQ~10", "custom.trial_end~EQ~2024-03-01", "custom.enterprise~EQ~TRUE", "custom.seats~IS~NULL",
	}
	for _, expr := range exprs {
		e, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		c := e.Conditions()[0]
		op, ok := c.Op.Complement()
		if !ok {
			t.Fatalf("%s has no complement", c.Op)
		}
		c.Op = op
		f, g := compile(t, expr, &resolver{}), compile(t, c.String(), &resolver{})
		for name, facts := range customers {
			if f.Match(facts) == g.Match(facts) {
				t.Errorf("%s and %s agree on %s", expr, c.String(), name)
			}
		}
	}
}

func TestNilResolver(t *testing.T) {
	e, _ := Parse("region~ANY~'US'~AND~tags~ANY~'vip'")
	f, err := e.Compile(context.Background(), nil)
	if err != nil || len(selected(f)) != 1 {
		t.Errorf("without a resolver: %v, %v", selected(f), err)
	}
	e, _ = Parse("mrr~GT~1")
	if _, err := e.Compile(context.Background(), nil); err == nil {
		t.Error("mrr compiled without a resolver")
	}
}
