package api

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The CRM objects (issue 13 item 8; docs/api.md "CRM objects").

var crmBareUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// crmEntries lists a CRM list's entries, failing unless it answers 200.
func (e *env) crmEntries(key, path string) []map[string]any {
	e.t.Helper()
	r := e.do(key, "GET", path, nil)
	if r.status != 200 {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var out []map[string]any
	for _, x := range r.json(e.t)["entries"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// crmUUIDs is the "uuid" of each entry, in order.
func crmUUIDs(entries []map[string]any) []string {
	out := []string{}
	for _, x := range entries {
		out = append(out, x["uuid"].(string))
	}
	return out
}

// crmFieldErrors asserts a 422 in the Import API's shape naming exactly
// fields, and returns the messages.
func crmFieldErrors(t *testing.T, r response, fields ...string) map[string]any {
	t.Helper()
	if r.status != 422 {
		t.Fatalf("status %d, want 422: %s", r.status, r.body)
	}
	errs, _ := r.json(t)["errors"].(map[string]any)
	var got []string
	for f, msg := range errs {
		if s, _ := msg.(string); s == "" {
			t.Fatalf("field %s has no message: %s", f, r.body)
		}
		got = append(got, f)
	}
	sort.Strings(got)
	sort.Strings(fields)
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Fatalf("422 names %v, want %v: %s", got, fields, r.body)
	}
	return errs
}

func TestContacts(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, _ := e.fixture()
		r := e.do(e.key, "POST", "/v1/contacts", map[string]any{
			"customer_uuid": cus, "data_source_uuid": ds, "external_id": "contact_001", "first_name": " Adam ",
			"last_name": "Smith", "position": 9, "title": "CEO", "email": "Adam@Example.com", "phone": "+1234567890",
			"linked_in": "https://linkedin.com/example", "twitter": "https://twitter.com/example",
			"notes": "Heading\nBody\nFooter",
			"custom": []any{map[string]any{"key": "Booleanz", "value": false}, map[string]any{"key": "MyInteger", "value": 123},
				map[string]any{"key": "Plan", "value": "gold"}, map[string]any{"key": "Ratio", "value": 1.5}},
		})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		adam := r.json(t)["uuid"].(string)
		if !strings.HasPrefix(adam, "con_") || !crmBareUUID.MatchString(strings.TrimPrefix(adam, "con_")) {
			t.Fatalf("contact uuid %q", adam)
		}
		want := fmt.Sprintf(`{"uuid":%q,"customer_uuid":%q,"customer_external_id":"cus_0001","data_source_uuid":%q,
			"external_id":"contact_001","position":9,"first_name":"Adam","last_name":"Smith","title":"CEO",
			"email":"Adam@Example.com","phone":"+1234567890","linked_in":"https://linkedin.com/example",
			"twitter":"https://twitter.com/example","notes":"Heading\nBody\nFooter",
			"custom":{"Booleanz":false,"MyInteger":123,"Plan":"gold","Ratio":1.5}}`, adam, cus, ds)
		jsonEqual(t, r.body, want)
		jsonEqual(t, e.do(e.readKey, "GET", "/v1/contacts/"+adam, nil).body, want)

		// The customer-scoped create: the next position, unset fields null.
		r = e.do(e.key, "POST", "/v1/customers/"+cus+"/contacts", map[string]any{"data_source_uuid": ds, "email": "eve@example.com"})
		if r.status != 201 {
			t.Fatalf("customer create: %d %s", r.status, r.body)
		}
		eve := r.json(t)["uuid"].(string)
		jsonEqual(t, r.body, fmt.Sprintf(`{"uuid":%q,"customer_uuid":%q,"customer_external_id":"cus_0001","data_source_uuid":%q,
			"external_id":null,"position":10,"first_name":null,"last_name":null,"title":null,"email":"eve@example.com",
			"phone":null,"linked_in":null,"twitter":null,"notes":null,"custom":{}}`, eve, cus, ds))
		// By the customer's external id instead of its UUID.
		bob := e.ok(201, "POST", "/v1/contacts", map[string]any{"data_source_uuid": ds, "customer_external_id": "cus_0001",
			"first_name": "Bob"})["uuid"].(string)

		// Paging: one at a time, in creation order.
		var paged []string
		path := "/v1/contacts?per_page=1"
		for range 4 {
			m := e.ok(200, "GET", path, nil)
			for _, x := range m["entries"].([]any) {
				paged = append(paged, x.(map[string]any)["uuid"].(string))
			}
			if m["has_more"] != true {
				if m["cursor"] != nil {
					t.Fatalf("last page has a cursor: %v", m)
				}
				break
			}
			path = "/v1/contacts?per_page=1&cursor=" + url.QueryEscape(m["cursor"].(string))
		}
		if got := strings.Join(paged, ","); got != adam+","+eve+","+bob {
			t.Fatalf("paged %s", got)
		}
		if m := e.ok(200, "GET", "/v1/contacts", nil); len(m) != 3 || m["has_more"] != false {
			t.Fatalf("list answer has more than entries, cursor and has_more: %v", m)
		}

		// Filters.
		other := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Other"})["uuid"].(string)
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"email=adam@EXAMPLE.com", []string{adam}},
			{"external_id=contact_001", []string{adam}},
			{"customer_uuid=" + cus, []string{adam, eve, bob}},
			{"data_source_uuid=" + ds, []string{adam, eve, bob}},
			{"data_source_uuid=" + other, []string{}},
			{"data_source_uuid=ds_00000000-0000-0000-0000-000000000000", []string{}},
			{"email=nobody@example.com", []string{}},
			{"customer_uuid=" + cus + "&email=eve@example.com", []string{eve}},
			{"customer_uuid=", []string{adam, eve, bob}},
		} {
			if got := crmUUIDs(e.crmEntries(e.key, "/v1/contacts?"+c.query)); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("?%s: %v, want %v", c.query, got, c.want)
			}
		}
		if got := crmUUIDs(e.crmEntries(e.readKey, "/v1/customers/"+cus+"/contacts?per_page=2")); len(got) != 2 || got[0] != adam {
			t.Fatalf("customer's contacts: %v", got)
		}

		// PATCH changes what it sends; null clears; custom merges; PUT too.
		r = e.do(e.key, "PATCH", "/v1/contacts/"+adam, map[string]any{"email": "adam@smith.example", "external_id": nil,
			"title": "", "position": 2, "custom": map[string]any{"Plan": "platinum", "Booleanz": nil, "New": "x"}})
		if r.status != 200 {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}
		m := r.json(t)
		if m["email"] != "adam@smith.example" || m["external_id"] != nil || m["title"] != nil || m["position"] != 2.0 ||
			m["first_name"] != "Adam" || fmt.Sprint(m["custom"]) != "map[MyInteger:123 New:x Plan:platinum Ratio:1.5]" {
			t.Fatalf("patched: %s", r.body)
		}
		if m := e.ok(200, "PUT", "/v1/contacts/"+adam, map[string]any{"last_name": "Smyth"}); m["last_name"] != "Smyth" || m["email"] != "adam@smith.example" {
			t.Fatalf("put: %v", m)
		}
		if got := e.crmEntries(e.key, "/v1/contacts?external_id=contact_001"); len(got) != 0 {
			t.Fatalf("cleared external id still found: %v", got)
		}

		// Delete: 200 {} as recorded, then gone.
		jsonEqual(t, e.do(e.key, "DELETE", "/v1/contacts/"+bob, nil).body, `{}`)
		jsonEqual(t, e.do(e.key, "GET", "/v1/contacts/"+bob, nil).body, `{"error":"Contact not found"}`)
		if r := e.do(e.key, "DELETE", "/v1/contacts/"+bob, nil); r.status != 404 {
			t.Fatalf("second delete: %d", r.status)
		}
	})
}

