package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-analytics/tally/internal/segment"
)

func TestParseCFL(t *testing.T) {
	tests := []struct {
		in   string
		want []condition
		ok   bool
	}{
		{"", nil, true},
		{"region~ANY~'US','FR'", []condition{{Filter: "region", Op: "ANY", Values: []string{"US", "FR"}}}, true},
		{"plan~ANY~'pl_1'~AND~region~ANY~'US','FR'~AND~mrr~GT~10000", []condition{
			{Filter: "plan", Op: "ANY", Values: []string{"pl_1"}},
			{Filter: "region", Op: "ANY", Values: []string{"US", "FR"}},
			{Filter: "mrr", Op: "GT", Values: []string{"10000"}}}, true},
		{"active_quantity~BETWEEN~0,11", []condition{{Filter: "active_quantity", Op: "BETWEEN", Values: []string{"0", "11"}}}, true},
		// A quoted value keeps its ~, its comma and its escaped quote.
		{`tags~ANY~'a~AND~b','O''Brien, Ltd'`, []condition{{Filter: "tags", Op: "ANY", Values: []string{"a~AND~b", "O'Brien, Ltd"}}}, true},
		// A custom attribute's type is how its value is written.
		{"custom.channel~EQ~'Facebook'", []condition{{Filter: "custom", Key: "channel", Type: "String", Op: "EQ", Values: []string{"Facebook"}}}, true},
		{"custom.seats~BETWEEN~5,10", []condition{{Filter: "custom", Key: "seats", Type: "Integer", Op: "BETWEEN", Values: []string{"5", "10"}}}, true},
		{"custom.score~GT~2.5", []condition{{Filter: "custom", Key: "score", Type: "Decimal", Op: "GT", Values: []string{"2.5"}}}, true},
		{"custom.vip~EQ~TRUE", []condition{{Filter: "custom", Key: "vip", Type: "Boolean", Op: "EQ", Values: []string{"TRUE"}}}, true},
		{"custom.renewal~LT~2027-01-01", []condition{{Filter: "custom", Key: "renewal", Type: "Timestamp", Op: "LT", Values: []string{"2027-01-01"}}}, true},
		// IS and IS_NOT take NULL, which the row does not show.
		{"custom.channel~IS~NULL", []condition{{Filter: "custom", Key: "channel", Type: "String", Op: "IS"}}, true},
		// Dates and money are bare; codes and statuses quoted.
		{"subscriber_since~BETWEEN~2024-01-01,2024-03-31~AND~arr~GTE~1200.5~AND~customer_status~NONE~'New Lead'",
			[]condition{{Filter: "subscriber_since", Op: "BETWEEN", Values: []string{"2024-01-01", "2024-03-31"}},
				{Filter: "arr", Op: "GTE", Values: []string{"1200.5"}}, {Filter: "customer_status", Op: "NONE", Values: []string{"New Lead"}}}, true},
		// A filter the builder does not know is a row of its own.
		{"colour~EQ~'red'", []condition{{Filter: "colour", Op: "EQ", Values: []string{"red"}}}, true},
		{"region~ANY", nil, false},
		{"region~ANY~'US'~OR~mrr~GT~1", nil, false},
		{"region~ANY~'US", nil, false},
		{"~ANY~'US'", nil, false},
	}
	for _, tc := range tests {
		got, ok := parseCFL(tc.in)
		if ok != tc.ok || !cmp.Equal(got, tc.want) {
			t.Errorf("parseCFL(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && tc.in != "" {
			// What parses composes back to the same text.
			if back := composeCFL(got); back != tc.in {
				t.Errorf("composeCFL(parseCFL(%q)) = %q", tc.in, back)
			}
		}
	}
}

func TestHasPlanCondition(t *testing.T) {
	for in, want := range map[string]bool{
		"":                false,
		"plan~ANY~'pl_1'": true,
		"region~ANY~'US'~AND~plan_group~ANY~'plg_1'": true,
		"region~ANY~'plan'":                          false,
		"tags~ANY~'x~AND~plan~ANY~y'":                false,
		"custom.plan~EQ~'x'":                         false,
		"mrr~GT~1~AND~plan~NONE~'pl_1'":              true,
	} {
		if got := hasPlanCondition(in); got != want {
			t.Errorf("hasPlanCondition(%q) = %v", in, got)
		}
	}
}

// TestBuilderRedirect: the builder's rows become the page's filters
// parameter, the page's other parameters kept, removed and blank rows
// dropped, lists typed in a box split, a comparison's value whole.
func TestBuilderRedirect(t *testing.T) {
	q := url.Values{
		"start-date": {"2025-01-01"}, "interval": {"quarter"}, "segment": {"seg_1"}, "filters": {"old~EQ~1"}, "page": {"3"},
		"c0-filter": {"plan"}, "c0-op": {"ANY"}, "c0-value": {"pl_1", "pl_2"},
		"c1-filter": {""}, "c1-op": {"ANY"}, "c1-value": {"US"}, // removed
		"c2-filter": {"region"}, "c2-op": {"NONE"}, "c2-value": {" US, FR ,"},
		"c3-filter": {"custom"}, "c3-key": {"channel"}, "c3-type": {"String"}, "c3-op": {"EQ"}, "c3-value": {"Face, book"},
		"c4-filter": {"custom"}, "c4-key": {"seats"}, "c4-type": {"Integer"}, "c4-op": {"IS_NOT"}, "c4-value": {"ignored"},
		"c10-filter": {"mrr"}, "c10-key": {"ignored"}, "c10-type": {"String"}, "c10-op": {"BETWEEN"}, "c10-value": {"100,2000"},
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/metrics/mrr?"+q.Encode(), nil)
	if !builderRedirect(rec, r, "/share/abc/") {
		t.Fatal("not answered")
	}
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d", rec.Code)
	}
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/share/abc/metrics/mrr" {
		t.Errorf("path %s", u.Path)
	}
	want := url.Values{"start-date": {"2025-01-01"}, "interval": {"quarter"}, "segment": {"seg_1"},
		"filters": {"plan~ANY~'pl_1','pl_2'~AND~region~NONE~'US','FR'~AND~custom.channel~EQ~'Face, book'~AND~custom.seats~IS_NOT~NULL~AND~mrr~BETWEEN~100,2000"}}
	if diff := cmp.Diff(want, u.Query()); diff != "" {
		t.Errorf("redirect query (-want +got):\n%s", diff)
	}
	// What the builder writes, the API's parser reads.
	if _, err := segment.Parse(u.Query().Get("filters")); err != nil {
		t.Errorf("segment.Parse(%q): %v", u.Query().Get("filters"), err)
	}
	// Every row removed: no filters at all.
	rec = httptest.NewRecorder()
	r = httptest.NewRequest(http.MethodGet, "/customers?filters=x~EQ~1&c0-filter=&c0-op=ANY", nil)
	builderRedirect(rec, r, "/")
	if got := rec.Header().Get("Location"); got != "/customers" {
		t.Errorf("all rows removed: %s", got)
	}
	// No rows: the page answers itself.
	if builderRedirect(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/customers?filters=x", nil), "/") {
		t.Error("a page without builder rows redirected")
	}
}

func TestHeat(t *testing.T) {
	for in, want := range map[string]string{"0": "heat-0", "0.0": "heat-0", "0.01": "heat-1", "9.99": "heat-1", "10": "heat-2",
		"55.5": "heat-6", "99.99": "heat-10", "100": "heat-10", "100.01": "heat-over", "": "", "x": ""} {
		if got := heat(in); got != want {
			t.Errorf("heat(%q) = %q, want %q", in, got, want)
		}
	}
}
