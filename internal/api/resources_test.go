package api

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestPingAndAccount(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		jsonEqual(t, e.do(e.readKey, "GET", "/v1/ping", nil).body, `{"data":"pong!"}`)
		// The password may be the key again (api.md rule 2).
		req := e.do(e.key, "GET", "/v1/account?include=churn_recognition", nil)
		m := req.json(t)
		if m["name"] != "acme" || m["currency"] != "USD" || m["time_zone"] != "UTC" || m["week_start_on"] != "sunday" ||
			m["churn_recognition"] != "immediate" || !strings.HasPrefix(m["id"].(string), "acc_") {
			t.Fatalf("account: %s", req.body)
		}
		if got := e.do(e.otherKey, "GET", "/v1/account", nil).json(t)["name"]; got != "globex" {
			t.Fatalf("other key sees account %v", got)
		}
	})
}

func TestDataSources(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		d := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Stripe EU", "system": "Stripe"})
		if d["name"] != "Stripe EU" || d["system"] != "Stripe" || d["status"] != "never_imported" ||
			!strings.HasPrefix(d["uuid"].(string), "ds_") || !strings.HasSuffix(d["created_at"].(string), "Z") {
			t.Fatalf("created: %v", d)
		}
		// Go's CreateDataSourceWithSystem posts empty read-only keys too.
		e.ok(201, "POST", "/v1/data_sources", map[string]any{"uuid": "", "name": "Import", "created_at": "", "status": ""})
		all := e.ok(200, "GET", "/v1/data_sources", nil)["data_sources"].([]any)
		if len(all) != 2 {
			t.Fatalf("list: %v", all)
		}
		stripe := e.ok(200, "GET", "/v1/data_sources?system=Stripe", nil)["data_sources"].([]any)
		named := e.ok(200, "GET", "/v1/data_sources?name=Import", nil)["data_sources"].([]any)
		if len(stripe) != 1 || len(named) != 1 || named[0].(map[string]any)["system"] != "Import API" {
			t.Fatalf("filters: %v / %v", stripe, named)
		}
		uuid := d["uuid"].(string)
		if got := e.ok(200, "GET", "/v1/data_sources/"+uuid, nil); got["uuid"] != uuid {
			t.Fatalf("retrieve: %v", got)
		}
		if other := e.do(e.otherKey, "GET", "/v1/data_sources", nil).json(t)["data_sources"].([]any); len(other) != 0 {
			t.Fatalf("other account sees %v", other)
		}
		if r := e.do(e.otherKey, "GET", "/v1/data_sources/"+uuid, nil); r.status != 404 {
			t.Fatalf("other account retrieves: %d", r.status)
		}
		r := e.do(e.key, "DELETE", "/v1/data_sources/"+uuid, nil)
		if r.status != 204 || len(r.body) != 0 {
			t.Fatalf("delete: %d %q", r.status, r.body)
		}
		jsonEqual(t, e.do(e.key, "GET", "/v1/data_sources/"+uuid, nil).body, `{"error":"Data source not found"}`)
	})
}

func TestDeletingADataSourceCascades(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		keep := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Other"})["uuid"].(string)
		e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": keep, "external_id": "cus_0001"})
		if d := e.ok(200, "GET", "/v1/data_sources/"+ds, nil); d["status"] != "import_complete" {
			t.Fatalf("status after import: %v", d["status"])
		}
		e.ok(204, "DELETE", "/v1/data_sources/"+ds, nil)
		e.ok(404, "GET", "/v1/customers/"+cus, nil)
		e.ok(404, "GET", "/v1/plans/"+pl, nil)
		if n := len(e.ok(200, "GET", "/v1/customers", nil)["entries"].([]any)); n != 1 {
			t.Fatalf("%d customers left, want the other source's 1", n)
		}
	})
}

func TestEmptyingADataSource(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		e.ok(204, "DELETE", "/v1/data_sources/"+ds+"/dependent", nil)
		e.ok(200, "GET", "/v1/customers/"+cus, nil)
		e.ok(404, "GET", "/v1/plans/"+pl, nil)
		e.ok(204, "DELETE", "/v1/data_sources/"+ds+"/all", nil)
		e.ok(404, "GET", "/v1/customers/"+cus, nil)
		e.ok(200, "GET", "/v1/data_sources/"+ds, nil)
	})
}

