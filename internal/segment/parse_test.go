package segment

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr, part, msg string // msg: a piece of the message
	}{
		// structure
		{"region", "region", "stops after its filter name"},
		{"region~ANY", "region~ANY", "has no value"},
		{"region~ANY~", "~", "value is missing"},
		{"region~ANY~'US',", ",", "value is missing"},
		{"region~ANY~'US',,'FR'", ",,'FR'", "value is missing"},
		{"region~ANY~'US", "'US", "not closed"},
		{"region~ANY~'US'X", "'US'X", "quoted value is followed by"},
		{"region~ANY~US'", "US'", "stray quote"},
		{"region~ANY~'US'~OR~mrr~GT~1", "~OR~mrr~GT~1", "joined by ~AND~"},
		{"region~ANY~'US'~AND~", "~AND~", "ends after ~AND~"},
		{"region~ANY~'US'~AND", "~AND", "ends after ~AND~"},
		{"region~ANY~'US'~AND~mrr", "mrr", "stops after its filter name"},
		{"region~ANY~'US'~mrr~GT~1", "~mrr~GT~1", "joined by ~AND~"},
		{"region~ANY~'US'\n", "\n", "control character"},
		{"tags~ANY~'\xff'", "tags~ANY~'\xff'", "UTF-8"},
		// names and operators
		{"country~ANY~'US'", "country", `"country" is not a filter`},
		{"country~IN~'US'", "country", `"country" is not a filter`}, // the filter is named first
		{"plans~ANY~'x'", "plans", "the filters are plan, plan_group, region"},
		{"custom.~EQ~1", "custom.", "key is missing"},
		{"region~IN~'US'", "IN", `"IN" is not a CFL operator`},
		{"region~ALL~'US'", "ALL", "region does not take ALL; it takes ANY, NONE"},
		{"mrr~ANY~1", "ANY", "mrr does not take ANY"},
		{"plan~EQ~'x'", "EQ", "plan does not take EQ"},
		{"customer_status~EQ~'Active'", "EQ", "customer_status does not take EQ"},
		{"custom.channel~GT~'a'", "GT", "GT does not apply to text"},
		{"custom.seats~CONTAINS~5", "CONTAINS", "CONTAINS does not apply to a number"},
		{"custom.seats~IS~5", "IS", "IS takes NULL only"},
		{"custom.seats~EQ~NULL", "EQ", "NULL goes with IS and IS_NOT only"},
		{"custom.flag~GT~TRUE", "GT", "does not apply to TRUE/FALSE"},
		{"custom.day~ANY~2024-01-01", "ANY", "does not apply to a date"},
		// number of values
		{"mrr~GT~1,2", "mrr~GT~1,2", "GT takes one value; this one has 2"},
		{"mrr~BETWEEN~1", "mrr~BETWEEN~1", "BETWEEN takes two values"},
		{"mrr~BETWEEN~1,2,3", "mrr~BETWEEN~1,2,3", "this one has 3"},
		{"mrr~BETWEEN~150,49.99", "mrr~BETWEEN~150,49.99", "smaller value first"},
		{"subscriber_since~BETWEEN~2022-06-30,2022-04-01", "subscriber_since~BETWEEN~2022-06-30,2022-04-01", "smaller value first"},
		// values
		{"region~ANY~'US','XX'", "'XX'", "not an ISO 3166-1 alpha-2 country code"},
		{"region~ANY~'USA'", "'USA'", "country code"},
		{"currency~ANY~'usd','EURO'", "'EURO'", "not an ISO 4217 currency code"},
		{"customer_status~ANY~'Trial'", "'Trial'", "not a customer status"},
		{"tags~ANY~''", "''", "takes no empty value"},
		{"tags~ANY~'  '", "'  '", "takes no empty value"},
		{"mrr~GT~'abc'", "'abc'", "mrr takes a number in the account currency's major units"},
		{"mrr~GT~1e3", "1e3", "major units"},
		{"mrr~GT~1.", "1.", "major units"},
		{"mrr~GT~.5", ".5", "major units"},
		{"mrr~GT~1/3", "1/3", "major units"},
		{"mrr~GT~1234567890123456", "1234567890123456", "major units"}, // 16 digits
		{"mrr~GT~1.1234567", "1.1234567", "major units"},               // 7 decimals
		{"arr~LT~0x10", "0x10", "major units"},
		{"active_quantity~GT~1.5", "1.5", "active_quantity takes a whole number"},
		{"subscriber_since~GT~2022-02-30", "2022-02-30", "not a date"},
		{"subscriber_since~GT~22-02-01", "22-02-01", "not a date"},
		{"subscriber_since~GT~1969-12-31", "1969-12-31", "between 1970-01-01 and 2999-12-31"},
		{"subscriber_since~GT~2022-04-01T00:00:00Z", "2022-04-01T00:00:00Z", "not a date"},
		{"custom.channel~EQ~Facebook", "Facebook", "write text in single quotes"},
		{"custom.channel~ANY~'a',b", "b", "quote every value or none"},
		{"custom.seats~BETWEEN~1,'2'", "'2'", "quote every value or none"},
		{"custom.flag~EQ~TRUE,FALSE", "custom.flag~EQ~TRUE,FALSE", "EQ takes one value"},
		{"custom.day~BETWEEN~2024-01-01,5", "5", "not a date"},
		{"custom.seats~BETWEEN~5,2024-01-01", "2024-01-01", "neither a number"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Parse(tt.expr)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want an *Error", tt.expr, err)
			}
			if e.Part != tt.part {
				t.Errorf("Part = %q, want %q (message %q)", e.Part, tt.part, e.Message)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("Message = %q, want it to say %q", e.Message, tt.msg)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	check := func(expr, msg string) {
		t.Helper()
		_, err := Parse(expr)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Message, msg) {
			t.Errorf("Parse(%d bytes) = %v, want an *Error saying %q", len(expr), err, msg)
			return
		}
		if len(e.Part) > maxPart+len("…") {
			t.Errorf("Part has %d bytes", len(e.Part))
		}
	}
	check(strings.Repeat("x", MaxLength+1), "at most 16384 characters")
	conds := strings.Repeat("mrr~GT~1~AND~", MaxConditions) + "mrr~GT~1"
	check(conds, "at most 20 conditions")
	if _, err := Parse(strings.Repeat("mrr~GT~1~AND~", MaxConditions-1) + "mrr~GT~1"); err != nil {
		t.Errorf("%d conditions: %v", MaxConditions, err)
	}
	vals := "tags~ANY~" + strings.Repeat("'a',", MaxValues) + "'a'"
	check(vals, "at most 300 values")
	if _, err := Parse("tags~ANY~" + strings.Repeat("'a',", MaxValues-1) + "'a'"); err != nil {
		t.Errorf("%d values: %v", MaxValues, err)
	}
	// 21 values of plan under ALL (each is looked up on its own).
	var b strings.Builder
	for i := range MaxResolvedAll + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Quote(strings.Repeat("p", i+1)))
	}
	check("plan~ALL~"+b.String(), "at most 20 plan and data_source values under ALL")
	long := "custom.k~EQ~'" + strings.Repeat("é", 1025) + "'"
	check(long, "at most 1024 characters")
	check("custom."+strings.Repeat("k", 256)+"~EQ~1", "at most 255 characters")
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ expr, part, msg string }{
		{"plan~ANY~'pl_basic','nope'", "nope", "There is no plan with the UUID, external ID or name 'nope'."},
		{"plan~ANY~'a','b'", "a", "'a' (nor 'b')"},
		{"plan~ALL~'pl_basic','nope'", "nope", "no plan"},
		{"plan~NONE~'nope'", "nope", "no plan"},
		{"plan_group~ANY~'grp_x'", "grp_x", "There is no plan group with the UUID 'grp_x'."},
		{"data_source~ANY~'ds_x'", "ds_x", "There is no data source with the UUID 'ds_x'."},
		{"data_source~ALL~'ds_stripe','ds_x'", "ds_x", "no data source"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Compile(context.Background(), &resolver{})
			var ee *Error
			if !errors.As(err, &ee) {
				t.Fatalf("Compile = %v, want an *Error", err)
			}
			if ee.Part != tt.part || !strings.Contains(ee.Message, tt.msg) {
				t.Errorf("Compile = {%q, %q}, want Part %q and a message saying %q", ee.Part, ee.Message, tt.part, tt.msg)
			}
		})
	}
}

