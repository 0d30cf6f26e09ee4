package api

import (
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestBadInput sends every kind of client mistake the foundation issue
// names and checks the status, the ChartMogul-shaped body, and that the
// database is exactly as it was.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name   string
		key    func(e *env) string
		method string
		path   func(fixtureIDs) string
		body   func(fixtureIDs) any
		status int
		want   string // exact JSON body; empty: only check it is JSON
	}{
		{name: "no key", key: func(*env) string { return "" }, method: "GET", path: fixed("/v1/ping"),
			status: 401, want: `{"code":401,"message":"No valid API key provided","param":null}`},
		{name: "wrong key", key: func(*env) string { return "tly_not-a-key" }, method: "POST", path: fixed("/v1/data_sources"),
			body: func(fixtureIDs) any { return map[string]any{"name": "x"} }, status: 401,
			want: `{"code":401,"message":"No valid API key provided","param":null}`},
		{name: "read key writing", key: func(e *env) string { return e.readKey }, method: "POST", path: fixed("/v1/data_sources"),
			body: func(fixtureIDs) any { return map[string]any{"name": "x"} }, status: 403},
		{name: "read key deleting", key: func(e *env) string { return e.readKey }, method: "DELETE",
			path: func(i fixtureIDs) string { return "/v1/customers/" + i.cus }, status: 403},
		{name: "data source name missing", method: "POST", path: fixed("/v1/data_sources"), body: func(fixtureIDs) any { return map[string]any{} },
			status: 422, want: `{"errors":{"name":"A name is required for each data source."}}`},
		{name: "data source name null", method: "POST", path: fixed("/v1/data_sources"), body: func(fixtureIDs) any { return map[string]any{"name": nil} },
			status: 422, want: `{"errors":{"name":"A name is required for each data source."}}`},
		{name: "data source duplicate name", method: "POST", path: fixed("/v1/data_sources"),
			body: func(fixtureIDs) any { return map[string]any{"name": "In-house billing"} }, status: 422,
			want: `{"errors":{"name":"Has already been taken."}}`},
		{name: "data source name wrong type", method: "POST", path: fixed("/v1/data_sources"),
			body: func(fixtureIDs) any { return `{"name": 42}` }, status: 422, want: `{"errors":{"name":"must be a string"}}`},
		{name: "malformed JSON", method: "POST", path: fixed("/v1/data_sources"), body: func(fixtureIDs) any { return `{"name": "x"` },
			status: 400},
		{name: "JSON array instead of object", method: "POST", path: fixed("/v1/customers"), body: func(fixtureIDs) any { return `[1,2]` },
			status: 400},
		{name: "trailing garbage", method: "POST", path: fixed("/v1/plans"), body: func(fixtureIDs) any { return `{} {}` }, status: 400},
		{name: "customer external_id missing", method: "POST", path: fixed("/v1/customers"),
			body: func(i fixtureIDs) any { return map[string]any{"data_source_uuid": i.ds, "name": "A"} }, status: 422},
		{name: "customer data source missing", method: "POST", path: fixed("/v1/customers"),
			body: func(i fixtureIDs) any { return map[string]any{"external_id": "x"} }, status: 422},
		{name: "customer unknown data source", method: "POST", path: fixed("/v1/customers"),
			body: func(i fixtureIDs) any { return map[string]any{"data_source_uuid": "ds_nope", "external_id": "x"} }, status: 422,
			want: `{"errors":{"data_source_uuid":"No data source with this UUID exists in the account."}}`},
		{name: "customer duplicate external_id", method: "POST", path: fixed("/v1/customers"),
			body: func(i fixtureIDs) any { return map[string]any{"data_source_uuid": i.ds, "external_id": "cus_0001"} }, status: 422,
			want: `{"errors":{"external_id":"The external ID for this customer already exists in our system."}}`},
		{name: "customer bad country", method: "POST", path: fixed("/v1/customers"),
			body: func(i fixtureIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "external_id": "y", "country": "XX"}
			}, status: 422},
		{name: "customer bad date", method: "POST", path: fixed("/v1/customers"),
			body: func(i fixtureIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "external_id": "y", "lead_created_at": "yesterday"}
			}, status: 422},
		{name: "customer tags wrong type", method: "POST", path: fixed("/v1/customers"),
			body: func(i fixtureIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "external_id": "y", "attributes": map[string]any{"tags": "vip"}}
			}, status: 422, want: `{"errors":{"attributes.tags":"must be an array"}}`},
		{name: "customer custom attribute of wrong type", method: "POST", path: fixed("/v1/customers"),
			body: func(i fixtureIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "external_id": "y", "attributes": map[string]any{
					"custom": []any{map[string]any{"type": "Integer", "key": "seats", "value": "many"}}}}
			}, status: 422},
		{name: "patch customer bad country", method: "PATCH", path: func(i fixtureIDs) string { return "/v1/customers/" + i.cus },
			body: func(fixtureIDs) any { return map[string]any{"name": "Changed", "country": "Narnia"} }, status: 422},
		{name: "patch unknown customer", method: "PATCH", path: fixed("/v1/customers/cus_nope"),
			body: func(fixtureIDs) any { return map[string]any{"name": "x"} }, status: 404, want: `{"error":"Customer not found"}`},
		{name: "plan duplicate external_id", method: "POST", path: fixed("/v1/plans"),
			body: func(i fixtureIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "name": "P", "interval_count": 1, "interval_unit": "month", "external_id": "plan_0001"}
			}, status: 422, want: `{"errors":{"external_id":"A plan with this identifier already exists in our system."}}`},
		{name: "plan bad interval", method: "POST", path: fixed("/v1/plans"),
			body: func(i fixtureIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "name": "P", "interval_count": 0, "interval_unit": "fortnight"}
			}, status: 422},
		{name: "plan interval_count wrong type", method: "POST", path: fixed("/v1/plans"),
			body: func(i fixtureIDs) any {
				return map[string]any{"data_source_uuid": i.ds, "name": "P", "interval_count": "one", "interval_unit": "month"}
			}, status: 422, want: `{"errors":{"interval_count":"must be an integer"}}`},
		{name: "plan unknown data source", method: "POST", path: fixed("/v1/plans"),
			body: func(i fixtureIDs) any {
				return map[string]any{"data_source_uuid": "ds_x", "name": "P", "interval_count": 1, "interval_unit": "month"}
			}, status: 422},
		{name: "patch plan blank name", method: "PATCH", path: func(i fixtureIDs) string { return "/v1/plans/" + i.pl },
			body: func(fixtureIDs) any { return map[string]any{"name": " "} }, status: 422},
		{name: "unknown data source", method: "DELETE", path: fixed("/v1/data_sources/ds_nope"), status: 404,
			want: `{"error":"Data source not found"}`},
		{name: "other account's data source", key: func(e *env) string { return e.otherKey }, method: "DELETE",
			path: func(i fixtureIDs) string { return "/v1/data_sources/" + i.ds }, status: 404, want: `{"error":"Data source not found"}`},
		{name: "other account's customer", key: func(e *env) string { return e.otherKey }, method: "PATCH",
			path: func(i fixtureIDs) string { return "/v1/customers/" + i.cus }, body: func(fixtureIDs) any { return map[string]any{"name": "x"} },
			status: 404, want: `{"error":"Customer not found"}`},
		{name: "other account's plan", key: func(e *env) string { return e.otherKey }, method: "DELETE",
			path: func(i fixtureIDs) string { return "/v1/plans/" + i.pl }, status: 404, want: `{"error":"Plan not found"}`},
		{name: "other account's data source for a customer", key: func(e *env) string { return e.otherKey }, method: "POST",
			path: fixed("/v1/customers"), body: func(i fixtureIDs) any { return map[string]any{"data_source_uuid": i.ds, "external_id": "z"} },
			status: 422},
		{name: "tags missing", method: "POST", path: func(i fixtureIDs) string { return "/v1/customers/" + i.cus + "/attributes/tags" },
			body: func(fixtureIDs) any { return map[string]any{} }, status: 422},
		{name: "tags by unknown email", method: "POST", path: fixed("/v1/customers/attributes/tags"),
			body: func(fixtureIDs) any { return map[string]any{"email": "nobody@example.com", "tags": []string{"a"}} }, status: 404,
			want: `{"code":404,"message":"Can't find any customers with email: \"nobody@example.com\"","param":"email"}`},
		{name: "custom by email, bad value", method: "POST", path: fixed("/v1/customers/attributes/custom"),
			body: func(fixtureIDs) any {
				return map[string]any{"email": "adam@example.com", "custom": []any{map[string]any{"type": "Boolean", "key": "k", "value": "yes"}}}
			}, status: 422},
		{name: "bad cursor", method: "GET", path: fixed("/v1/customers?cursor=bm9wZQ"), status: 400},
		{name: "bad query escaping", method: "GET", path: fixed("/v1/customers?cursor=%zz"), status: 400},
		{name: "bad per_page", method: "GET", path: fixed("/v1/plans?per_page=-1"), status: 400},
		{name: "bad include", method: "GET", path: fixed("/v1/account?include=everything"), status: 400},
		{name: "search without email", method: "GET", path: fixed("/v1/customers/search"), status: 400},
		{name: "unknown route", method: "GET", path: fixed("/v1/nothing/here"), status: 404},
		{name: "wrong method", method: "PATCH", path: fixed("/v1/data_sources"), status: 405},
		{name: "outside v1", method: "GET", path: fixed("/"), status: 404},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{})
		var i fixtureIDs
		i.ds, i.cus, i.pl = e.fixture()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key := e.key
				if c.key != nil {
					key = c.key(e)
				}
				var body any
				if c.body != nil {
					body = c.body(i)
				}
				before := storetest.Snapshot(t, s)
				r := e.do(key, c.method, c.path(i), body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d; body %s", r.status, c.status, r.body)
				}
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
					t.Errorf("Content-Type %q, want JSON", r.header.Get("Content-Type"))
				}
				m := r.json(t)
				if c.want != "" {
					jsonEqual(t, r.body, c.want)
				} else if c.status == 422 {
					if errs, ok := m["errors"].(map[string]any); !ok || len(errs) == 0 {
						t.Errorf("422 body has no errors object naming a field: %s", r.body)
					}
				} else if m["message"] == nil {
					t.Errorf("error body has no message: %s", r.body)
				}
				if after := storetest.Snapshot(t, s); after != before {
					t.Errorf("the rejected request changed the database:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	})
}

type fixtureIDs struct{ ds, cus, pl string }

func fixed(p string) func(fixtureIDs) string {
	return func(fixtureIDs) string { return p }
}