func TestCustomerRepresentation(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		in := map[string]any{
			"data_source_uuid": ds, "external_id": "cus_0001", "name": "Adam Smith", "email": "adam@example.com",
			"company": "Smith Ltd", "country": "us", "state": "NY", "city": "New York", "zip": "10001",
			"website_url": "https://smith.example", "lead_created_at": "2015-10-14 00:00:00",
			"free_trial_started_at": "2015-11-01T10:00:00+02:00",
			"attributes": map[string]any{"tags": []string{"vip", "eu", "vip"}, "custom": []any{
				map[string]any{"type": "String", "key": "channel", "value": "Facebook"},
				map[string]any{"type": "Integer", "key": "age", "value": 18},
				map[string]any{"type": "Boolean", "key": "onboarded", "value": true},
				map[string]any{"type": "Timestamp", "key": "signed", "value": "2016-01-31"},
			}},
		}
		r := e.do(e.key, "POST", "/v1/customers", in)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		c := r.json(t)
		uuid := c["uuid"].(string)
		want := fmt.Sprintf(`{"id":%v,"uuid":%q,"external_id":"cus_0001","name":"Adam Smith","email":"adam@example.com",
			"status":"New Lead","customer-since":null,
			"attributes":{"tags":["vip","eu"],"stripe":{},"clearbit":{},
				"custom":{"channel":"Facebook","age":18,"onboarded":true,"signed":"2016-01-31T00:00:00.000Z"}},
			"data_source_uuid":%q,"data_source_uuids":[%q],"external_ids":["cus_0001"],
			"company":"Smith Ltd","country":"US","state":"NY","city":"New York","zip":"10001",
			"lead_created_at":"2015-10-14T00:00:00.000Z","free_trial_started_at":"2015-11-01T08:00:00.000Z",
			"address":{"country":"US","state":"NY","city":"New York","address_zip":"10001"},
			"mrr":0,"arr":0,"billing-system-url":null,"chartmogul-url":null,"billing-system-type":"Import API",
			"currency":"USD","currency-sign":"$","owner":null,"website_url":"https://smith.example"}`, c["id"], uuid, ds, ds)
		jsonEqual(t, r.body, want)
		jsonEqual(t, e.do(e.key, "GET", "/v1/customers/"+uuid, nil).body, want)

		// PATCH answers the same representation as a later GET
		// (api-reference.md §2.4, the Go integration test compares them).
		p := e.do(e.key, "PATCH", "/v1/customers/"+uuid, map[string]any{"name": "Chocolate customer", "zip": nil,
			"attributes": map[string]any{"custom": map[string]any{"age": 19, "source": map[string]any{"value": "ad", "source": "crm"}}}})
		if p.status != 200 {
			t.Fatalf("patch: %d %s", p.status, p.body)
		}
		g := e.do(e.key, "GET", "/v1/customers/"+uuid, nil)
		jsonEqual(t, p.body, string(g.body))
		pm := p.json(t)
		custom := pm["attributes"].(map[string]any)["custom"].(map[string]any)
		if pm["name"] != "Chocolate customer" || pm["zip"] != nil || pm["email"] != "adam@example.com" ||
			custom["age"] != float64(19) || custom["source"] != "ad" || custom["channel"] != "Facebook" {
			t.Fatalf("patched: %s", p.body)
		}
		// PUT is an alias (chartmogul-node's Customer.update).
		if got := e.ok(200, "PUT", "/v1/customers/"+uuid, map[string]any{"company": "Cocoa Inc"}); got["company"] != "Cocoa Inc" {
			t.Fatalf("put: %v", got)
		}
		e.ok(204, "DELETE", "/v1/customers/"+uuid, nil)
		jsonEqual(t, e.do(e.key, "GET", "/v1/customers/"+uuid, nil).body, `{"error":"Customer not found"}`)
	})
}

