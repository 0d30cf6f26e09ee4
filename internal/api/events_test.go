package api

import (
	"fmt"
	"testing"
)

func event(ds string, fields map[string]any) map[string]any {
	e := map[string]any{"data_source_uuid": ds, "customer_external_id": "cus_0001", "subscription_external_id": "sub_0001",
		"event_date": "2022-03-30", "effective_date": "2022-04-01"}
	for k, v := range fields {
		e[k] = v
	}
	return map[string]any{"subscription_event": e}
}

func TestSubscriptionEvents(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, _ := e.fixture()
		// The guide's example, amount as a string.
		r := e.do(e.key, "POST", "/v1/subscription_events", event(ds, map[string]any{"external_id": "evnt_001",
			"event_type": "subscription_start_scheduled", "event_order": 100, "plan_external_id": "plan_0001",
			"currency": "USD", "amount_in_cents": "1000", "quantity": 1}))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		ev := r.json(t)
		id := ev["id"].(float64)
		jsonEqual(t, r.body, fmt.Sprintf(`{"id":%v,"data_source_uuid":%q,"customer_external_id":"cus_0001",
			"subscription_set_external_id":null,"subscription_external_id":"sub_0001","plan_external_id":"plan_0001",
			"event_date":"2022-03-30T00:00:00Z","effective_date":"2022-04-01T00:00:00Z","event_type":"subscription_start_scheduled",
			"external_id":"evnt_001","errors":{},"created_at":%q,"updated_at":%q,"quantity":1,"currency":"USD",
			"amount_in_cents":1000,"tax_amount_in_cents":null,"event_order":100,"retracted_event_id":null,
			"disabled":false,"disabled_at":null,"disabled_by":null}`,
			id, ds, ev["created_at"], ev["updated_at"]))
		jsonEqual(t, e.do(e.key, "POST", "/v1/subscription_events", event(ds, map[string]any{"external_id": "evnt_001",
			"event_type": "subscription_cancelled"})).body, `{"errors":{"external_id":"has already been taken"}}`)

		// A typed retraction finds the scheduled start on the subscription.
		ret := e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"external_id": "r1",
			"event_type": "scheduled_subscription_start_retracted", "effective_date": "2022-04-02"}))
		if ret["retracted_event_id"] != id || len(ret["errors"].(map[string]any)) != 0 {
			t.Fatalf("typed retraction: %v", ret)
		}
		// One on another subscription matches nothing: stored, with an error.
		miss := e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"external_id": "r2",
			"event_type": "scheduled_subscription_update_retracted", "subscription_external_id": "sub_other"}))
		if miss["retracted_event_id"] != nil || miss["errors"].(map[string]any)["retracted_event_id"] == nil {
			t.Fatalf("unmatched retraction: %v", miss)
		}
		// By id, and by the target's external id.
		byID := e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"event_type": "subscription_event_retracted", "retracted_event_id": id}))
		byExt := e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"event_type": "subscription_event_retracted", "retracted_event_id": "evnt_001"}))
		if byID["retracted_event_id"] != id || byExt["retracted_event_id"] != id {
			t.Fatalf("retraction by id %v, by external id %v", byID, byExt)
		}
		// Cancellation events need no plan or amount (the recorded one has none).
		e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"event_type": "subscription_cancelled", "external_id": "c1"}))

		for name, c := range map[string]struct {
			fields map[string]any
			field  string
		}{
			"unknown data source": {map[string]any{"data_source_uuid": "ds_nope", "event_type": "subscription_cancelled"}, "data_source_uuid"},
			"unknown customer":    {map[string]any{"customer_external_id": "nobody", "event_type": "subscription_cancelled"}, "customer_external_id"},
			"unknown plan": {map[string]any{"event_type": "subscription_updated", "plan_external_id": "nope", "currency": "USD",
				"amount_in_cents": 5}, "plan_external_id"},
			"unknown type":        {map[string]any{"event_type": "subscription_paused"}, "event_type"},
			"start without plan":  {map[string]any{"event_type": "subscription_start", "currency": "USD", "amount_in_cents": 5}, "plan_external_id"},
			"retraction, no id":   {map[string]any{"event_type": "subscription_event_retracted"}, "retracted_event_id"},
			"bad effective date":  {map[string]any{"event_type": "subscription_cancelled", "effective_date": "April"}, "effective_date"},
			"amount not a number": {map[string]any{"event_type": "subscription_cancelled", "amount_in_cents": "lots"}, "amount_in_cents"},
			"bad currency": {map[string]any{"event_type": "subscription_start", "plan_external_id": "plan_0001", "currency": "XYZ",
				"amount_in_cents": 5}, "currency"},
		} {
			r := e.do(e.key, "POST", "/v1/subscription_events", event(ds, c.fields))
			if r.status != 422 || r.json(t)["errors"].(map[string]any)[c.field] == nil {
				t.Errorf("%s: %d %s, want 422 naming %s", name, r.status, r.body, c.field)
			}
		}

		// Newest first, with the legacy meta and cursor paging.
		l := e.ok(200, "GET", "/v1/subscription_events?per_page=2&data_source_uuid="+ds, nil)
		list := l["subscription_events"].([]any)
		if len(list) != 2 || l["has_more"] != true || list[0].(map[string]any)["external_id"] != "c1" || l["meta"].(map[string]any)["total_pages"] != 3.0 {
			t.Fatalf("list: %v", l)
		}
		seen := 2
		for l["has_more"] == true {
			l = e.ok(200, "GET", "/v1/subscription_events?per_page=2&cursor="+l["cursor"].(string), nil)
			seen += len(l["subscription_events"].([]any))
		}
		if seen != 6 {
			t.Fatalf("paged through %d events, want 6", seen)
		}
		for q, want := range map[string]int{"event_type=subscription_cancelled": 1, "external_id=r1": 1, "effective_date=2022-04-02": 1,
			"event_date=2022-03-30": 6, "customer_external_id=cus_0001": 6, "plan_external_id=plan_0001": 1, "subscription_external_id=sub_other": 1} {
			if n := len(e.ok(200, "GET", "/v1/subscription_events?"+q, nil)["subscription_events"].([]any)); n != want {
				t.Errorf("?%s: %d events, want %d", q, n, want)
			}
		}
		if n := len(e.do(e.otherKey, "GET", "/v1/subscription_events", nil).json(t)["subscription_events"].([]any)); n != 0 {
			t.Errorf("other account lists %d events", n)
		}

		// PATCH by id, and by data source + external id.
		u := e.ok(200, "PATCH", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"id": id, "amount_in_cents": 2000}})
		if u["amount_in_cents"] != 2000.0 || u["external_id"] != "evnt_001" {
			t.Fatalf("patch by id: %v", u)
		}
		u = e.ok(200, "PATCH", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{
			"data_source_uuid": ds, "external_id": "c1", "effective_date": "2022-05-01"}})
		if u["effective_date"] != "2022-05-01T00:00:00Z" {
			t.Fatalf("patch by external id: %v", u)
		}
		if r := e.do(e.key, "PATCH", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"id": id, "event_type": "nope"}}); r.status != 422 {
			t.Errorf("invalid patch: %d", r.status)
		}
		if r := e.do(e.otherKey, "PATCH", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"id": id, "quantity": 2}}); r.status != 404 {
			t.Errorf("other account patches: %d", r.status)
		}
		// DELETE with a JSON body, and Ruby's query form.
		e.ok(204, "DELETE", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"data_source_uuid": ds, "external_id": "c1"}})
		e.ok(204, "DELETE", fmt.Sprintf("/v1/subscription_events?subscription_event%%5Bid%%5D=%.0f", id), nil)
		jsonEqual(t, e.do(e.key, "DELETE", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"id": id}}).body,
			`{"error":"Subscription event not found"}`)
		if r := e.do(e.key, "DELETE", "/v1/subscription_events", map[string]any{}); r.status != 422 {
			t.Errorf("delete without an id: %d", r.status)
		}
	})
}

