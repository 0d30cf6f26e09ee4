package api

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Concurrent read-modify-writes of one customer must not lose each other's
// changes (PostgreSQL needs the row lock; SQLite's single writer serialises).
func TestConcurrentEditsKeepEveryChange(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				e.do(e.key, "POST", "/v1/customers/"+cus+"/attributes/tags", map[string]any{"tags": []string{fmt.Sprint("t", i)}})
			}()
			go func() {
				defer wg.Done()
				e.do(e.key, "POST", "/v1/customers/"+cus+"/attributes/custom",
					map[string]any{"custom": []any{map[string]any{"type": "Integer", "key": fmt.Sprint("k", i), "value": i}}})
			}()
		}
		wg.Add(2)
		go func() { defer wg.Done(); e.do(e.key, "PATCH", "/v1/plans/"+pl, map[string]any{"name": "Renamed"}) }()
		go func() { defer wg.Done(); e.do(e.key, "PATCH", "/v1/plans/"+pl, map[string]any{"interval_count": 6}) }()
		wg.Wait()
		attrs := e.ok(200, "GET", "/v1/customers/"+cus+"/attributes", nil)
		var tags []string
		for _, x := range attrs["tags"].([]any) {
			tags = append(tags, x.(string))
		}
		sort.Strings(tags)
		if len(tags) != 10 || len(attrs["custom"].(map[string]any)) != 10 {
			t.Fatalf("lost concurrent edits: tags %v, custom %v", tags, attrs["custom"])
		}
		if p := e.ok(200, "GET", "/v1/plans/"+pl, nil); p["name"] != "Renamed" || p["interval_count"] != float64(6) {
			t.Fatalf("lost a concurrent plan edit: %v", p)
		}
	})
}

func TestEmailMatchingIsUnicodeCaseInsensitive(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, _ := e.fixture()
		e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "e1", "email": "Émile@Exämple.com"})
		m := e.ok(200, "GET", "/v1/customers/search?email=%C3%A9mile%40ex%C3%A4mple.com", nil)
		if len(m["entries"].([]any)) != 1 {
			t.Fatalf("search: %v", m)
		}
	})
}

func TestTagsAreTrimmedOnAddAndRemove(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := e.fixture()
		jsonEqual(t, e.do(e.key, "POST", "/v1/customers/"+cus+"/attributes/tags", map[string]any{"tags": []string{" padded "}}).body, `{"tags":["padded"]}`)
		jsonEqual(t, e.do(e.key, "DELETE", "/v1/customers/"+cus+"/attributes/tags", map[string]any{"tags": []string{" padded "}}).body, `{"tags":[]}`)
	})
}

// An empty path segment is an unknown route, never a redirect that could
// send a write to another endpoint.
func TestUncleanPathsAreNotRedirected(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		for _, c := range [][2]string{{"GET", "/v1/customers//attributes"}, {"GET", "/v1//ping"}, {"POST", "/v1/customers//attributes/tags"},
			{"GET", "/v1/customers/../ping"}, {"GET", "/v1/ping/"}} {
			m := c[0]
			r := e.do(e.key, m, c[1], map[string]any{"email": "adam@example.com", "tags": []string{"x"}})
			if r.status != 404 || r.header.Get("Location") != "" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Fatalf("%s: %d %v %s", m, r.status, r.header, r.body)
			}
		}
		if r := e.do(e.key, "GET", "/v1/customers?data_source_uuid=ds_none", nil); r.json(t)["total_pages"] != float64(1) {
			t.Fatalf("empty list total_pages: %s", r.body)
		}
	})
}
