package api

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// hostileIDs are the objects the hostile-input cases point at: the
// fixture plus an imported invoice (subscription "sub-A") and a plan group.
type hostileIDs struct {
	fixtureIDs
	inv, group string
}

// lineWith is seedInvoice's subscription line with fields replaced.
func invoiceWith(ext, plan string, line map[string]any, inv map[string]any) map[string]any {
	i := seedInvoice(ext, plan, "sub-"+ext)
	l := i["line_items"].([]any)[0].(map[string]any)
	for k, v := range line {
		l[k] = v
	}
	for k, v := range inv {
		i[k] = v
	}
	return i
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestHostileInput is issue 10's hostile input: amounts beyond the bound,
// page numbers that overflow, NUL and invalid UTF-8, strings and arrays
// beyond the limits, and the smaller oddities. Each is refused with a 4xx
// naming what is wrong, alike on both stores, and changes nothing.
func TestHostileInput(t *testing.T) {
	const tooBig = 10_000_000_000_001
	long := strings.Repeat("x", 256)
	cases := []struct {
		name   string
		method string
		path   func(hostileIDs) string
		body   func(hostileIDs) any
		status int
		field  string // the 422's errors key, or the 400's param
		msg    string // the 422's message for field, when it matters
	}{
		// Money bounds (±10^13 cents).
		{name: "line amount over the bound", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, map[string]any{"amount_in_cents": tooBig}, nil))
			}, status: 422, field: "line_items.amount_in_cents"},
		{name: "line amount 9e18", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, map[string]any{"amount_in_cents": int64(9e18)}, nil))
			}, status: 422, field: "line_items.amount_in_cents"},
		{name: "tax of -2^63", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, map[string]any{"tax_amount_in_cents": "-9223372036854775808"}, nil))
			}, status: 422, field: "line_items.tax_amount_in_cents"},
		{name: "discount over the bound", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, map[string]any{"discount_amount_in_cents": tooBig}, nil))
			}, status: 422, field: "line_items.discount_amount_in_cents"},
		{name: "line fees over the bound", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, map[string]any{"transaction_fees_in_cents": -tooBig}, nil))
			}, status: 422, field: "line_items.transaction_fees_in_cents"},
		{name: "invoice transaction amount max int", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, nil, map[string]any{"transactions": []any{map[string]any{
					"date": "2015-11-05", "type": "payment", "result": "successful", "amount_in_cents": int64(9223372036854775807)}}}))
			}, status: 422, field: "transactions.amount_in_cents"},
		{name: "transaction amount max int", method: "POST", path: func(i hostileIDs) string { return "/v1/import/invoices/" + i.inv + "/transactions" },
			body: func(hostileIDs) any {
				return map[string]any{"date": "2015-11-05", "type": "payment", "result": "successful", "amount_in_cents": int64(9223372036854775807)}
			}, status: 422, field: "amount_in_cents"},
		{name: "transaction fees over the bound", method: "POST", path: func(i hostileIDs) string { return "/v1/import/invoices/" + i.inv + "/transactions" },
			body: func(hostileIDs) any {
				return map[string]any{"date": "2015-11-05", "type": "payment", "result": "successful", "transaction_fees_in_cents": tooBig}
			}, status: 422, field: "transaction_fees_in_cents"},
		{name: "event amount over the bound", method: "POST", path: fixedH("/v1/subscription_events"),
			body: func(i hostileIDs) any {
				return event(i.ds, map[string]any{"event_type": "subscription_start", "plan_external_id": "plan_0001", "currency": "USD",
					"amount_in_cents": tooBig})
			}, status: 422, field: "amount_in_cents"},
		{name: "event tax under the bound", method: "POST", path: fixedH("/v1/subscription_events"),
			body: func(i hostileIDs) any {
				return event(i.ds, map[string]any{"event_type": "subscription_start", "plan_external_id": "plan_0001", "currency": "USD",
					"amount_in_cents": 100, "tax_amount_in_cents": -tooBig})
			}, status: 422, field: "tax_amount_in_cents"},

		// Page numbers: page*per_page must not overflow; both stores refuse alike.
		{name: "customers page overflow", method: "GET", path: fixedH("/v1/customers?page=4611686018427387905"), status: 400, field: "page"},
		{name: "customer subscriptions page overflow", method: "GET",
			path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/subscriptions?page=4611686018427387905" }, status: 400, field: "page"},
		{name: "plans page overflow", method: "GET", path: fixedH("/v1/plans?page=4611686018427387905&per_page=2"), status: 400, field: "page"},
		{name: "invoices page overflow", method: "GET", path: fixedH("/v1/invoices?page=46116860184273879"), status: 400, field: "page"},
		{name: "customer invoices page overflow", method: "GET",
			path: func(i hostileIDs) string {
				return "/v1/import/customers/" + i.cus + "/invoices?page=4611686018427387905"
			}, status: 400, field: "page"},
		{name: "import subscriptions page overflow", method: "GET",
			path: func(i hostileIDs) string {
				return "/v1/import/customers/" + i.cus + "/subscriptions?page=4611686018427387905"
			}, status: 400, field: "page"},
		{name: "events page overflow", method: "GET", path: fixedH("/v1/subscription_events?page=4611686018427387905"), status: 400, field: "page"},
		{name: "plan groups page overflow", method: "GET", path: fixedH("/v1/plan_groups?page=4611686018427387905"), status: 400, field: "page"},
		{name: "plan group plans page overflow", method: "GET",
			path: func(i hostileIDs) string { return "/v1/plan_groups/" + i.group + "/plans?page=4611686018427387905" }, status: 400, field: "page"},
		{name: "customer activities page overflow", method: "GET",
			path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/activities?page=4611686018427387905" }, status: 400, field: "page"},
		{name: "page just over the bound", method: "GET", path: fixedH("/v1/customers?page=1000001"), status: 400, field: "page"},
		{name: "page at the bound is an empty page", method: "GET", path: fixedH("/v1/customers?page=1000000"), status: 200},

		// NUL and invalid UTF-8, in a body, a query and a path.
		{name: "NUL in a JSON string", method: "POST", path: fixedH("/v1/data_sources"),
			body: func(hostileIDs) any { return `{"name":"a\u0000b"}` }, status: 422, field: "name"},
		{name: "NUL in a nested JSON string", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, map[string]any{"description": "a\x00b"}, nil))
			}, status: 422, field: "invoices.line_items.description"},
		{name: "NUL in a JSON key", method: "POST", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/attributes/custom" },
			body: func(hostileIDs) any { return `{"custom":{"a\u0000":1}}` }, status: 422, field: "custom.a\x00"},
		{name: "escaped backslash before u0000 is no NUL", method: "POST", path: fixedH("/v1/data_sources"),
			body: func(hostileIDs) any { return `{"name":"a\\u0000b"}` }, status: 201},
		{name: "invalid UTF-8 in a body", method: "POST", path: fixedH("/v1/data_sources"),
			body: func(hostileIDs) any { return []byte("{\"name\":\"a\xffb\"}") }, status: 400},
		{name: "NUL in a query", method: "GET", path: fixedH("/v1/customers?external_id=a%00b"), status: 400, field: "external_id"},
		{name: "invalid UTF-8 in a query", method: "GET", path: fixedH("/v1/plans?name=a%ffb"), status: 400, field: "name"},
		{name: "NUL in a path", method: "GET", path: fixedH("/v1/customers/cus_%00"), status: 400},
		{name: "invalid UTF-8 in a path", method: "DELETE", path: fixedH("/v1/plans/pl_%C3"), status: 400},
		{name: "NUL in the events query", method: "DELETE", path: fixedH("/v1/subscription_events?subscription_event[data_source_uuid]=%00"), status: 400},

		// Lengths of strings and arrays.
		{name: "data source name too long", method: "POST", path: fixedH("/v1/data_sources"),
			body: func(hostileIDs) any { return map[string]any{"name": long} }, status: 422, field: "name"},
		{name: "any string over 1024 characters", method: "POST", path: fixedH("/v1/data_sources"),
			body: func(hostileIDs) any { return map[string]any{"name": "ok", "system": strings.Repeat("y", 1025)} }, status: 422, field: "system"},
		{name: "customer external_id too long", method: "POST", path: fixedH("/v1/customers"),
			body: func(i hostileIDs) any { return map[string]any{"data_source_uuid": i.ds, "external_id": long} }, status: 422, field: "external_id"},
		{name: "customer name too long", method: "PATCH", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus },
			body: func(hostileIDs) any { return map[string]any{"name": long} }, status: 422, field: "name"},
		{name: "customer email too long", method: "PATCH", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus },
			body: func(hostileIDs) any { return map[string]any{"email": long + "@example.com"} }, status: 422, field: "email"},
		{name: "tag too long", method: "POST", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/attributes/tags" },
			body: func(hostileIDs) any { return map[string]any{"tags": []string{long}} }, status: 422, field: "tags"},
		{name: "too many tags in a request", method: "POST", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/attributes/tags" },
			body: func(hostileIDs) any { return map[string]any{"tags": numbered("t", 1001)} }, status: 422, field: "tags"},
		{name: "too many tags on create", method: "POST", path: fixedH("/v1/customers"),
			body: func(i hostileIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "external_id": "new", "attributes": map[string]any{"tags": numbered("t", 1001)}}
			}, status: 422, field: "attributes.tags"},
		{name: "custom attribute key too long", method: "POST", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/attributes/custom" },
			body: func(hostileIDs) any {
				return map[string]any{"custom": []any{map[string]any{"type": "String", "key": long, "value": "v"}}}
			}, status: 422, field: "custom[0]"},
		{name: "too many custom attributes", method: "PUT", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/attributes/custom" },
			body: func(hostileIDs) any {
				m := map[string]any{}
				for _, k := range numbered("k", 201) {
					m[k] = 1
				}
				return map[string]any{"custom": m}
			}, status: 422, field: "custom"},
		{name: "plan name too long", method: "POST", path: fixedH("/v1/plans"),
			body: func(i hostileIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "name": long, "interval_count": 1, "interval_unit": "month"}
			}, status: 422, field: "name"},
		{name: "invoice external_id too long", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, nil, map[string]any{"external_id": long}))
			},
			status: 422, field: "external_id"},
		{name: "too many line items", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				inv := invoiceWith("X1", i.pl, nil, nil)
				line := inv["line_items"].([]any)[0]
				lines := make([]any, 1001)
				for n := range lines {
					lines[n] = line
				}
				inv["line_items"] = lines
				return invoices(inv)
			}, status: 422, field: "line_items"},
		{name: "too many transactions", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				tx := map[string]any{"date": "2015-11-05", "type": "payment", "result": "failed"}
				txs := make([]any, 1001)
				for n := range txs {
					txs[n] = tx
				}
				return invoices(invoiceWith("X1", i.pl, nil, map[string]any{"transactions": txs}))
			}, status: 422, field: "transactions"},
		{name: "event external ids too long", method: "POST", path: fixedH("/v1/subscription_events"),
			body: func(i hostileIDs) any {
				return event(i.ds, map[string]any{"event_type": "subscription_cancelled", "subscription_external_id": long})
			}, status: 422, field: "subscription_external_id"},
		{name: "too many plans in a group", method: "POST", path: fixedH("/v1/plan_groups"),
			body: func(i hostileIDs) any { return map[string]any{"name": "g", "plans": repeat(i.pl, 1001)} }, status: 422, field: "plan_ids"},
		{name: "plan group name too long", method: "POST", path: fixedH("/v1/plan_groups"),
			body: func(i hostileIDs) any { return map[string]any{"name": long, "plans": []string{i.pl}} }, status: 422, field: "name"},

		// The smaller oddities.
		{name: "custom attribute of 1e999", method: "POST", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/attributes/custom" },
			body: func(hostileIDs) any { return `{"custom":[{"type":"Decimal","key":"huge","value":1e999}]}` }, status: 422, field: "custom[0]"},
		{name: "custom attribute of 1e999 untyped", method: "PATCH", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus },
			body: func(hostileIDs) any { return `{"attributes":{"custom":{"huge":-1e999}}}` }, status: 422, field: "attributes.custom.huge"},
		{name: "time zone Local", method: "PATCH", path: fixedH("/v1/account/settings"),
			body: func(hostileIDs) any { return map[string]any{"time_zone": "Local"} }, status: 422, field: "time_zone"},
		{name: "plan group with a null plan", method: "POST", path: fixedH("/v1/plan_groups"),
			body: func(hostileIDs) any { return `{"name":"g","plans":[null]}` }, status: 422, field: "plan_ids"},
		{name: "plan group update with a null plan", method: "PATCH", path: func(i hostileIDs) string { return "/v1/plan_groups/" + i.group },
			body: func(i hostileIDs) any { return `{"plans":["` + i.pl + `", null]}` }, status: 422, field: "plan_ids"},
		{name: "connect the same subscription twice", method: "POST", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/connect_subscriptions" },
			body: func(i hostileIDs) any {
				ref := map[string]any{"data_source_uuid": i.ds, "external_id": "sub-A"}
				return map[string]any{"subscriptions": []any{ref, ref}}
			}, status: 422, field: "subscriptions"},
		{name: "invoice dated 0001-01-01", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, nil, map[string]any{"date": "0001-01-01"}))
			},
			status: 422, field: "date", msg: "The date must be between 1970-01-01 and 2999-12-31."},
		{name: "invoice dated before 1970", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, nil, map[string]any{"date": "1969-12-31"}))
			},
			status: 422, field: "date"},
		{name: "service period after 2999", method: "POST", path: importPath,
			body: func(i hostileIDs) any {
				return invoices(invoiceWith("X1", i.pl, map[string]any{"service_period_end": "3000-01-01"}, nil))
			}, status: 422, field: "line_items.service_period_end"},
		{name: "event dated 0001-01-01", method: "POST", path: fixedH("/v1/subscription_events"),
			body: func(i hostileIDs) any {
				return event(i.ds, map[string]any{"event_type": "subscription_cancelled", "event_date": "0001-01-01"})
			},
			status: 422, field: "event_date"},
		{name: "customer lead date in 9999", method: "PATCH", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus },
			body: func(hostileIDs) any { return map[string]any{"lead_created_at": "9999-01-01"} }, status: 422, field: "lead_created_at"},
		{name: "cancellation date before 1970", method: "PATCH", path: fixedH("/v1/import/subscriptions/sub_x"),
			body: func(hostileIDs) any { return map[string]any{"cancelled_at": "1900-01-01"} }, status: 422, field: "cancelled_at"},
		{name: "timestamp custom attribute in year 1", method: "POST", path: func(i hostileIDs) string { return "/v1/customers/" + i.cus + "/attributes/custom" },
			body: func(hostileIDs) any {
				return map[string]any{"custom": []any{map[string]any{"type": "Timestamp", "key": "when", "value": "0001-01-01"}}}
			}, status: 422, field: "custom[0]"},
		{name: "plans filter with too many names", method: "GET",
			path:   fixedH("/v1/metrics/mrr?start-date=2015-01-01&end-date=2015-02-01&plans=" + strings.Join(numbered("p", 101), ",")),
			status: 400, field: "plans"},
		{name: "event in a currency without rates", method: "POST", path: fixedH("/v1/subscription_events"),
			body: func(i hostileIDs) any {
				return event(i.ds, map[string]any{"event_type": "subscription_start", "plan_external_id": "plan_0001", "currency": "EUR",
					"amount_in_cents": 1000})
			}, status: 422, field: "currency"},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{})
		var i hostileIDs
		i.ds, i.cus, i.pl = e.fixture()
		imported := e.ok(201, "POST", "/v1/import/customers/"+i.cus+"/invoices", invoices(seedInvoice("A", i.pl, "sub-A"), seedInvoice("B", i.pl, "sub-B")))
		i.inv = imported["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
		i.group = e.ok(200, "POST", "/v1/plan_groups", map[string]any{"name": "G", "plans": []string{i.pl}})["uuid"].(string)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body any
				if c.body != nil {
					body = c.body(i)
				}
				before := storetest.Snapshot(t, s)
				r := e.do(e.key, c.method, c.path(i), body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d; body %.300s", r.status, c.status, r.body)
				}
				if c.status >= 300 {
					if after := storetest.Snapshot(t, s); after != before {
						t.Errorf("the refused request changed the database")
					}
				}
				if c.field == "" {
					return
				}
				m := r.json(t)
				if c.status == 422 {
					errs, _ := m["errors"].(map[string]any)
					if errs == nil { // the batch shape
						if invs, ok := m["invoices"].([]any); ok && len(invs) > 0 {
							errs, _ = invs[0].(map[string]any)["errors"].(map[string]any)
						}
					}
					if errs == nil { // the plan groups' Rails shape
						errs = m
					}
					if _, ok := errs[c.field]; !ok {
						t.Fatalf("the 422 does not name %q: %.300s", c.field, r.body)
					}
					if c.msg != "" && errs[c.field] != c.msg {
						t.Fatalf("message %q, want %q", errs[c.field], c.msg)
					}
					return
				}
				if m["param"] != c.field {
					t.Fatalf("param %v, want %q: %s", m["param"], c.field, r.body)
				}
			})
		}
	})
}