func TestCustomerListsAndSearch(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "A"})["uuid"].(string)
		ds2 := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "B", "system": "Stripe"})["uuid"].(string)
		for i := range 5 {
			e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": fmt.Sprint("c", i),
				"email": map[bool]string{true: "Shared@Example.com", false: fmt.Sprint("c", i, "@example.com")}[i%2 == 0]})
		}
		e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds2, "external_id": "c0"})

		// Walk the pages with the cursor: 5 customers of ds, 2 a page.
		var seen []string
		path := "/v1/customers?per_page=2&data_source_uuid=" + ds
		for page := 1; ; page++ {
			m := e.ok(200, "GET", path, nil)
			for _, c := range m["entries"].([]any) {
				seen = append(seen, c.(map[string]any)["external_id"].(string))
			}
			if m["current_page"] != float64(page) || m["total_pages"] != float64(3) || m["per_page"] != float64(2) {
				t.Fatalf("page %d legacy fields: %v", page, m)
			}
			if m["has_more"] != true {
				if m["cursor"] != nil {
					t.Fatalf("last page has a cursor: %v", m["cursor"])
				}
				break
			}
			path = "/v1/customers?per_page=2&data_source_uuid=" + ds + "&cursor=" + url.QueryEscape(m["cursor"].(string))
		}
		if strings.Join(seen, ",") != "c0,c1,c2,c3,c4" {
			t.Fatalf("pages gave %v", seen)
		}
		// The legacy page parameter still works for old clients.
		if m := e.ok(200, "GET", "/v1/customers?per_page=2&page=3&data_source_uuid="+ds, nil); len(m["entries"].([]any)) != 1 {
			t.Fatalf("page=3: %v", m)
		}
		count := func(q string) int { return len(e.ok(200, "GET", "/v1/customers?"+q, nil)["entries"].([]any)) }
		for q, want := range map[string]int{"external_id=c0": 2, "system=Stripe": 1, "status=New+Lead": 6,
			"status=Active": 0, "data_source_uuid=": 6, "per_page=500": 6} {
			if got := count(q); got != want {
				t.Errorf("?%s: %d customers, want %d", q, got, want)
			}
		}
		// Search is case-insensitive on the email; 3 customers share it.
		m := e.ok(200, "GET", "/v1/customers/search?email=shared%40example.com&per_page=1", nil)
		if len(m["entries"].([]any)) != 1 || m["has_more"] != true || m["total_pages"] != float64(3) {
			t.Fatalf("search: %v", m)
		}
		jsonEqual(t, e.do(e.key, "GET", "/v1/customers/search?email=no%40email.com", nil).body,
			`{"code":404,"message":"Can't find any customers with email: \"no@email.com\"","param":"email"}`)
		if n := len(e.do(e.otherKey, "GET", "/v1/customers", nil).json(t)["entries"].([]any)); n != 0 {
			t.Fatalf("other account lists %d customers", n)
		}
		if r := e.do(e.otherKey, "GET", "/v1/customers/search?email=shared%40example.com", nil); r.status != 404 {
			t.Fatalf("other account finds customers by email: %d", r.status)
		}
	})
}

func TestAttributes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := e.fixture()
		base := "/v1/customers/" + cus + "/attributes"
		jsonEqual(t, e.do(e.key, "GET", base, nil).body, `{"tags":[],"stripe":{},"clearbit":{},"custom":{}}`)
		jsonEqual(t, e.do(e.key, "POST", base+"/tags", map[string]any{"tags": []string{"important", "Prio1"}}).body,
			`{"tags":["important","Prio1"]}`)
		jsonEqual(t, e.do(e.key, "POST", base+"/tags", map[string]any{"tags": []string{"Prio1", "new"}}).body,
			`{"tags":["important","Prio1","new"]}`)
		jsonEqual(t, e.do(e.key, "DELETE", base+"/tags", map[string]any{"tags": []string{"important", "absent"}}).body,
			`{"tags":["Prio1","new"]}`)
		jsonEqual(t, e.do(e.key, "POST", base+"/custom", map[string]any{"custom": []any{
			map[string]any{"type": "Integer", "key": "CAC", "value": 213},
			map[string]any{"type": "String", "key": "utmCampaign", "value": "social media 1", "source": "integration"},
			map[string]any{"type": "Decimal", "key": "score", "value": 7.5},
		}}).body, `{"custom":{"CAC":213,"utmCampaign":"social media 1","score":7.5}}`)
		// PUT overwrites values and keeps each key's type: 300 stays Integer.
		jsonEqual(t, e.do(e.key, "PUT", base+"/custom", map[string]any{"custom": map[string]any{"CAC": 300}}).body,
			`{"custom":{"CAC":300,"utmCampaign":"social media 1","score":7.5}}`)
		if r := e.do(e.key, "PUT", base+"/custom", map[string]any{"custom": map[string]any{"CAC": "lots"}}); r.status != 422 {
			t.Fatalf("PUT of a string into an Integer attribute: %d %s", r.status, r.body)
		}
		jsonEqual(t, e.do(e.key, "DELETE", base+"/custom", map[string]any{"custom": []string{"score", "absent"}}).body,
			`{"custom":{"CAC":300,"utmCampaign":"social media 1"}}`)
		jsonEqual(t, e.do(e.key, "GET", base, nil).body,
			`{"tags":["Prio1","new"],"stripe":{},"clearbit":{},"custom":{"CAC":300,"utmCampaign":"social media 1"}}`)

		// By email: every customer with the address gets the tag.
		r := e.do(e.key, "POST", "/v1/customers/attributes/tags", map[string]any{"email": "adam@example.com", "tags": []string{"byemail"}})
		entries := r.json(t)["entries"].([]any)
		if r.status != 200 || len(entries) != 1 {
			t.Fatalf("tags by email: %d %s", r.status, r.body)
		}
		r = e.do(e.key, "POST", "/v1/customers/attributes/custom", map[string]any{"email": "adam@example.com",
			"custom": []any{map[string]any{"type": "Boolean", "key": "paid", "value": false}}})
		c := r.json(t)["entries"].([]any)[0].(map[string]any)
		if c["attributes"].(map[string]any)["custom"].(map[string]any)["paid"] != false {
			t.Fatalf("custom by email: %s", r.body)
		}
		if r := e.do(e.otherKey, "GET", base, nil); r.status != 404 {
			t.Fatalf("other account reads attributes: %d", r.status)
		}
	})
}

