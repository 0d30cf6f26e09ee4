package api

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/store"
)

// Invoice edits, the disabled state of invoices and subscription events,
// and edit histories (issue 13), on both stores. Their effect on the
// numbers is invoice_edits_metrics_test.go's.

// millisTime is how disabled_at and latest_edit_performed_at are written.
var millisTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// wantStatus sends and fails unless the answer has status want.
func (e *env) wantStatus(want int, key, method, path string, body any) response {
	e.t.Helper()
	r := e.do(key, method, path, body)
	if r.status != want {
		e.t.Errorf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

// valuesChanged is an answer's edit_history_summary.values_changed as JSON
// ("" when it has none).
func valuesChanged(t *testing.T, obj map[string]any) string {
	t.Helper()
	sum, ok := obj["edit_history_summary"].(map[string]any)
	if !ok {
		t.Fatalf("no edit_history_summary in %v", obj)
	}
	v, ok := sum["values_changed"]
	if !ok {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func uuidsOf(t *testing.T, list map[string]any) []string {
	t.Helper()
	var out []string
	for _, x := range list["invoices"].([]any) {
		out = append(out, x.(map[string]any)["uuid"].(string))
	}
	return out
}

func TestInvoiceEdits(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		// Dated 2015-11-01, due 2015-11-15, USD; its line starts on 11-01,
		// its payment is of 11-05.
		inv := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("A", pl, "sub-a")))["invoices"].([]any)[0].(map[string]any)
		uuid := inv["uuid"].(string)
		byExt := "/v1/invoices?data_source_uuid=" + ds + "&external_id=A"

		// Without EUR rates a change to EUR is refused, as an import in EUR
		// would be (metrics.md rule 20), and nothing changes.
		r := e.wantStatus(422, e.key, "PATCH", "/v1/invoices/"+uuid, map[string]any{"currency": "EUR", "date": "2015-11-02"})
		jsonEqual(t, r.body, `{"errors":{"currency":"No EUR→USD exchange rate for 2015-11-01: load rates with `+"`tally fx import`"+`."}}`)
		if got := e.ok(200, "GET", "/v1/invoices/"+uuid, nil); got["date"] != "2015-11-01T00:00:00.000Z" || got["currency"] != "USD" {
			t.Errorf("a refused edit changed the invoice: %v %v", got["date"], got["currency"])
		}

		got := e.ok(200, "PATCH", "/v1/invoices/"+uuid, map[string]any{"date": "2015-11-02 10:00:00", "due_date": nil, "collection_method": "manual"})
		if got["uuid"] != uuid || got["date"] != "2015-11-02T10:00:00.000Z" || got["due_date"] != nil || got["collection_method"] != "manual" ||
			got["currency"] != "USD" || got["disabled"] != false || got["user_created"] != false ||
			len(got["line_items"].([]any)) != 1 || len(got["transactions"].([]any)) != 1 {
			t.Errorf("edited invoice: %v", got)
		}
		if _, ok := got["edit_history_summary"]; ok {
			t.Errorf("edit_history_summary without include_edit_histories: %v", got)
		}

		// EUR 1 = USD 1.10 on the days the invoice converts at.
		var rates []store.FXRate
		for _, d := range []time.Time{time.Date(2015, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2015, 11, 5, 0, 0, 0, 0, time.UTC)} {
			rates = append(rates, store.FXRate{Currency: "USD", Day: d, PerEUR: "1.1000"})
		}
		if err := e.store.SaveFXRates(t.Context(), rates); err != nil {
			t.Fatal(err)
		}
		got = e.ok(200, "PATCH", byExt+"&include_edit_histories=true", map[string]any{"currency": " eur"})
		if got["currency"] != "EUR" {
			t.Errorf("currency: %v", got["currency"])
		}
		jsonEqual(t, []byte(valuesChanged(t, got)), `{
			"date":{"original_value":"2015-11-01T00:00:00.000Z","edited_value":"2015-11-02T10:00:00.000Z"},
			"due_date":{"original_value":"2015-11-15T00:00:00.000Z","edited_value":null},
			"collection_method":{"original_value":null,"edited_value":"manual"},
			"currency":{"original_value":"USD","edited_value":"EUR"}}`)
		sum := got["edit_history_summary"].(map[string]any)
		if sum["latest_edit_author"] != auth.Prefix(e.key) || !millisTime.MatchString(fmt.Sprint(sum["latest_edit_performed_at"])) {
			t.Errorf("summary: %v", sum)
		}
		for _, k := range []string{"line_items", "transactions"} {
			if s := got[k].([]any)[0].(map[string]any)["edit_history_summary"]; fmt.Sprint(s) != "map[]" {
				t.Errorf("%s never edited: summary %v", k, s)
			}
		}
		// A date edited back to its first value leaves the summary; the
		// same value again records nothing.
		e.ok(200, "PATCH", "/v1/invoices/"+uuid, map[string]any{"date": "2015-11-01", "currency": "EUR"})
		jsonEqual(t, []byte(valuesChanged(t, e.ok(200, "GET", "/v1/invoices/"+uuid+"?include_edit_histories=true", nil))), `{
			"due_date":{"original_value":"2015-11-15T00:00:00.000Z","edited_value":null},
			"collection_method":{"original_value":null,"edited_value":"manual"},
			"currency":{"original_value":"USD","edited_value":"EUR"}}`)

		for _, tc := range []struct {
			body  string
			field string
		}{
			{`{}`, "invoice"},
			{`{"date":null}`, "date"},
			{`{"date":""}`, "date"},
			{`{"date":"someday"}`, "date"},
			{`{"due_date":5}`, "due_date"},
			{`{"currency":"XYZ"}`, "currency"},
			{`{"currency":null}`, "currency"},
			{`{"collection_method":"sometimes"}`, "collection_method"},
		} {
			r := e.wantStatus(422, e.key, "PATCH", "/v1/invoices/"+uuid, tc.body)
			if errs, _ := r.json(t)["errors"].(map[string]any); len(errs) != 1 || errs[tc.field] == nil {
				t.Errorf("PATCH %s: %s, want one error on %s", tc.body, r.body, tc.field)
			}
		}
		e.wantStatus(400, e.key, "PATCH", "/v1/invoices", map[string]any{"date": "2015-11-03"})
		jsonEqual(t, e.wantStatus(400, e.key, "PATCH", "/v1/invoices?data_source_uuid="+ds, map[string]any{"date": "2015-11-03"}).body,
			`{"code":400,"message":"Name the invoice by its UUID in the path, or by data_source_uuid and external_id in the query; external_id is missing.","param":"external_id"}`)
		e.wantStatus(400, e.key, "PATCH", "/v1/invoices/"+uuid+"?include_edit_histories=yes", map[string]any{"date": "2015-11-03"})

		notFound := `{"error":"Invoice not found"}`
		other := "/v1/invoices?data_source_uuid=" + ds + "&external_id=B"
		for _, c := range []struct{ key, method, path string }{
			{e.key, "PATCH", "/v1/invoices/inv_00000000-0000-0000-0000-000000000000"},
			{e.key, "PATCH", other},
			{e.key, "DELETE", other},
			{e.otherKey, "PATCH", "/v1/invoices/" + uuid},
			{e.otherKey, "PATCH", byExt},
			{e.otherKey, "DELETE", byExt},
			{e.otherKey, "GET", "/v1/invoices/" + uuid},
		} {
			jsonEqual(t, e.wantStatus(404, c.key, c.method, c.path, map[string]any{"date": "2015-11-03"}).body, notFound)
		}
		for _, c := range []struct{ method, path string }{{"PATCH", "/v1/invoices/" + uuid}, {"PATCH", byExt}, {"DELETE", byExt}} {
			e.wantStatus(403, e.readKey, c.method, c.path, map[string]any{"date": "2015-11-03"})
		}
		if got := e.ok(200, "GET", "/v1/invoices/"+uuid, nil); got["date"] != "2015-11-01T00:00:00.000Z" {
			t.Errorf("refused edits changed the date: %v", got["date"])
		}

		e.ok(204, "DELETE", byExt, nil)
		jsonEqual(t, e.wantStatus(404, e.key, "GET", "/v1/invoices/"+uuid, nil).body, notFound)
		jsonEqual(t, e.wantStatus(404, e.key, "DELETE", byExt, nil).body, notFound)
		if subs := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any); len(subs) != 0 {
			t.Errorf("deleting by external id left the subscription: %v", subs)
		}
	})
}