func importPath(i hostileIDs) string { return "/v1/import/customers/" + i.cus + "/invoices" }

func fixedH(p string) func(hostileIDs) string { return func(hostileIDs) string { return p } }

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// TestAmountsAtTheBound: ±10^13 cents itself is accepted, and two lines at
// the bound add up without wrapping.
func TestAmountsAtTheBound(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		inv := invoiceWith("BIG", pl, map[string]any{"amount_in_cents": 10_000_000_000_000, "tax_amount_in_cents": 0,
			"discount_amount_in_cents": 0}, nil)
		second := inv["line_items"].([]any)[0].(map[string]any)
		copied := map[string]any{}
		for k, v := range second {
			copied[k] = v
		}
		inv["line_items"] = append(inv["line_items"].([]any), copied)
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(inv))
		c := e.ok(200, "GET", "/v1/customers/"+cus, nil)
		if c["mrr"] != 2e13 {
			t.Fatalf("mrr %v, want 2e13", c["mrr"])
		}
	})
}

// TestManyTagsAreAddedOnceEach: a long tag list (with repeats and blanks
// trimmed away) is added once each, in order, through every path that
// adds tags; a list beyond the limit is refused whole.
func TestManyTagsAreAddedOnceEach(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, _ := e.fixture()
		first := numbered("a", 600)
		e.ok(200, "POST", "/v1/customers/"+cus+"/attributes/tags", map[string]any{"tags": append(first, first...)})
		more := append(numbered("a", 300), numbered(" b", 400)...) // 300 old, 400 new (trimmed)
		got := e.ok(200, "POST", "/v1/customers/"+cus+"/attributes/tags", map[string]any{"tags": more})["tags"].([]any)
		if len(got) != 1000 {
			t.Fatalf("%d tags, want 1000", len(got))
		}
		for n, tag := range got {
			want := fmt.Sprintf("a%d", n)
			if n >= 600 {
				want = fmt.Sprintf("b%d", n-600)
			}
			if tag != want {
				t.Fatalf("tag %d is %v, want %s", n, tag, want)
			}
		}
		r := e.do(e.key, "POST", "/v1/customers/attributes/tags", map[string]any{"email": "adam@example.com", "tags": []string{"one-too-many"}})
		if r.status != 422 || !strings.Contains(string(r.body), `"tags"`) {
			t.Fatalf("tag 1001 by email: %d %s", r.status, r.body)
		}
		left := e.ok(200, "DELETE", "/v1/customers/"+cus+"/attributes/tags", map[string]any{"tags": numbered("a", 600)})["tags"].([]any)
		if len(left) != 400 || left[0] != "b0" || left[399] != "b399" {
			t.Fatalf("after removal: %d tags, %v … %v", len(left), left[0], left[len(left)-1])
		}
		created := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "many",
			"attributes": map[string]any{"tags": append(numbered("c", 1000), numbered("c", 1000)...)}})
		if tags := created["attributes"].(map[string]any)["tags"].([]any); len(tags) != 1000 || tags[999] != "c999" {
			t.Fatalf("created with %d tags", len(tags))
		}
	})
}

