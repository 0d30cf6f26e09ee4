package api

import (
	"slices"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/billing"
)

// Saved segments through the API on both stores (docs/api.md "Segments"):
// create, read, list by cursor, rename and refilter, delete; every
// mistake answered with its status and the field it is about; another
// account's segment as unknown as a made-up one; read keys refused on
// writes. The filters are checked by internal/segment in the account.
func TestSegmentsAPI(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, pl := e.fixture()
		created := e.ok(201, "POST", "/v1/segments", map[string]any{"name": " US customers ", "filters": " region~ANY~'US' "})
		us := created["uuid"].(string)
		if !strings.HasPrefix(us, "seg_") || created["name"] != "US customers" || created["filters"] != "region~ANY~'US'" ||
			created["created_at"] == "" || created["created_at"] != created["updated_at"] || len(created) != 5 {
			t.Fatalf("created %v", created)
		}
		// Names of the account's plans, plan groups and data sources.
		group := e.ok(200, "POST", "/v1/plan_groups", map[string]any{"name": "Bronze", "plans": []string{pl}})["uuid"].(string)
		for _, f := range []string{"plan~ANY~'Bronze Plan'", "plan_group~ANY~'" + group + "'", "data_source~ANY~'" + ds + "'"} {
			e.ok(201, "POST", "/v1/segments", map[string]any{"name": f, "filters": f})
		}

		long := strings.Repeat("x", 256)
		for _, c := range []struct {
			name   string
			body   any
			status int
			field  string
			says   string // part of the field's message
		}{
			{"nothing", map[string]any{}, 422, "name", "needs a name"},
			{"no filters", map[string]any{"name": "A"}, 422, "filters", "needs filters"},
			{"blank name", map[string]any{"name": "  ", "filters": "region~ANY~'US'"}, 422, "name", "needs a name"},
			{"null name", map[string]any{"name": nil, "filters": "region~ANY~'US'"}, 422, "name", "needs a name"},
			{"long name", map[string]any{"name": long, "filters": "region~ANY~'US'"}, 422, "name", "at most 255"},
			{"name taken", map[string]any{"name": "US customers", "filters": "region~ANY~'GB'"}, 422, "name", "has already been taken"},
			{"filters not text", map[string]any{"name": "A", "filters": 5}, 422, "filters", "must be a string"},
			{"filters too long", map[string]any{"name": "A", "filters": strings.Repeat("x", billing.MaxLongTextLength+1)}, 422, "filters", "at most 16384"},
			{"no filter", map[string]any{"name": "A", "filters": "country~ANY~'US'"}, 422, "filters", "country"},
			{"an operator it does not take", map[string]any{"name": "A", "filters": "region~ALL~'US'"}, 422, "filters", "ALL"},
			{"malformed", map[string]any{"name": "A", "filters": "region~ANY"}, 422, "filters", "region~ANY"},
			{"unknown plan", map[string]any{"name": "A", "filters": "plan~ANY~'Gold'"}, 422, "filters", "Gold"},
			{"another account's data source", map[string]any{"name": "A", "filters": "data_source~ANY~'ds_00000000-0000-0000-0000-000000000000'"},
				422, "filters", "ds_00000000"},
		} {
			r := e.do(e.key, "POST", "/v1/segments", c.body)
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.body)
				continue
			}
			errs, _ := r.json(t)["errors"].(map[string]any)
			if msg, _ := errs[c.field].(string); !strings.Contains(msg, c.says) {
				t.Errorf("%s: %s, want errors.%s saying %q", c.name, r.body, c.field, c.says)
			}
		}

		// Paging: four segments, three a page.
		page := e.ok(200, "GET", "/v1/segments?per_page=3", nil)
		items := page["segments"].([]any)
		if len(items) != 3 || page["has_more"] != true || items[0].(map[string]any)["uuid"] != us {
			t.Fatalf("first page %v", page)
		}
		next := e.ok(200, "GET", "/v1/segments?per_page=3&cursor="+page["cursor"].(string), nil)
		if items := next["segments"].([]any); len(items) != 1 || next["has_more"] != false || next["cursor"] != nil ||
			items[0].(map[string]any)["filters"] != "data_source~ANY~'"+ds+"'" {
			t.Fatalf("second page %v", next)
		}

		got := e.ok(200, "GET", "/v1/segments/"+us, nil)
		if got["name"] != "US customers" || got["filters"] != "region~ANY~'US'" {
			t.Fatalf("got %v", got)
		}
		renamed := e.ok(200, "PATCH", "/v1/segments/"+us, map[string]any{"name": "Americans"})
		if renamed["name"] != "Americans" || renamed["filters"] != "region~ANY~'US'" || renamed["created_at"] != created["created_at"] {
			t.Fatalf("renamed %v", renamed)
		}
		refiltered := e.ok(200, "PATCH", "/v1/segments/"+us, map[string]any{"filters": "region~ANY~'US','CA'"})
		if refiltered["name"] != "Americans" || refiltered["filters"] != "region~ANY~'US','CA'" {
			t.Fatalf("refiltered %v", refiltered)
		}
		for _, c := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"blank name", map[string]any{"name": ""}, "name"},
			{"name taken", map[string]any{"name": "plan~ANY~'Bronze Plan'"}, "name"},
			{"blank filters", map[string]any{"filters": " "}, "filters"},
			{"bad filters", map[string]any{"filters": "mrr~GT~'abc'"}, "filters"},
		} {
			r := e.do(e.key, "PATCH", "/v1/segments/"+us, c.body)
			if errs, _ := r.json(t)["errors"].(map[string]any); r.status != 422 || errs[c.field] == nil {
				t.Errorf("PATCH %s: %d %s", c.name, r.status, r.body)
			}
		}
		if got := e.ok(200, "GET", "/v1/segments/"+us, nil); got["name"] != "Americans" || got["filters"] != "region~ANY~'US','CA'" {
			t.Errorf("after refused changes: %v", got)
		}

		// Another account's segment, and one that never was: 404 whatever
		// the body, and theirs untouched.
		theirs := e.do(e.otherKey, "POST", "/v1/segments", map[string]any{"name": "Americans", "filters": "region~ANY~'US'"}).json(t)["uuid"].(string)
		for _, uuid := range []string{theirs, "seg_00000000-0000-0000-0000-000000000000"} {
			for _, req := range []struct {
				method string
				body   any
			}{{"GET", nil}, {"PATCH", map[string]any{"name": "Mine"}}, {"PATCH", map[string]any{"filters": "nonsense"}}, {"DELETE", nil}} {
				r := e.do(e.key, req.method, "/v1/segments/"+uuid, req.body)
				if r.status != 404 {
					t.Errorf("%s %s: %d %s", req.method, uuid, r.status, r.body)
					continue
				}
				jsonEqual(t, r.body, `{"error":"Segment not found"}`)
			}
		}
		if r := e.do(e.otherKey, "GET", "/v1/segments/"+theirs, nil); r.status != 200 || r.json(t)["name"] != "Americans" {
			t.Errorf("theirs: %d %s", r.status, r.body)
		}
		if r := e.do(e.otherKey, "GET", "/v1/segments", nil); r.status != 200 || len(r.json(t)["segments"].([]any)) != 1 {
			t.Errorf("their list: %s", r.body)
		}

		// A read key reads and writes nothing.
		for _, req := range []struct{ method, path string }{{"POST", "/v1/segments"}, {"PATCH", "/v1/segments/" + us}, {"DELETE", "/v1/segments/" + us}} {
			if r := e.do(e.readKey, req.method, req.path, map[string]any{"name": "Read", "filters": "region~ANY~'US'"}); r.status != 403 {
				t.Errorf("read key %s %s: %d %s", req.method, req.path, r.status, r.body)
			}
		}
		if r := e.do(e.readKey, "GET", "/v1/segments/"+us, nil); r.status != 200 {
			t.Errorf("read key GET: %d", r.status)
		}

		e.ok(204, "DELETE", "/v1/segments/"+us, nil)
		if r := e.do(e.key, "DELETE", "/v1/segments/"+us, nil); r.status != 404 {
			t.Errorf("deleted twice: %d", r.status)
		}
		left := e.ok(200, "GET", "/v1/segments", nil)["segments"].([]any)
		if len(left) != 3 || slices.ContainsFunc(left, func(x any) bool { return x.(map[string]any)["uuid"] == us }) {
			t.Errorf("after delete: %v", left)
		}
	})
}