// failing is a resolver whose database is down.
type failing struct{ resolver }

var errDown = errors.New("database is down")

func (*failing) Plans(context.Context, []string) ([]string, []string, error) {
	return nil, nil, errDown
}

func TestCompileResolverError(t *testing.T) {
	e, _ := Parse("plan~ANY~'x'")
	_, err := e.Compile(context.Background(), &failing{})
	var ee *Error
	if !errors.Is(err, errDown) || errors.As(err, &ee) {
		t.Errorf("Compile = %v, want the resolver's error, not an *Error", err)
	}
}

// TestCanonical: spellings of one expression give one canonical form,
// which parses back to itself.
func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"Region~any~'us', 'de' ,'US'", "region~ANY~'DE','US'"},
		{" region ~ ANY ~ us,de ", "region~ANY~'DE','US'"},
		{"currency~ANY~usd", "currency~ANY~'USD'"},
		{"customer_status~none~'new lead','ACTIVE'", "customer_status~NONE~'Active','New Lead'"},
		{"mrr~GT~0150.50", "mrr~GT~150.5"},
		{"mrr~GT~-0.0", "mrr~GT~0"},
		{"mrr~GT~'150'", "mrr~GT~150"},
		{"mrr~BETWEEN~1.10,2", "mrr~BETWEEN~1.1,2"},
		{"subscriber_since~GT~'2022-04-01'", "subscriber_since~GT~2022-04-01"},
		{"tags~ALL~'b','a','b'", "tags~ALL~'a','b'"},
		{"tags~ANY~'O''Brien'", "tags~ANY~'O''Brien'"},
		{"tags~ANY~'a~b,c'", "tags~ANY~'a~b,c'"}, // tilde and comma inside quotes
		{"tags~ANY~vip customer", "tags~ANY~'vip customer'"},
		{"custom.Channel~eq~'Facebook'", "custom.Channel~EQ~'Facebook'"}, // keys keep their case
		{"CUSTOM.flag~EQ~true", "custom.flag~EQ~TRUE"},
		{"custom.x~is_not~null", "custom.x~IS_NOT~NULL"},
		{"custom.n~GTE~007", "custom.n~GTE~7"},
		{"plan~ANY~pl_basic", "plan~ANY~'pl_basic'"},
		// conditions sorted, repeats dropped
		{"tags~ANY~'a'~AND~region~ANY~'US'~AND~tags~ANY~'a'", "region~ANY~'US'~AND~tags~ANY~'a'"},
		{"mrr~GT~1~aNd~arr~GT~1", "arr~GT~1~AND~mrr~GT~1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.String(); got != tt.want {
				t.Fatalf("String = %q, want %q", got, tt.want)
			}
			again, err := Parse(e.String())
			if err != nil {
				t.Fatalf("Parse(String()): %v", err)
			}
			if again.String() != tt.want {
				t.Errorf("round trip: %q", again.String())
			}
		})
	}
}