func TestContactValidation(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, _ := e.fixture()
		other := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Other"})["uuid"].(string)
		e.ok(201, "POST", "/v1/contacts", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "external_id": "dup"})
		long := strings.Repeat("x", 256)
		many := []any{}
		for i := range 201 {
			many = append(many, map[string]any{"key": fmt.Sprint("k", i), "value": i})
		}
		for _, c := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"nothing", map[string]any{}, []string{"customer_uuid", "data_source_uuid"}},
			{"no data source", map[string]any{"customer_uuid": cus}, []string{"data_source_uuid"}},
			{"unknown data source", map[string]any{"customer_uuid": cus, "data_source_uuid": "ds_00000000-0000-0000-0000-000000000000"}, []string{"data_source_uuid"}},
			{"customer not in the data source", map[string]any{"customer_uuid": cus, "data_source_uuid": other}, []string{"data_source_uuid"}},
			{"unknown external id", map[string]any{"data_source_uuid": ds, "customer_external_id": "nobody"}, []string{"customer_external_id"}},
			{"position 0", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "position": 0}, []string{"position"}},
			{"position too big", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "position": 1 << 31}, []string{"position"}},
			{"position text", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "position": "first"}, []string{"position"}},
			{"long name", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "first_name": long, "email": long}, []string{"first_name", "email"}},
			{"long notes", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "notes": strings.Repeat("n", 1025)}, []string{"notes"}},
			{"name not a string", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "first_name": 5}, []string{"first_name"}},
			{"too many custom fields", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "custom": many}, []string{"custom"}},
			{"custom object value", map[string]any{"customer_uuid": cus, "data_source_uuid": ds,
				"custom": []any{map[string]any{"key": "k", "value": map[string]any{"a": 1}}}}, []string{"custom.k"}},
			{"custom blank key", map[string]any{"customer_uuid": cus, "data_source_uuid": ds,
				"custom": []any{map[string]any{"key": " ", "value": 1}}}, []string{"custom"}},
			{"custom not a list", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "custom": "x"}, []string{"custom"}},
			{"custom number beyond float64", map[string]any{"customer_uuid": cus, "data_source_uuid": ds,
				"custom": map[string]any{"big": crmRawJSON("1e999")}}, []string{"custom.big"}},
			{"duplicate external id", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "external_id": "dup"}, []string{"external_id"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				crmFieldErrors(t, e.do(e.key, "POST", "/v1/contacts", c.body), c.fields...)
			})
		}
		if got := e.crmEntries(e.key, "/v1/contacts"); len(got) != 1 {
			t.Fatalf("a refused create stored something: %v", got)
		}
		con := e.crmEntries(e.key, "/v1/contacts")[0]["uuid"].(string)
		crmFieldErrors(t, e.do(e.key, "PATCH", "/v1/contacts/"+con, map[string]any{"position": nil}), "position")
		crmFieldErrors(t, e.do(e.key, "PATCH", "/v1/contacts/"+con, map[string]any{"data_source_uuid": other}), "data_source_uuid")
		// An unknown customer is a 404, in the body as in the path.
		jsonEqual(t, e.do(e.key, "POST", "/v1/contacts", map[string]any{"customer_uuid": "cus_00000000-0000-0000-0000-000000000000",
			"data_source_uuid": ds}).body, `{"error":"Customer not found"}`)
		jsonEqual(t, e.do(e.key, "GET", "/v1/customers/cus_00000000-0000-0000-0000-000000000000/contacts", nil).body, `{"error":"Customer not found"}`)
		jsonEqual(t, e.do(e.key, "GET", "/v1/contacts?customer_uuid=nope", nil).body, `{"error":"Customer not found"}`)
		// Unknown contact: 404 whatever the body.
		jsonEqual(t, e.do(e.key, "PATCH", "/v1/contacts/con_00000000-0000-0000-0000-000000000000", map[string]any{"position": -1}).body,
			`{"error":"Contact not found"}`)
	})
}