func TestMergeAndUnmerge(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, into, pl := e.fixture()
		from := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0002", "name": "Dup",
			"email": "dup@example.com", "attributes": map[string]any{"tags": []string{"old"}}})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+from+"/invoices", invoices(seedInvoice("F1", pl, "sub-from")))
		e.ok(202, "POST", "/v1/customers/merges", map[string]any{"from": map[string]any{"customer_uuid": from}, "into": map[string]any{"customer_uuid": into}})
		e.ok(404, "GET", "/v1/customers/"+from, nil)
		c := e.ok(200, "GET", "/v1/customers/"+into, nil)
		if fmt.Sprint(c["external_ids"]) != "[cus_0001 cus_0002]" || fmt.Sprint(c["attributes"].(map[string]any)["tags"]) != "[old]" || c["name"] != "Adam Smith" {
			t.Fatalf("merged customer: %v", c)
		}
		if n := len(e.ok(200, "GET", "/v1/import/customers/"+into+"/invoices", nil)["invoices"].([]any)); n != 1 {
			t.Fatalf("invoices moved: %d", n)
		}
		// Importing under the merged-away external id lands on the survivor
		// (the create_invoice recording).
		inv := seedInvoice("F2", pl, "sub-from")
		inv["customer_external_id"] = "cus_0002"
		got := e.ok(201, "POST", "/v1/import/customers/"+into+"/invoices", invoices(inv))["invoices"].([]any)[0].(map[string]any)
		if got["customer_uuid"] != into || got["customer_external_id"] != "cus_0002" {
			t.Fatalf("import under a merged identity: %v", got)
		}
		// Found by the merged external id; the duplicate is still refused.
		if n := len(e.ok(200, "GET", "/v1/customers?external_id=cus_0002", nil)["entries"].([]any)); n != 1 {
			t.Fatalf("list by merged external id: %d", n)
		}
		if r := e.do(e.key, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0002"}); r.status != 422 {
			t.Fatalf("re-creating a merged identity: %d", r.status)
		}
		if r := e.do(e.key, "POST", "/v1/customers/merges", map[string]any{"from": map[string]any{"customer_uuid": into}, "into": map[string]any{"customer_uuid": into}}); r.status != 422 {
			t.Fatalf("merge into itself: %d", r.status)
		}
		if r := e.do(e.otherKey, "POST", "/v1/customers/merges", map[string]any{"from": map[string]any{"data_source_uuid": ds, "external_id": "cus_0001"},
			"into": map[string]any{"customer_uuid": into}}); r.status != 404 {
			t.Fatalf("other account merges: %d", r.status)
		}
		// Unmerge brings the customer back with its own invoices.
		e.ok(202, "POST", "/v1/customers/unmerges", map[string]any{"customer_uuid": into, "data_source_uuid": ds, "external_id": "cus_0002",
			"move_to_new_customer": []string{"tasks"}})
		back := e.ok(200, "GET", "/v1/customers/"+from, nil)
		if back["name"] != "Dup" || back["email"] != "dup@example.com" || back["external_id"] != "cus_0002" {
			t.Fatalf("unmerged customer: %v", back)
		}
		if n := len(e.ok(200, "GET", "/v1/import/customers/"+from+"/invoices", nil)["invoices"].([]any)); n != 2 {
			t.Fatalf("unmerged invoices: %d", n)
		}
		if n := len(e.ok(200, "GET", "/v1/import/customers/"+into+"/invoices", nil)["invoices"].([]any)); n != 0 {
			t.Fatalf("invoices left on the survivor: %d", n)
		}
		if r := e.do(e.key, "POST", "/v1/customers/unmerges", map[string]any{"customer_uuid": into, "data_source_uuid": ds, "external_id": "cus_0001"}); r.status != 422 {
			t.Fatalf("unmerging a customer's own identity: %d", r.status)
		}
	})
}