// TestFilterKey: Filter.String resolves names, so equal filters give one
// key, and the key compiles back to the same filter.
func TestFilterKey(t *testing.T) {
	tests := []struct {
		exprs []string
		key   string
	}{
		{[]string{"plan~ANY~'Pro'", "plan~ANY~'pl_pro_eu','pro'", "plan~ANY~'pl_pro'~AND~plan~ANY~'pro-eu'"},
			"plan~ANY~'pl_pro','pl_pro_eu'"},
		// the group dissolves into its plans under ANY and NONE
		{[]string{"plan_group~ANY~'grp_paid'", "plan~ANY~'Enterprise','pl_pro'"}, "plan~ANY~'pl_ent','pl_pro'"},
		{[]string{"plan~NONE~'Basic'~AND~plan_group~NONE~'grp_paid'", "plan~NONE~'pl_basic','pl_ent','pl_pro'"},
			"plan~NONE~'pl_basic','pl_ent','pl_pro'"},
		// ALL keeps one requirement per value: a single plan by UUID, a shared name as written
		{[]string{"plan~ALL~'Basic','Pro'", "plan~ALL~'Pro','pl_basic'"}, "plan~ALL~'Pro','pl_basic'"},
		{[]string{"plan_group~ALL~'grp_paid'"}, "plan_group~ALL~'grp_paid'"},
		{[]string{"region~ANY~us~AND~mrr~GT~150.0", "mrr~GT~150~AND~region~ANY~'US'"}, "mrr~GT~150~AND~region~ANY~'US'"},
		{[]string{"plan~ANY~'pl_basic'~AND~tags~NONE~'x'~AND~plan~ALL~'ent'~AND~plan~NONE~'pl_pro'"},
			"plan~ALL~'pl_ent'~AND~plan~ANY~'pl_basic'~AND~plan~NONE~'pl_pro'~AND~tags~NONE~'x'"},
		{[]string{""}, ""},
	}
	for _, tt := range tests {
		for _, expr := range tt.exprs {
			f := compile(t, expr, &resolver{})
			if f.String() != tt.key {
				t.Errorf("%q: key %q, want %q", expr, f.String(), tt.key)
				continue
			}
			g := compile(t, f.String(), &resolver{})
			if g.String() != f.String() || !cmp.Equal(g.Plans(), f.Plans()) {
				t.Errorf("%q: key compiles to %q, view %v (was %v)", expr, g.String(), g.Plans(), f.Plans())
			}
			for name, c := range customers {
				if f.Match(c) != g.Match(c) {
					t.Errorf("%q: the key's filter disagrees on %s", expr, name)
				}
			}
		}
	}
}