// crmRawJSON is JSON text sent as it is inside a body.
type crmRawJSON string

func (j crmRawJSON) MarshalJSON() ([]byte, error) { return []byte(j), nil }

func TestContactMerge(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, _ := e.fixture()
		cus2 := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0002"})["uuid"].(string)
		into := e.ok(201, "POST", "/v1/contacts", map[string]any{"customer_uuid": cus, "data_source_uuid": ds, "first_name": "Adam",
			"position": 3, "custom": map[string]any{"a": 1}})["uuid"].(string)
		from := e.ok(201, "POST", "/v1/contacts", map[string]any{"customer_uuid": cus2, "data_source_uuid": ds, "first_name": "A.",
			"email": "adam@example.com", "external_id": "x", "custom": map[string]any{"a": 2, "b": 3}})["uuid"].(string)

		// The read key and another account cannot merge.
		if r := e.do(e.readKey, "POST", "/v1/contacts/"+into+"/merge/"+from, nil); r.status != 403 {
			t.Fatalf("read key merges: %d", r.status)
		}
		jsonEqual(t, e.do(e.otherKey, "POST", "/v1/contacts/"+into+"/merge/"+from, map[string]any{}).body, `{"error":"Contact not found"}`)
		jsonEqual(t, e.do(e.key, "POST", "/v1/contacts/"+into+"/merge/con_00000000-0000-0000-0000-000000000000", nil).body, `{"error":"Contact not found"}`)
		crmFieldErrors(t, e.do(e.key, "POST", "/v1/contacts/"+into+"/merge/"+into, nil), "from")

		r := e.do(e.key, "POST", "/v1/contacts/"+into+"/merge/"+from, map[string]any{})
		if r.status != 200 {
			t.Fatalf("merge: %d %s", r.status, r.body)
		}
		jsonEqual(t, r.body, fmt.Sprintf(`{"uuid":%q,"customer_uuid":%q,"customer_external_id":"cus_0001","data_source_uuid":%q,
			"external_id":"x","position":3,"first_name":"Adam","last_name":null,"title":null,"email":"adam@example.com",
			"phone":null,"linked_in":null,"twitter":null,"notes":null,"custom":{"a":1,"b":3}}`, into, cus, ds))
		e.ok(404, "GET", "/v1/contacts/"+from, nil)
		if got := crmUUIDs(e.crmEntries(e.key, "/v1/contacts")); len(got) != 1 || got[0] != into {
			t.Fatalf("after the merge: %v", got)
		}
	})
}

// TestContactMove moves a contact to another customer by its external id.
func TestContactMove(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, _ := e.fixture()
		cus2 := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0002"})["uuid"].(string)
		con := e.ok(201, "POST", "/v1/contacts", map[string]any{"customer_uuid": cus, "data_source_uuid": ds})["uuid"].(string)
		// The owner as it is: nothing moves (the Go client echoes it).
		if m := e.ok(200, "PATCH", "/v1/contacts/"+con, map[string]any{"data_source_uuid": ds}); m["customer_uuid"] != cus {
			t.Fatalf("echoed data source moved the contact: %v", m)
		}
		m := e.ok(200, "PATCH", "/v1/contacts/"+con, map[string]any{"customer_external_id": "cus_0002", "first_name": "Moved"})
		if m["customer_uuid"] != cus2 || m["customer_external_id"] != "cus_0002" || m["first_name"] != "Moved" {
			t.Fatalf("moved: %v", m)
		}
		if got := e.crmEntries(e.key, "/v1/customers/"+cus+"/contacts"); len(got) != 0 {
			t.Fatalf("old customer keeps %v", got)
		}
		crmFieldErrors(t, e.do(e.key, "PATCH", "/v1/contacts/"+con, map[string]any{"customer_external_id": "nobody"}), "customer_external_id")
	})
}