// TestPlansFilterTokensAreDeduplicated: a repeated name counts once, so a
// long list of one name is a valid filter.
func TestPlansFilterTokensAreDeduplicated(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e.fixture()
		r := e.do(e.key, "GET", "/v1/metrics/mrr?start-date=2015-01-01&end-date=2015-02-01&plans="+url.QueryEscape(strings.Join(repeat("Bronze Plan", 5000), ",")), nil)
		if r.status != 200 {
			t.Fatalf("status %d: %.300s", r.status, r.body)
		}
		r = e.do(e.key, "GET", "/v1/metrics/mrr?start-date=2015-01-01&end-date=2015-02-01&plans="+strings.Join(repeat("nope", 5000), ","), nil)
		var body struct{ Message string }
		if err := json.Unmarshal(r.body, &body); err != nil || r.status != 400 || body.Message != "Unknown plans in the filter: nope." {
			t.Fatalf("unknown, repeated: %d %s", r.status, r.body)
		}
	})
}

// TestOverflowIsA422: an engine overflow (stored amounts adding up beyond
// money.MaxSum) is answered as the client's data, not as a server error.
func TestOverflowIsA422(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, httptest.NewRequest("GET", "/v1/metrics/mrr", nil), fmt.Errorf("series: %w", money.ErrOverflow))
	if w.Code != 422 || !strings.Contains(w.Body.String(), `"amount_in_cents"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// TestCheckStrings: decode's scan names the path of the first string with
// a NUL or beyond the length limit, counting decoded characters.
func TestCheckStrings(t *testing.T) {
	emoji := strings.Repeat(`\ud83d\ude00`, 1024) // 1024 characters, 2048 escapes
	cases := []struct {
		body, field string // field "": accepted
	}{
		{`{"a":"x","b":["y",{"c":"z"}]}`, ""},
		{`{"a":"x\u0000"}`, "a"},
		{`{"a":{"b":[1,{"c":"\u0000"}]}}`, "a.b.c"},
		{`{"a":[{"k":1},{"k\u0000":2}]}`, "a.k\x00"},
		{`{"a":"\\u0000"}`, ""},
		{`{"e\"sc":{"x":"\u0000"}}`, "e\"sc.x"},
		{`{"a":1,"b":"` + strings.Repeat("é", 1024) + `"}`, ""},
		{`{"a":1,"b":"` + strings.Repeat("é", 1025) + `"}`, "b"},
		{`{"a":"` + emoji + `"}`, ""},
		{`{"a":"` + emoji + `x"}`, "a"},
		{`{"a":"` + strings.Repeat(`\n`, 1025) + `"}`, "a"},
		// A lone high surrogate then a NUL: two characters, the second a
		// NUL (the scan once took them for a pair and missed it).
		{`{"a":"\ud800\u0000"}`, "a"},
		{`{"a":"\ud800x"}`, ""},
		// A long-text field (a note's text) takes 16,384 characters at
		// the top level only; every other string keeps 1,024.
		{`{"text":"` + strings.Repeat("é", 16384) + `"}`, ""},
		{`{"text":"` + strings.Repeat("é", 16385) + `"}`, "text"},
		{`{"other":"` + strings.Repeat("é", 1025) + `"}`, "other"},
		{`{"a":{"text":"` + strings.Repeat("é", 1025) + `"}}`, "a.text"},
		{`{"a":["` + strings.Repeat("é", 1025) + `"],"text":"x"}`, "a"},
		{`{"` + strings.Repeat("k", 1025) + `":"x"}`, strings.Repeat("k", 1025)},
	}
	for _, c := range cases {
		err := checkStrings([]byte(c.body), "text")
		if c.field == "" {
			if err != nil {
				t.Errorf("%.60s: %v", c.body, err)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%.60s: %v, want a 422 naming %q", c.body, err, c.field)
			continue
		}
		if _, named := e.Body.(map[string]billing.FieldErrors)["errors"][c.field]; !named {
			t.Errorf("%.60s: %v, want a 422 naming %q", c.body, e.Body, c.field)
		}
	}
}