// compileFilters is the one check of an expression (the filters
// parameter's): a 400 naming filters, whose message quotes the offending
// part; the names it holds resolved in the account; blank, no filter.
func TestCompileFilters(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, _, pl := e.fixture()
		a := newAPI(e.store, Options{})
		acct, _, err := e.store.EnsureAccount(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := e.store.EnsureAccount(t.Context(), "globex")
		if err != nil {
			t.Fatal(err)
		}
		f, err := a.compileFilters(t.Context(), acct, "plan~ANY~'Bronze Plan'")
		if err != nil || !f.Plans()[pl] || len(f.Plans()) != 1 {
			t.Fatalf("plan by name: %v, %v", f, err)
		}
		if f, err := a.compileFilters(t.Context(), acct, "  "); err != nil || f != nil {
			t.Fatalf("blank: %v, %v", f, err)
		}
		for expr, part := range map[string]string{
			"country~ANY~'US'":       "country",
			"plan~ANY~'Bronze Plan'": "Bronze Plan", // in another account
			"mrr~GT~'abc'":           "'abc'",
		} {
			acct := acct
			if part == "Bronze Plan" {
				acct = other
			}
			_, err := a.compileFilters(t.Context(), acct, expr)
			e, ok := err.(*Error)
			if !ok || e.Status != 400 {
				t.Errorf("%s: %v, want a 400", expr, err)
				continue
			}
			body := e.Body.(codeBody)
			if body.Param == nil || *body.Param != "filters" || !strings.Contains(body.Message, part) {
				t.Errorf("%s: %+v, want param filters and a message quoting %s", expr, body, part)
			}
		}
	})
}