func TestCustomerNotes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := e.fixture()
		r := e.do(e.key, "POST", "/v1/customer_notes", map[string]any{"customer_uuid": cus, "type": "call",
			"author_email": "sara@example.com", "text": "Trial extended.\nCall back in May.", "call_duration": 90,
			"created_at": "2023-11-01T00:00:00Z"})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		call := r.json(t)
		uuid := call["uuid"].(string)
		if !strings.HasPrefix(uuid, "note_") || !strings.HasSuffix(call["updated_at"].(string), "Z") {
			t.Fatalf("created: %s", r.body)
		}
		want := fmt.Sprintf(`{"uuid":%q,"customer_uuid":%q,"type":"call","text":"Trial extended.\nCall back in May.",
			"call_duration":90,"author":"sara@example.com","created_at":"2023-11-01T00:00:00.000Z","updated_at":%q}`,
			uuid, cus, call["updated_at"])
		jsonEqual(t, r.body, want)
		jsonEqual(t, e.do(e.readKey, "GET", "/v1/customer_notes/"+uuid, nil).body, want)

		// As chartmogul-node's Customer.createNote sends it (its tests
		// name the text "note"), and through the customer's route.
		note := e.ok(201, "POST", "/v1/customer_notes", map[string]any{"customer_uuid": cus, "type": "note", "note": "A note"})
		if note["text"] != "A note" || note["call_duration"] != 0.0 || note["author"] != nil || note["created_at"] != note["updated_at"] {
			t.Fatalf("note: %v", note)
		}
		third := e.ok(201, "POST", "/v1/customers/"+cus+"/notes", map[string]any{"text": "Third", "author": "bob@example.com"})
		if third["type"] != "note" || third["customer_uuid"] != cus {
			t.Fatalf("customer note: %v", third)
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"customer_uuid=" + cus, []string{uuid, note["uuid"].(string), third["uuid"].(string)}},
			{"type=call", []string{uuid}},
			{"type=note&customer_uuid=" + cus, []string{note["uuid"].(string), third["uuid"].(string)}},
			{"author=bob@example.com", []string{third["uuid"].(string)}},
		} {
			if got := crmUUIDs(e.crmEntries(e.key, "/v1/customer_notes?"+c.query)); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("?%s: %v, want %v", c.query, got, c.want)
			}
		}
		if got := e.crmEntries(e.key, "/v1/customers/"+cus+"/notes"); len(got) != 3 {
			t.Fatalf("customer's notes: %v", got)
		}
		if m := e.ok(200, "GET", "/v1/customer_notes?per_page=2", nil); m["has_more"] != true || len(m["entries"].([]any)) != 2 {
			t.Fatalf("page: %v", m)
		} else if rest := e.crmEntries(e.key, "/v1/customer_notes?per_page=2&cursor="+url.QueryEscape(m["cursor"].(string))); len(rest) != 1 {
			t.Fatalf("second page: %v", rest)
		}
		if r := e.do(e.key, "GET", "/v1/customer_notes?type=email", nil); r.status != 400 || r.json(t)["param"] != "type" {
			t.Fatalf("bad type filter: %d %s", r.status, r.body)
		}

		// PATCH: the text; turning the call into a note drops its duration.
		m := e.ok(200, "PATCH", "/v1/customer_notes/"+uuid, map[string]any{"text": "Edited", "type": "note"})
		if m["text"] != "Edited" || m["type"] != "note" || m["call_duration"] != 0.0 || m["author"] != "sara@example.com" ||
			m["created_at"] != "2023-11-01T00:00:00.000Z" {
			t.Fatalf("patched: %v", m)
		}
		if m := e.ok(200, "PUT", "/v1/customer_notes/"+uuid, map[string]any{"type": "call", "call_duration": 5, "author_email": nil}); m["call_duration"] != 5.0 || m["author"] != nil {
			t.Fatalf("put: %v", m)
		}

		for _, c := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"nothing", map[string]any{}, []string{"customer_uuid", "text"}},
			{"bad type", map[string]any{"customer_uuid": cus, "type": "email", "text": "x"}, []string{"type"}},
			{"blank text", map[string]any{"customer_uuid": cus, "text": "  "}, []string{"text"}},
			{"a note with a duration", map[string]any{"customer_uuid": cus, "text": "x", "call_duration": 3}, []string{"call_duration"}},
			{"negative duration", map[string]any{"customer_uuid": cus, "type": "call", "text": "x", "call_duration": -1}, []string{"call_duration"}},
			{"old created_at", map[string]any{"customer_uuid": cus, "text": "x", "created_at": "1969-12-31"}, []string{"created_at"}},
			{"bad created_at", map[string]any{"customer_uuid": cus, "text": "x", "created_at": "yesterday"}, []string{"created_at"}},
			{"long author", map[string]any{"customer_uuid": cus, "text": "x", "author_email": strings.Repeat("a", 256)}, []string{"author_email"}},
			{"text over 16,384 characters", map[string]any{"customer_uuid": cus, "text": strings.Repeat("é", 16385)}, []string{"text"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				crmFieldErrors(t, e.do(e.key, "POST", "/v1/customer_notes", c.body), c.fields...)
			})
		}
		crmFieldErrors(t, e.do(e.key, "PATCH", "/v1/customer_notes/"+uuid, map[string]any{"text": nil, "created_at": nil}), "text", "created_at")
		// A note is prose: its text takes 16,384 characters, not every
		// string's 1,024, and comes back whole.
		long := strings.Repeat("Called; ", 2000)[:15999] + "é"
		if got := e.ok(201, "POST", "/v1/customer_notes", map[string]any{"customer_uuid": cus, "text": long}); got["text"] != strings.TrimSpace(long) {
			t.Errorf("a 16,000-character note came back as %d characters", len(fmt.Sprint(got["text"])))
		}
		jsonEqual(t, e.do(e.key, "POST", "/v1/customer_notes", map[string]any{"customer_uuid": "cus_nope", "text": "x"}).body,
			`{"error":"Customer not found"}`)
		jsonEqual(t, e.do(e.key, "DELETE", "/v1/customer_notes/"+uuid, nil).body, `{}`)
		jsonEqual(t, e.do(e.key, "GET", "/v1/customer_notes/"+uuid, nil).body, `{"error":"Customer note not found"}`)
	})
}

