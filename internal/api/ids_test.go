package api

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Customers' and events' ids come from sequences every account shares; on
// the wire they must not count the other accounts' rows (issue 10): two
// accounts creating in turn do not see consecutive or rising ids.
func TestPublicIDsRevealNothing(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		as := func(key string, want int, method, path string, body any) map[string]any {
			t.Helper()
			r := e.do(key, method, path, body)
			if r.status != want {
				t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
			}
			if want == 204 {
				return nil
			}
			return r.json(t)
		}
		keys := []string{e.key, e.otherKey}
		dss := make([]string, 2)
		for i, k := range keys {
			dss[i] = as(k, 201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		}
		var customers, events []int64
		for n := range 8 {
			i := n % 2
			ext := fmt.Sprintf("cus_%d", n)
			c := as(keys[i], 201, "POST", "/v1/customers", map[string]any{"data_source_uuid": dss[i], "external_id": ext})
			customers = append(customers, int64(c["id"].(float64)))
			ev := as(keys[i], 201, "POST", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{
				"data_source_uuid": dss[i], "customer_external_id": ext, "subscription_external_id": "sub_" + ext,
				"event_type": "subscription_cancelled", "event_date": "2022-03-30", "effective_date": "2022-04-01"}})
			events = append(events, int64(ev["id"].(float64)))
		}
		for _, ids := range [][]int64{customers, events} {
			rising := true
			for n := 1; n < len(ids); n++ {
				if d := ids[n] - ids[n-1]; d == 1 || d == -1 {
					t.Fatalf("ids %v: %d and %d are neighbours", ids, ids[n-1], ids[n])
				}
				rising = rising && ids[n] > ids[n-1]
				if ids[n] < 1 || ids[n] >= 1<<32 {
					t.Fatalf("id %d is outside [1, 2^32)", ids[n])
				}
			}
			if rising {
				t.Fatalf("ids %v rise with creation", ids)
			}
		}
		// Cursors carry the last row's id, and events' legacy meta its
		// id: both public, and a cursor still leads to the next page.
		l := as(e.key, 200, "GET", "/v1/customers?per_page=1", nil)
		raw, err := base64.RawURLEncoding.DecodeString(l["cursor"].(string))
		if err != nil {
			t.Fatal(err)
		}
		_, after, _ := strings.Cut(string(raw), "&")
		if n, err := strconv.ParseInt(after, 10, 64); err != nil || n < 1000 {
			t.Fatalf("the cursor %q carries a raw row id", raw)
		}
		l2 := as(e.key, 200, "GET", "/v1/customers?per_page=1&cursor="+l["cursor"].(string), nil)
		first, second := l["entries"].([]any)[0].(map[string]any), l2["entries"].([]any)[0].(map[string]any)
		if first["external_id"] != "cus_0" || second["external_id"] != "cus_2" {
			t.Fatalf("paging by cursor: %v then %v", first["external_id"], second["external_id"])
		}
		le := as(e.key, 200, "GET", "/v1/subscription_events?per_page=1", nil)
		if got, want := le["meta"].(map[string]any)["next_key"], le["subscription_events"].([]any)[0].(map[string]any)["id"]; got != want {
			t.Fatalf("events' next_key %v, want the listed event's id %v", got, want)
		}
		le2 := as(e.key, 200, "GET", "/v1/subscription_events?per_page=1&cursor="+le["cursor"].(string), nil)
		if got := le2["meta"].(map[string]any)["prev_key"]; got != le["meta"].(map[string]any)["next_key"] {
			t.Fatalf("events' prev_key %v, want %v", got, le["meta"].(map[string]any)["next_key"])
		}

		// The wire id addresses the event: PATCH, the retraction that names
		// it, DELETE by body and by Ruby's query.
		id := events[0]
		p := as(e.key, 200, "PATCH", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"id": id, "effective_date": "2022-05-01"}})
		if int64(p["id"].(float64)) != id || p["effective_date"] != "2022-05-01T00:00:00Z" {
			t.Fatalf("patch by id: %v", p)
		}
		ret := as(e.key, 201, "POST", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{
			"data_source_uuid": dss[0], "customer_external_id": "cus_0", "subscription_external_id": "sub_cus_0",
			"event_type": "subscription_event_retracted", "event_date": "2022-03-31", "effective_date": "2022-05-01",
			"retracted_event_id": id}})
		if got, _ := ret["retracted_event_id"].(float64); int64(got) != id || len(ret["errors"].(map[string]any)) != 0 {
			t.Fatalf("retraction by id: %v, want retracted_event_id %d", ret, id)
		}
		as(e.key, 204, "DELETE", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"id": int64(ret["id"].(float64))}})
		as(e.key, 204, "DELETE", fmt.Sprintf("/v1/subscription_events?subscription_event%%5Bid%%5D=%d", id), nil)
		// Gone, another account's, and numbers that are no id: all 404.
		for _, x := range []struct {
			key string
			id  int64
		}{{e.key, id}, {e.key, events[1]}, {e.otherKey, events[2]}, {e.key, 0}, {e.key, -5}, {e.key, 1 << 32}, {e.key, 1<<62 + 3}} {
			r := e.do(x.key, "PATCH", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"id": x.id, "quantity": 2}})
			if r.status != 404 {
				t.Errorf("PATCH id %d: status %d, body %s", x.id, r.status, r.body)
			}
		}
		// A retraction naming a number that is no id is stored, withdrawing nothing.
		bad := as(e.key, 201, "POST", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{
			"data_source_uuid": dss[0], "customer_external_id": "cus_2", "subscription_external_id": "sub_cus_2",
			"event_type": "subscription_event_retracted", "event_date": "2022-03-31", "effective_date": "2022-05-01",
			"retracted_event_id": 1<<62 + 3}})
		if bad["retracted_event_id"] != nil || bad["errors"].(map[string]any)["retracted_event_id"] == nil {
			t.Fatalf("retraction of no event: %v", bad)
		}
	})
}