func TestConnectSubscriptions(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("A", pl, "stripe-sub"), seedInvoice("B", pl, "recurly-sub")))
		// The guide's body: data source + external id.
		body := map[string]any{"subscriptions": []any{
			map[string]any{"data_source_uuid": ds, "external_id": "stripe-sub"},
			map[string]any{"data_source_uuid": ds, "external_id": "recurly-sub"}}}
		e.ok(202, "POST", "/v1/customers/"+cus+"/connect_subscriptions", body)
		groups, err := e.store.ConnectedGroups(t.Context(), mustAccount(t, e, "acme"), cus)
		if err != nil || len(groups) != 2 {
			t.Fatalf("groups %v %v", groups, err)
		}
		var g []int64
		for _, v := range groups {
			g = append(g, v)
		}
		if g[0] != g[1] {
			t.Fatalf("not one group: %v", groups)
		}
		jsonEqual(t, e.do(e.key, "POST", "/v1/customers/"+cus+"/connect_subscriptions", map[string]any{"subscriptions": []any{
			map[string]any{"data_source_uuid": ds, "external_id": "stripe-sub"}, map[string]any{"uuid": "sub_nope"}}}).body,
			`{"error":"Subscription not found"}`)
		if r := e.do(e.key, "POST", "/v1/customers/"+cus+"/connect_subscriptions", map[string]any{"subscriptions": []any{}}); r.status != 422 {
			t.Fatalf("connect nothing: %d", r.status)
		}
		if r := e.do(e.otherKey, "POST", "/v1/customers/"+cus+"/connect_subscriptions", body); r.status != 404 {
			t.Fatalf("other account connects: %d", r.status)
		}
		e.ok(202, "POST", "/v1/customers/"+cus+"/disconnect_subscriptions", map[string]any{"subscriptions": []any{
			map[string]any{"data_source_uuid": ds, "external_id": "recurly-sub"}}})
		if groups, _ := e.store.ConnectedGroups(t.Context(), mustAccount(t, e, "acme"), cus); len(groups) != 0 {
			t.Fatalf("a lone subscription stays connected: %v", groups)
		}
	})
}