func TestOpportunities(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := e.fixture()
		in := map[string]any{"customer_uuid": cus, "owner": "test1@example.org", "pipeline": "New business 1",
			"pipeline_stage": "Discovery", "estimated_close_date": "2023-12-22", "currency": "usd", "amount_in_cents": 100,
			"type": "recurring", "forecast_category": "pipeline", "win_likelihood": 3,
			"custom": []any{map[string]any{"key": "from_campaign", "value": true}}}
		r := e.do(e.key, "POST", "/v1/opportunities", in)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		o := r.json(t)
		uuid := o["uuid"].(string)
		if !crmBareUUID.MatchString(uuid) {
			t.Fatalf("opportunity uuid %q is not a bare UUID", uuid)
		}
		want := fmt.Sprintf(`{"uuid":%q,"customer_uuid":%q,"owner":"test1@example.org","pipeline":"New business 1",
			"pipeline_stage":"Discovery","estimated_close_date":"2023-12-22","currency":"USD","amount_in_cents":100,
			"type":"recurring","forecast_category":"pipeline","win_likelihood":3,"custom":{"from_campaign":true},
			"created_at":%q,"updated_at":%q}`, uuid, cus, o["created_at"], o["created_at"])
		jsonEqual(t, r.body, want)
		jsonEqual(t, e.do(e.readKey, "GET", "/v1/opportunities/"+uuid, nil).body, want)

		// Optional fields may be left out; the customer's route.
		second := e.ok(201, "POST", "/v1/customers/"+cus+"/opportunities", map[string]any{"owner": "owner2@example.org",
			"pipeline": "Renewals", "pipeline_stage": "Won", "estimated_close_date": "2024-06-30T12:00:00Z", "currency": "EUR",
			"amount_in_cents": 0})
		if second["type"] != nil || second["forecast_category"] != nil || second["win_likelihood"] != nil ||
			second["estimated_close_date"] != "2024-06-30" || fmt.Sprint(second["custom"]) != "map[]" {
			t.Fatalf("second: %v", second)
		}
		s := second["uuid"].(string)
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"customer_uuid=" + cus, []string{uuid, s}},
			{"owner=owner2@example.org", []string{s}},
			{"pipeline=New business 1", []string{uuid}},
			{"pipeline_stage=Won", []string{s}},
			{"estimated_close_date_on_or_after=2023-12-23", []string{s}},
			{"estimated_close_date_on_or_before=2023-12-22", []string{uuid}},
			{"estimated_close_date_on_or_after=2023-12-22&estimated_close_date_on_or_before=2024-06-30", []string{uuid, s}},
			{"estimated_close_date_on_or_before=2023-12-21", []string{}},
		} {
			if got := crmUUIDs(e.crmEntries(e.key, "/v1/opportunities?"+strings.ReplaceAll(c.query, " ", "+"))); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("?%s: %v, want %v", c.query, got, c.want)
			}
		}
		if got := crmUUIDs(e.crmEntries(e.key, "/v1/customers/"+cus+"/opportunities?per_page=1")); len(got) != 1 || got[0] != uuid {
			t.Fatalf("customer's first page: %v", got)
		}
		if r := e.do(e.key, "GET", "/v1/opportunities?estimated_close_date_on_or_after=22/12/2023", nil); r.status != 400 ||
			r.json(t)["param"] != "estimated_close_date_on_or_after" {
			t.Fatalf("bad date filter: %d %s", r.status, r.body)
		}

		m := e.ok(200, "PATCH", "/v1/opportunities/"+uuid, map[string]any{"estimated_close_date": "2024-12-22", "win_likelihood": nil,
			"custom": map[string]any{"seats": 3}})
		if m["estimated_close_date"] != "2024-12-22" || m["win_likelihood"] != nil || m["amount_in_cents"] != 100.0 ||
			fmt.Sprint(m["custom"]) != "map[from_campaign:true seats:3]" {
			t.Fatalf("patched: %v", m)
		}

		for _, c := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"nothing", map[string]any{}, []string{"customer_uuid", "owner", "pipeline", "pipeline_stage", "estimated_close_date", "currency", "amount_in_cents"}},
			{"bad values", map[string]any{"customer_uuid": cus, "owner": "o", "pipeline": "p", "pipeline_stage": "s",
				"estimated_close_date": "2024-02-30", "currency": "XYZ", "amount_in_cents": -1, "type": "monthly",
				"forecast_category": "maybe", "win_likelihood": 101},
				[]string{"estimated_close_date", "currency", "amount_in_cents", "type", "forecast_category", "win_likelihood"}},
			{"amount beyond the bound", map[string]any{"customer_uuid": cus, "owner": "o", "pipeline": "p", "pipeline_stage": "s",
				"estimated_close_date": "2024-02-03", "currency": "USD", "amount_in_cents": 10_000_000_000_001}, []string{"amount_in_cents"}},
			{"close date out of range", map[string]any{"customer_uuid": cus, "owner": "o", "pipeline": "p", "pipeline_stage": "s",
				"estimated_close_date": "3000-01-01", "currency": "USD", "amount_in_cents": 1}, []string{"estimated_close_date"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				crmFieldErrors(t, e.do(e.key, "POST", "/v1/opportunities", c.body), c.fields...)
			})
		}
		crmFieldErrors(t, e.do(e.key, "PATCH", "/v1/opportunities/"+uuid, map[string]any{"owner": "", "amount_in_cents": nil}), "owner", "amount_in_cents")
		jsonEqual(t, e.do(e.key, "DELETE", "/v1/opportunities/"+uuid, nil).body, `{}`)
		jsonEqual(t, e.do(e.key, "GET", "/v1/opportunities/"+uuid, nil).body, `{"error":"Opportunity not found"}`)
	})
}