func TestInvoiceDisabledState(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		out := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("A", pl, "sub-a"), seedInvoice("B", pl, "sub-b")))["invoices"].([]any)
		a, b := out[0].(map[string]any), out[1].(map[string]any)
		aUUID, bUUID := a["uuid"].(string), b["uuid"].(string)
		// A's only line disabled, as PATCH /v1/line_items/{uuid}/disabled_state
		// leaves it.
		line := a["line_items"].([]any)[0].(map[string]any)["uuid"]
		if _, err := e.store.DB().ExecContext(t.Context(), `UPDATE line_items SET disabled_at = 1700000000000, disabled_by = 'someone' WHERE uuid = $1`, line); err != nil {
			t.Fatal(err)
		}

		got := e.ok(200, "PATCH", "/v1/invoices/"+bUUID+"/disabled_state", map[string]any{"disabled": true, "reason": "duplicate"})
		at := got["disabled_at"]
		if got["uuid"] != bUUID || got["disabled"] != true || got["disabled_by"] != auth.Prefix(e.key) || !millisTime.MatchString(fmt.Sprint(at)) ||
			len(got["line_items"].([]any)) != 1 || len(got["transactions"].([]any)) != 1 {
			t.Errorf("disabled invoice: %v", got)
		}
		// Disabling it again keeps its first date.
		if again := e.ok(200, "PATCH", "/v1/invoices/"+bUUID+"/disabled_state", map[string]any{"disabled": true}); again["disabled_at"] != at {
			t.Errorf("disabled again at %v, first at %v", again["disabled_at"], at)
		}

		for _, c := range []struct {
			path string
			want []string
		}{
			{"/v1/invoices", []string{aUUID}},
			{"/v1/invoices?with_disabled=false", []string{aUUID}},
			{"/v1/invoices?with_disabled=true", []string{aUUID, bUUID}},
			{"/v1/invoices?external_id=B", nil},
			{"/v1/invoices?external_id=B&with_disabled=true", []string{bUUID}},
			{"/v1/import/customers/" + cus + "/invoices", []string{aUUID}},
			{"/v1/import/customers/" + cus + "/invoices?with_disabled=true", []string{aUUID, bUUID}},
			{"/v1/invoices?validation_type=valid", []string{aUUID}},
			{"/v1/invoices?validation_type=all&with_disabled=true", []string{aUUID, bUUID}},
			// Tally stores only valid invoices.
			{"/v1/invoices?validation_type=invalid&with_disabled=true", nil},
		} {
			if got := uuidsOf(t, e.ok(200, "GET", c.path, nil)); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("GET %s: %v, want %v", c.path, got, c.want)
			}
		}
		if m := e.ok(200, "GET", "/v1/invoices?validation_type=invalid", nil); m["total_pages"] != 0.0 || m["has_more"] != false {
			t.Errorf("invalid invoices: %v", m)
		}
		for _, q := range []string{"with_disabled=yes", "validation_type=some", "include_edit_histories=1"} {
			e.wantStatus(400, e.key, "GET", "/v1/invoices?"+q, nil)
			e.wantStatus(400, e.key, "GET", "/v1/invoices/"+aUUID+"?"+q, nil)
		}
		// Retrieved by UUID, a disabled invoice is there only with
		// with_disabled=true, as a disabled line or transaction is; the
		// flag also decides which lines and transactions show.
		jsonEqual(t, e.do(e.key, "GET", "/v1/invoices/"+bUUID, nil).body, `{"error":"Invoice not found"}`)
		if got := e.ok(200, "GET", "/v1/invoices/"+bUUID+"?with_disabled=true", nil); got["disabled"] != true {
			t.Errorf("retrieve a disabled invoice with_disabled: %v", got)
		}
		if lines := e.ok(200, "GET", "/v1/invoices/"+aUUID, nil)["line_items"].([]any); len(lines) != 0 {
			t.Errorf("a disabled line is shown without with_disabled: %v", lines)
		}
		lines := e.ok(200, "GET", "/v1/invoices/"+aUUID+"?with_disabled=true", nil)["line_items"].([]any)
		if len(lines) != 1 || lines[0].(map[string]any)["disabled"] != true || lines[0].(map[string]any)["disabled_by"] != "someone" {
			t.Errorf("with_disabled=true: %v", lines)
		}
		listed := e.ok(200, "GET", "/v1/invoices?with_disabled=true&include_edit_histories=true", nil)["invoices"].([]any)
		if len(listed[0].(map[string]any)["line_items"].([]any)) != 1 || valuesChanged(t, listed[0].(map[string]any)) != "" {
			t.Errorf("A listed with_disabled: %v", listed[0])
		}
		jsonEqual(t, []byte(valuesChanged(t, listed[1].(map[string]any))), `{"disabled":{"original_value":false,"edited_value":true}}`)

		got = e.ok(200, "PATCH", "/v1/invoices/disabled_state?data_source_uuid="+ds+"&external_id=B&include_edit_histories=true", map[string]any{"disabled": false})
		if got["disabled"] != false || got["disabled_at"] != nil || got["disabled_by"] != nil {
			t.Errorf("enabled invoice: %v", got)
		}
		// Disabled and enabled again: no value differs from the first, but
		// the summary still names the latest edit.
		if valuesChanged(t, got) != "" || got["edit_history_summary"].(map[string]any)["latest_edit_author"] != auth.Prefix(e.key) {
			t.Errorf("summary after enabling: %v", got["edit_history_summary"])
		}
		if got := uuidsOf(t, e.ok(200, "GET", "/v1/invoices", nil)); fmt.Sprint(got) != fmt.Sprint([]string{aUUID, bUUID}) {
			t.Errorf("after enabling B: %v", got)
		}

		path := "/v1/invoices/" + bUUID + "/disabled_state"
		jsonEqual(t, e.wantStatus(422, e.key, "PATCH", path, map[string]any{}).body,
			`{"errors":{"disabled":"Send disabled: true to disable, false to enable."}}`)
		jsonEqual(t, e.wantStatus(422, e.key, "PATCH", path, map[string]any{"disabled": "yes"}).body, `{"errors":{"disabled":"must be true or false"}}`)
		notFound := `{"error":"Invoice not found"}`
		for _, c := range []struct{ key, path string }{
			{e.key, "/v1/invoices/inv_00000000-0000-0000-0000-000000000000/disabled_state"},
			{e.key, "/v1/invoices/disabled_state?data_source_uuid=" + ds + "&external_id=C"},
			{e.otherKey, path},
			{e.otherKey, "/v1/invoices/disabled_state?data_source_uuid=" + ds + "&external_id=B"},
		} {
			jsonEqual(t, e.wantStatus(404, c.key, "PATCH", c.path, map[string]any{"disabled": true}).body, notFound)
		}
		e.wantStatus(400, e.key, "PATCH", "/v1/invoices/disabled_state?external_id=B", map[string]any{"disabled": true})
		e.wantStatus(403, e.readKey, "PATCH", path, map[string]any{"disabled": true})
		if got := e.ok(200, "GET", "/v1/invoices/"+bUUID, nil); got["disabled"] != false {
			t.Errorf("a refused request disabled B: %v", got)
		}
	})
}