func TestPlanGroups(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, pl := e.fixture()
		pl2 := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Gold", "interval_count": 1, "interval_unit": "year"})["uuid"].(string)
		r := e.do(e.key, "POST", "/v1/plan_groups", map[string]any{"name": "My plan group", "plans": []string{pl, pl2}})
		g := r.json(t)
		jsonEqual(t, r.body, fmt.Sprintf(`{"uuid":%q,"name":"My plan group","plans_count":2}`, g["uuid"]))
		if r.status != 200 {
			t.Fatalf("create answered %d, ChartMogul answers 200", r.status)
		}
		uuid := g["uuid"].(string)
		jsonEqual(t, e.do(e.key, "POST", "/v1/plan_groups", map[string]any{}).body, `{"name":["Name can't be blank"],"plan_ids":["Plan ids can't be blank"],
			"error_details":[{"param":"name","code":"blank","message":"Name can't be blank"},{"param":"plan_ids","code":"blank","message":"Plan ids can't be blank"}]}`)
		if r := e.do(e.key, "POST", "/v1/plan_groups", map[string]any{"name": "x", "plans": []string{"pl_nope"}}); r.status != 422 {
			t.Fatalf("unknown plan: %d", r.status)
		}
		plans := e.ok(200, "GET", "/v1/plan_groups/"+uuid+"/plans?per_page=1", nil)
		if len(plans["plans"].([]any)) != 1 || plans["has_more"] != true || plans["plans"].([]any)[0].(map[string]any)["uuid"] != pl {
			t.Fatalf("group plans page 1: %v", plans)
		}
		plans = e.ok(200, "GET", "/v1/plan_groups/"+uuid+"/plans?per_page=1&cursor="+plans["cursor"].(string), nil)
		if len(plans["plans"].([]any)) != 1 || plans["has_more"] != false || plans["plans"].([]any)[0].(map[string]any)["uuid"] != pl2 {
			t.Fatalf("group plans page 2: %v", plans)
		}
		u := e.ok(200, "PATCH", "/v1/plan_groups/"+uuid, map[string]any{"name": "Renamed", "plans": []string{pl2}})
		if u["name"] != "Renamed" || u["plans_count"] != 1.0 {
			t.Fatalf("update: %v", u)
		}
		if l := e.ok(200, "GET", "/v1/plan_groups", nil)["plan_groups"].([]any); len(l) != 1 {
			t.Fatalf("list: %v", l)
		}
		if l := e.do(e.otherKey, "GET", "/v1/plan_groups", nil).json(t)["plan_groups"].([]any); len(l) != 0 {
			t.Fatalf("other account lists %v", l)
		}
		if r := e.do(e.otherKey, "GET", "/v1/plan_groups/"+uuid, nil); r.status != 404 {
			t.Fatalf("other account reads: %d", r.status)
		}
		e.ok(204, "DELETE", "/v1/plan_groups/"+uuid, nil)
		jsonEqual(t, e.do(e.key, "GET", "/v1/plan_groups/"+uuid, nil).body, `{"error":"Plan group not found"}`)
		e.ok(200, "GET", "/v1/plans/"+pl2, nil)
	})
}

func mustAccount(t *testing.T, e *env, name string) int64 {
	t.Helper()
	a, err := e.store.AccountByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}