func TestTasks(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := e.fixture()
		r := e.do(e.key, "POST", "/v1/tasks", map[string]any{"customer_uuid": cus, "assignee": "customer@example.com",
			"task_details": "This is some task details text.", "due_date": "2025-04-30T00:00:00Z", "completed_at": "2025-04-20T00:00:00Z"})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		task := r.json(t)
		uuid := task["uuid"].(string)
		if !crmBareUUID.MatchString(uuid) {
			t.Fatalf("task uuid %q", uuid)
		}
		want := fmt.Sprintf(`{"uuid":%q,"task_uuid":%q,"customer_uuid":%q,"task_details":"This is some task details text.",
			"assignee":"customer@example.com","due_date":"2025-04-30T00:00:00Z","completed_at":"2025-04-20T00:00:00Z",
			"created_at":%q,"updated_at":%q}`, uuid, uuid, cus, task["created_at"], task["created_at"])
		jsonEqual(t, r.body, want)
		jsonEqual(t, e.do(e.readKey, "GET", "/v1/tasks/"+uuid, nil).body, want)

		// Dates as dates (the reference's form); an offset comes back in UTC.
		open := e.ok(201, "POST", "/v1/customers/"+cus+"/tasks", map[string]any{"assignee": "sales@example.com",
			"task_details": "Schedule product demo", "due_date": "2025-04-21"})
		late := e.ok(201, "POST", "/v1/tasks", map[string]any{"customer_uuid": cus, "assignee": "sales@example.com",
			"task_details": "Call", "due_date": "2025-05-01T01:30:00.250+02:00"})
		if open["due_date"] != "2025-04-21" || open["completed_at"] != nil || late["due_date"] != "2025-04-30T23:30:00.25Z" {
			t.Fatalf("dates: %v / %v", open, late)
		}
		o, l := open["uuid"].(string), late["uuid"].(string)
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"customer_uuid=" + cus, []string{uuid, o, l}},
			{"assignee=sales@example.com", []string{o, l}},
			{"completed=true", []string{uuid}},
			{"completed=false", []string{o, l}},
			{"due_date_on_or_after=2025-04-30", []string{uuid, l}},
			{"due_date_on_or_before=2025-04-30", []string{uuid, o, l}},
			{"due_date_on_or_before=2025-04-29", []string{o}},
			{"due_date_on_or_after=2025-04-22&due_date_on_or_before=2025-04-30&completed=false", []string{l}},
		} {
			if got := crmUUIDs(e.crmEntries(e.key, "/v1/tasks?"+c.query)); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("?%s: %v, want %v", c.query, got, c.want)
			}
		}
		if r := e.do(e.key, "GET", "/v1/tasks?completed=yes", nil); r.status != 400 || r.json(t)["param"] != "completed" {
			t.Fatalf("bad completed: %d %s", r.status, r.body)
		}
		if got := e.crmEntries(e.key, "/v1/customers/"+cus+"/tasks?per_page=200"); len(got) != 3 {
			t.Fatalf("customer's tasks: %v", got)
		}

		m := e.ok(200, "PATCH", "/v1/tasks/"+uuid, map[string]any{"task_details": "Other details", "completed_at": nil})
		if m["task_details"] != "Other details" || m["completed_at"] != nil || m["due_date"] != "2025-04-30T00:00:00Z" {
			t.Fatalf("patched: %v", m)
		}
		if m := e.ok(200, "PUT", "/v1/tasks/"+o, map[string]any{"completed_at": "2025-04-19"}); m["completed_at"] != "2025-04-19" {
			t.Fatalf("put: %v", m)
		}

		for _, c := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"nothing", map[string]any{}, []string{"customer_uuid", "task_details", "assignee", "due_date"}},
			{"bad dates", map[string]any{"customer_uuid": cus, "task_details": "x", "assignee": "a", "due_date": "soon",
				"completed_at": "1960-01-01"}, []string{"due_date", "completed_at"}},
			{"long details", map[string]any{"customer_uuid": cus, "task_details": strings.Repeat("d", 256), "assignee": "a",
				"due_date": "2025-01-01"}, []string{"task_details"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				crmFieldErrors(t, e.do(e.key, "POST", "/v1/tasks", c.body), c.fields...)
			})
		}
		crmFieldErrors(t, e.do(e.key, "PATCH", "/v1/tasks/"+uuid, map[string]any{"due_date": nil, "assignee": " "}), "due_date", "assignee")
		jsonEqual(t, e.do(e.key, "DELETE", "/v1/tasks/"+uuid, nil).body, `{}`)
		jsonEqual(t, e.do(e.key, "GET", "/v1/tasks/"+uuid, nil).body, `{"error":"Task not found"}`)
	})
}