func TestEventDisabledState(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, _ := e.fixture()
		ev := e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"external_id": "ev-1", "event_type": "subscription_cancelled"}))
		path := fmt.Sprintf("/v1/subscription_events/%.0f/disabled_state", ev["id"])
		got := e.ok(200, "PATCH", path, map[string]any{"disabled": true})
		if got["id"] != ev["id"] || got["external_id"] != "ev-1" || got["disabled"] != true || got["disabled_by"] != auth.Prefix(e.key) ||
			!millisTime.MatchString(fmt.Sprint(got["disabled_at"])) {
			t.Errorf("disabled event: %v", got)
		}
		list := func(q string) int {
			return len(e.ok(200, "GET", "/v1/subscription_events"+q, nil)["subscription_events"].([]any))
		}
		if n, all := list(""), list("?with_disabled=true"); n != 0 || all != 1 {
			t.Errorf("listed %d events, %d with_disabled; want 0 and 1", n, all)
		}
		if n := list("?external_id=ev-1"); n != 0 {
			t.Errorf("a disabled event is found by external id: %d", n)
		}
		e.wantStatus(400, e.key, "GET", "/v1/subscription_events?with_disabled=yes", nil)

		got = e.ok(200, "PATCH", path, map[string]any{"disabled": false})
		if got["disabled"] != false || got["disabled_at"] != nil || got["disabled_by"] != nil || list("") != 1 {
			t.Errorf("enabled event: %v", got)
		}
		e.wantStatus(422, e.key, "PATCH", path, map[string]any{"disabled": nil})
		notFound := `{"error":"Subscription event not found"}`
		for _, c := range []struct{ key, path string }{
			{e.key, "/v1/subscription_events/4242/disabled_state"},
			{e.key, "/v1/subscription_events/ev-1/disabled_state"},
			{e.key, "/v1/subscription_events/-1/disabled_state"},
			{e.otherKey, path},
		} {
			jsonEqual(t, e.wantStatus(404, c.key, "PATCH", c.path, map[string]any{"disabled": true}).body, notFound)
		}
		e.wantStatus(403, e.readKey, "PATCH", path, map[string]any{"disabled": true})
		if list("") != 1 {
			t.Error("a refused request disabled the event")
		}
	})
}