func TestPlans(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
		r := e.do(e.key, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Bronze Plan", "interval_count": 1,
			"interval_unit": "month", "external_id": "plan_0001"})
		p := r.json(t)
		jsonEqual(t, r.body, fmt.Sprintf(`{"uuid":%q,"data_source_uuid":%q,"external_id":"plan_0001","name":"Bronze Plan",
			"interval_count":1,"interval_unit":"month"}`, p["uuid"], ds))
		// Without external_id the plan gets its UUID sans prefix.
		g := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Gold", "interval_count": 1, "interval_unit": "year"})
		if "pl_"+g["external_id"].(string) != g["uuid"] {
			t.Fatalf("generated external_id %v for %v", g["external_id"], g["uuid"])
		}
		e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Daily", "interval_count": 7, "interval_unit": "day"})
		m := e.ok(200, "GET", "/v1/plans?per_page=2&data_source_uuid="+ds, nil)
		if len(m["plans"].([]any)) != 2 || m["has_more"] != true || m["total_pages"] != float64(2) {
			t.Fatalf("page 1: %v", m)
		}
		m = e.ok(200, "GET", "/v1/plans?per_page=2&cursor="+url.QueryEscape(m["cursor"].(string)), nil)
		if len(m["plans"].([]any)) != 1 || m["has_more"] != false || m["current_page"] != float64(2) {
			t.Fatalf("page 2: %v", m)
		}
		if n := len(e.ok(200, "GET", "/v1/plans?external_id=plan_0001", nil)["plans"].([]any)); n != 1 {
			t.Fatalf("external_id filter: %d", n)
		}
		if n := len(e.ok(200, "GET", "/v1/plans?system=Stripe", nil)["plans"].([]any)); n != 0 {
			t.Fatalf("system filter: %d", n)
		}
		uuid := p["uuid"].(string)
		u := e.ok(202, "PATCH", "/v1/plans/"+uuid, map[string]any{"name": "Bronze Plan 2", "interval_count": 3})
		if u["name"] != "Bronze Plan 2" || u["interval_count"] != float64(3) || u["interval_unit"] != "month" {
			t.Fatalf("patched: %v", u)
		}
		if got := e.ok(200, "GET", "/v1/plans/"+uuid, nil); got["name"] != "Bronze Plan 2" {
			t.Fatalf("after patch: %v", got)
		}
		if n := len(e.do(e.otherKey, "GET", "/v1/plans", nil).json(t)["plans"].([]any)); n != 0 {
			t.Fatalf("other account lists %d plans", n)
		}
		e.ok(204, "DELETE", "/v1/plans/"+uuid, nil)
		jsonEqual(t, e.do(e.key, "GET", "/v1/plans/"+uuid, nil).body, `{"error":"Plan not found"}`)
	})
}