// crmObjects makes one of each CRM object on the customer cus (in data
// source ds) and returns their paths.
func (e *env) crmObjects(ds, cus, tag string) []string {
	e.t.Helper()
	con := e.ok(201, "POST", "/v1/customers/"+cus+"/contacts", map[string]any{"data_source_uuid": ds, "first_name": tag})
	note := e.ok(201, "POST", "/v1/customer_notes", map[string]any{"customer_uuid": cus, "text": tag})
	opp := e.ok(201, "POST", "/v1/opportunities", map[string]any{"customer_uuid": cus, "owner": "o@example.com",
		"pipeline": "p", "pipeline_stage": "s", "estimated_close_date": "2025-01-01", "currency": "USD", "amount_in_cents": 1})
	task := e.ok(201, "POST", "/v1/tasks", map[string]any{"customer_uuid": cus, "assignee": "a@example.com",
		"task_details": tag, "due_date": "2025-01-01"})
	return []string{"/v1/contacts/" + con["uuid"].(string), "/v1/customer_notes/" + note["uuid"].(string),
		"/v1/opportunities/" + opp["uuid"].(string), "/v1/tasks/" + task["uuid"].(string)}
}

// TestCRMIsolationAndReadKeys: another account's objects are unknown
// (404), on every route; a read key reads and writes nothing.
func TestCRMIsolationAndReadKeys(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, _ := e.fixture()
		paths := e.crmObjects(ds, cus, "mine")
		notFound := []string{`{"error":"Contact not found"}`, `{"error":"Customer note not found"}`,
			`{"error":"Opportunity not found"}`, `{"error":"Task not found"}`}
		for i, p := range paths {
			for _, method := range []string{"GET", "PATCH", "PUT", "DELETE"} {
				jsonEqual(t, e.do(e.otherKey, method, p, map[string]any{}).body, notFound[i])
			}
			if r := e.do(e.readKey, "GET", p, nil); r.status != 200 {
				t.Fatalf("read key GET %s: %d", p, r.status)
			}
			for _, method := range []string{"PATCH", "PUT", "DELETE"} {
				if r := e.do(e.readKey, method, p, map[string]any{}); r.status != 403 || r.json(t)["code"] != 403.0 {
					t.Fatalf("read key %s %s: %d %s", method, p, r.status, r.body)
				}
			}
		}
		for _, list := range []string{"/v1/contacts", "/v1/customer_notes", "/v1/opportunities", "/v1/tasks"} {
			if got := e.crmEntries(e.otherKey, list); len(got) != 0 {
				t.Fatalf("other account lists %s: %v", list, got)
			}
			if got := e.crmEntries(e.readKey, list); len(got) != 1 {
				t.Fatalf("read key lists %s: %v", list, got)
			}
			if r := e.do(e.readKey, "POST", list, map[string]any{}); r.status != 403 {
				t.Fatalf("read key POST %s: %d", list, r.status)
			}
			jsonEqual(t, e.do(e.otherKey, "GET", list+"?customer_uuid="+cus, nil).body, `{"error":"Customer not found"}`)
		}
		for _, sub := range []string{"contacts", "notes", "opportunities", "tasks"} {
			p := "/v1/customers/" + cus + "/" + sub
			jsonEqual(t, e.do(e.otherKey, "GET", p, nil).body, `{"error":"Customer not found"}`)
			jsonEqual(t, e.do(e.otherKey, "POST", p, map[string]any{"data_source_uuid": ds, "text": "x", "owner": "o", "pipeline": "p",
				"pipeline_stage": "s", "estimated_close_date": "2025-01-01", "currency": "USD", "amount_in_cents": 1,
				"assignee": "a", "task_details": "t", "due_date": "2025-01-01"}).body, `{"error":"Customer not found"}`)
			if r := e.do(e.readKey, "POST", p, map[string]any{}); r.status != 403 {
				t.Fatalf("read key POST %s: %d", p, r.status)
			}
		}
		// Nothing of the above changed anything.
		for _, p := range paths {
			e.ok(200, "GET", p, nil)
		}
	})
}

