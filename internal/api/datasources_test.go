package api

import (
	"encoding/json"
	"testing"
)

// The with_* flags of GET /v1/data_sources and /v1/data_sources/{uuid}
// (issue 13 item 7): each adds its field in the shape chartmogul-node's
// fixtures show, with Tally's own values (api.md, data sources).
func TestDataSourceWithFlags(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		empty := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Empty"})["uuid"].(string)
		line := func(ext, start, end string) map[string]any {
			return map[string]any{"external_id": ext, "date": start, "currency": "USD", "line_items": []any{map[string]any{
				"type": "subscription", "subscription_external_id": "sub_0001", "plan_uuid": pl,
				"service_period_start": start, "service_period_end": end, "amount_in_cents": 1000}}}
		}
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(
			line("INV1", "2024-01-01", "2024-02-01"), line("INV2", "2024-02-01", "2024-03-01"), line("INV3", "2024-03-01", "2024-04-01")))
		e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"external_id": "ev-1",
			"event_type": "subscription_cancelled", "event_date": "2024-03-20", "effective_date": "2024-04-01"}))
		// A rejected import is refused whole and leaves nothing to count.
		if r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(line("INV1", "2024-01-01", "2024-02-01"))); r.status != 422 {
			t.Fatalf("duplicate import: %d %s", r.status, r.body)
		}

		// 3 invoices + 1 subscription event, all processed; nothing waits
		// and nothing failed. The empty source holds nothing.
		rules := `{"create_subscription_when_invoice_is":"open","update_subscription_when_invoice_is":"open",
			"prevent_subscription_for_invoice_voided":false,"prevent_subscription_for_invoice_refunded":false,
			"prevent_subscription_for_invoice_written_off":false}`
		handling := `{"manual":` + rules + `,"automatic":` + rules + `}`
		base := func(uuid string) map[string]any {
			return e.ok(200, "GET", "/v1/data_sources/"+uuid, nil)
		}
		want := func(uuid string, extra string) string {
			b, _ := json.Marshal(base(uuid))
			if extra == "" {
				return string(b)
			}
			return string(b[:len(b)-1]) + "," + extra + "}"
		}
		all := "?with_processing_status=true&with_auto_churn_subscription_setting=true&with_invoice_handling_setting=true"
		for _, c := range []struct{ query, full, empty string }{
			{"", "", ""},
			{"?with_processing_status=false&with_auto_churn_subscription_setting=false&with_invoice_handling_setting=false", "", ""},
			{"?with_processing_status=true", `"processing_status":{"processed":4,"pending":0,"failed":0}`,
				`"processing_status":{"processed":0,"pending":0,"failed":0}`},
			{"?with_auto_churn_subscription_setting=true", `"auto_churn_subscription_setting":{"enabled":false,"interval":null}`,
				`"auto_churn_subscription_setting":{"enabled":false,"interval":null}`},
			{"?with_invoice_handling_setting=true", `"invoice_handling_setting":` + handling, `"invoice_handling_setting":` + handling},
			{all, `"processing_status":{"processed":4,"pending":0,"failed":0},"auto_churn_subscription_setting":{"enabled":false,"interval":null},"invoice_handling_setting":` + handling,
				`"processing_status":{"processed":0,"pending":0,"failed":0},"auto_churn_subscription_setting":{"enabled":false,"interval":null},"invoice_handling_setting":` + handling},
		} {
			jsonEqual(t, e.get(t, "/v1/data_sources/"+ds+c.query), want(ds, c.full))
			jsonEqual(t, e.get(t, "/v1/data_sources/"+empty+c.query), want(empty, c.empty))
			list := `{"data_sources":[` + want(ds, c.full) + `,` + want(empty, c.empty) + `]}`
			jsonEqual(t, e.get(t, "/v1/data_sources"+c.query), list)
			// A read key may ask too.
			jsonEqual(t, e.do(e.readKey, "GET", "/v1/data_sources"+c.query, nil).body, list)
		}
		// The flags combine with the name and system filters.
		jsonEqual(t, e.get(t, "/v1/data_sources"+all+"&name=Empty"),
			`{"data_sources":[`+want(empty, `"processing_status":{"processed":0,"pending":0,"failed":0},"auto_churn_subscription_setting":{"enabled":false,"interval":null},"invoice_handling_setting":`+handling)+`]}`)

		// Another account's sources are neither listed nor counted.
		other := e.do(e.otherKey, "GET", "/v1/data_sources"+all, nil)
		jsonEqual(t, other.body, `{"data_sources":[]}`)
		if r := e.do(e.otherKey, "GET", "/v1/data_sources/"+ds+all, nil); r.status != 404 {
			t.Errorf("another account's source: %d %s", r.status, r.body)
		}

		// Anything but true or false is a 400 naming the flag.
		for _, f := range []string{"with_processing_status", "with_auto_churn_subscription_setting", "with_invoice_handling_setting"} {
			for _, path := range []string{"/v1/data_sources", "/v1/data_sources/" + ds} {
				r := e.do(e.key, "GET", path+"?"+f+"=yes", nil)
				if r.status != 400 {
					t.Fatalf("%s=yes: %d %s", f, r.status, r.body)
				}
				jsonEqual(t, r.body, `{"code":400,"message":"`+f+` must be true or false.","param":"`+f+`"}`)
			}
		}

		// Deleting an invoice takes it out of the count.
		inv := e.ok(200, "GET", "/v1/invoices?external_id=INV2", nil)["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
		e.ok(204, "DELETE", "/v1/invoices/"+inv, nil)
		jsonEqual(t, e.get(t, "/v1/data_sources/"+ds+"?with_processing_status=true"),
			want(ds, `"processing_status":{"processed":3,"pending":0,"failed":0}`))
	})
}

// get sends a GET with the full key and returns the body of its 200.
func (e *env) get(t *testing.T, path string) []byte {
	t.Helper()
	r := e.do(e.key, "GET", path, nil)
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return r.body
}