func TestConditions(t *testing.T) {
	e, err := Parse("region~ANY~'US','de'~AND~custom.seats~BETWEEN~1,5")
	if err != nil {
		t.Fatal(err)
	}
	want := []Condition{
		{Filter: "custom.seats", Op: OpBetween, Kind: KindNumber, Values: []string{"1", "5"}},
		{Filter: "region", Op: OpAny, Kind: KindCountry, Values: []string{"DE", "US"}},
	}
	if diff := cmp.Diff(want, e.Conditions()); diff != "" {
		t.Errorf("Conditions (-want +got):\n%s", diff)
	}
	if got := want[1].String(); got != "region~ANY~'DE','US'" {
		t.Errorf("Condition.String = %q", got)
	}
}

func TestGeoAndPlanView(t *testing.T) {
	f, err := Geo([]string{" us", "", "fr", "US"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.String(), "region~ANY~'FR','US'"; got != want {
		t.Errorf("Geo key %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"ann", "cat", "eve"}, selected(f)); diff != "" {
		t.Errorf("Geo (-want +got):\n%s", diff)
	}
	if f, err := Geo([]string{"", " "}); f != nil || err != nil {
		t.Errorf("Geo of nothing = %v, %v", f, err)
	}
	_, err = Geo([]string{"US", "XX"})
	var e *Error
	if !errors.As(err, &e) || e.Part != "XX" {
		t.Errorf("Geo(XX) = %v", err)
	}

	v := PlanView([]string{"pl_pro_eu", "pl_basic"})
	if got, want := v.String(), "plan~ANY~'pl_basic','pl_pro_eu'"; got != want {
		t.Errorf("PlanView key %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"ann", "bob", "eve"}, selected(v)); diff != "" {
		t.Errorf("PlanView (-want +got):\n%s", diff)
	}
	if PlanView(nil) != nil {
		t.Error("PlanView of nothing is not nil")
	}
	// geo and plans combine with filters by AND.
	g := All(f, v, compile(t, "mrr~GT~0", &resolver{}))
	if diff := cmp.Diff([]string{"ann", "eve"}, selected(g)); diff != "" {
		t.Errorf("All(geo, plans, filters) (-want +got):\n%s", diff)
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	if !f.Match(&Facts{}) || f.Plans() != nil || f.Timed() || f.String() != "" {
		t.Error("a nil filter does not select everyone")
	}
	var e *Expr
	if e.String() != "" || e.Conditions() != nil || e.Timed() {
		t.Error("a nil expression is not empty")
	}
	if g, err := e.Compile(context.Background(), &resolver{}); err != nil || !g.Match(&Facts{}) {
		t.Errorf("nil expression compiles to %v, %v", g, err)
	}
}

func TestCatalog(t *testing.T) {
	fs := Filters()
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	want := []string{"plan", "plan_group", "region", "currency", "data_source", "tags",
		"customer_status", "mrr", "arr", "subscriber_since", "active_quantity"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	fs[0].Ops[0] = "CHANGED"
	if Filters()[0].Ops[0] != OpAny {
		t.Error("Filters shares its slices")
	}
	// Every operator the catalog lists parses for its filter.
	sample := map[Kind]string{
		KindPlan: "'pl_basic'", KindPlanGroup: "'grp_paid'", KindCountry: "'US'", KindCurrency: "'USD'",
		KindDataSource: "'ds_stripe'", KindText: "'a'", KindStatus: "'Active'", KindMoney: "1",
		KindInteger: "1", KindNumber: "1", KindDate: "2024-01-01", KindBoolean: "TRUE",
	}
	for _, s := range Filters() {
		for _, op := range s.Ops {
			v := sample[s.Kind]
			if op == OpBetween {
				v += "," + v
			}
			compile(t, s.Name+"~"+string(op)+"~"+v, &resolver{})
		}
	}
	for _, typ := range []string{"String", "Integer", "Decimal", "Timestamp", "Boolean"} {
		s, ok := CustomSpec("k", typ)
		if !ok || s.Name != "custom.k" {
			t.Fatalf("CustomSpec(%s) = %v, %v", typ, s, ok)
		}
		for _, op := range s.Ops {
			v := sample[s.Kind]
			if op == OpIs || op == OpIsNot {
				v = "NULL"
			}
			if op == OpBetween {
				v += "," + v
			}
			compile(t, s.Name+"~"+string(op)+"~"+v, &resolver{})
		}
	}
	if _, ok := CustomSpec("k", "Money"); ok {
		t.Error("CustomSpec takes an unknown type")
	}
}