// TestCRMFollowsTheCustomer: a merge gives the survivor the other's CRM
// objects; an unmerge takes back its contacts and what
// move_to_new_customer names; deleting a customer or a data source
// deletes them.
func TestCRMFollowsTheCustomer(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, keep, _ := e.fixture()
		ds2 := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Second"})["uuid"].(string)
		gone := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds2, "external_id": "m-gone"})["uuid"].(string)
		mine := e.crmObjects(ds, keep, "keep")
		theirs := e.crmObjects(ds2, gone, "gone")
		owner := func(p string) any { return e.ok(200, "GET", p, nil)["customer_uuid"] }

		e.ok(202, "POST", "/v1/customers/merges", map[string]any{"from": map[string]any{"customer_uuid": gone},
			"into": map[string]any{"customer_uuid": keep}})
		for _, p := range append(append([]string{}, mine...), theirs...) {
			if got := owner(p); got != keep {
				t.Fatalf("after the merge %s belongs to %v", p, got)
			}
		}
		// The merged contact keeps its data source and external id.
		if c := e.ok(200, "GET", theirs[0], nil); c["data_source_uuid"] != ds2 || c["customer_external_id"] != "m-gone" {
			t.Fatalf("merged contact: %v", c)
		}
		for _, sub := range []string{"contacts", "notes", "opportunities", "tasks"} {
			if got := e.crmEntries(e.key, "/v1/customers/"+keep+"/"+sub); len(got) != 2 {
				t.Fatalf("survivor's %s: %v", sub, got)
			}
		}

		crmFieldErrors(t, e.do(e.key, "POST", "/v1/customers/unmerges", map[string]any{"customer_uuid": keep, "data_source_uuid": ds2,
			"external_id": "m-gone", "move_to_new_customer": []string{"contacts"}}), "move_to_new_customer")
		e.ok(202, "POST", "/v1/customers/unmerges", map[string]any{"customer_uuid": keep, "data_source_uuid": ds2,
			"external_id": "m-gone", "move_to_new_customer": []string{"tasks", "notes"}})
		// The contact goes back with its identity, the note and the task as
		// asked; the opportunity stays. The survivor's own stay.
		for i, want := range []string{gone, gone, keep, gone} {
			if got := owner(theirs[i]); got != want {
				t.Errorf("after the unmerge %s belongs to %v, want %v", theirs[i], got, want)
			}
			if got := owner(mine[i]); got != keep {
				t.Errorf("after the unmerge %s belongs to %v", mine[i], got)
			}
		}

		e.ok(204, "DELETE", "/v1/customers/"+gone, nil)
		for i, p := range theirs {
			if want := map[bool]int{true: 200, false: 404}[i == 2]; e.do(e.key, "GET", p, nil).status != want {
				t.Errorf("after deleting its customer GET %s is not %d", p, want)
			}
		}
		e.ok(204, "DELETE", "/v1/data_sources/"+ds, nil)
		for _, list := range []string{"/v1/contacts", "/v1/customer_notes", "/v1/opportunities", "/v1/tasks"} {
			if got := e.crmEntries(e.key, list); len(got) != 0 {
				t.Errorf("after deleting the data sources %s lists %v", list, got)
			}
		}
	})
}

// TestCRMDataSourceDeletes: deleting a data source takes the contacts of
// its identities, merged ones included, and its customers' objects;
// emptying one with /all does too, /dependent keeps them with the
// customers.
func TestCRMDataSourceDeletes(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, keep, _ := e.fixture()
		ds2 := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Second"})["uuid"].(string)
		gone := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds2, "external_id": "m-gone"})["uuid"].(string)
		mine := e.crmObjects(ds, keep, "keep")
		theirs := e.crmObjects(ds2, gone, "gone")
		e.ok(202, "POST", "/v1/customers/merges", map[string]any{"from": map[string]any{"customer_uuid": gone},
			"into": map[string]any{"customer_uuid": keep}})
		e.ok(204, "DELETE", "/v1/data_sources/"+ds2, nil)
		// The contact of the merged identity goes with its data source; the
		// notes, opportunities and tasks are the survivor's now, and stay.
		e.ok(404, "GET", theirs[0], nil)
		for _, p := range append(theirs[1:], mine...) {
			e.ok(200, "GET", p, nil)
		}
		e.ok(204, "DELETE", "/v1/data_sources/"+ds+"/dependent", nil)
		for _, p := range mine {
			e.ok(200, "GET", p, nil)
		}
		e.ok(204, "DELETE", "/v1/data_sources/"+ds+"/all", nil)
		for _, p := range append(theirs[1:], mine...) {
			e.ok(404, "GET", p, nil)
		}
	})
}
