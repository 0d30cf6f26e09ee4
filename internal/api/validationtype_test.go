package api

import "testing"

// validation_type on the invoice lists and retrieve (chartmogul-node's
// Invoice.all and Invoice.retrieve send it): every invoice Tally keeps is
// valid, so "invalid" lists none, "all" and "valid" list them all, and
// anything else is a 400 naming the parameter.
func TestInvoiceValidationType(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := e.fixture()
		oneTime := func(ext string) map[string]any {
			return map[string]any{"external_id": ext, "date": "2024-01-01", "currency": "USD",
				"line_items": []any{map[string]any{"type": "one_time", "amount_in_cents": 1000}}}
		}
		created := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(oneTime("INV-1"), oneTime("INV-2")))["invoices"].([]any)
		inv := created[0].(map[string]any)["uuid"].(string)

		externalIDs := func(body map[string]any) []string {
			var ids []string
			for _, x := range body["invoices"].([]any) {
				ids = append(ids, x.(map[string]any)["external_id"].(string))
			}
			return ids
		}
		for _, path := range []string{"/v1/invoices", "/v1/import/customers/" + cus + "/invoices"} {
			for _, v := range []string{"", "?validation_type=all", "?validation_type=valid"} {
				if got := externalIDs(e.ok(200, "GET", path+v, nil)); len(got) != 2 || got[0] != "INV-1" || got[1] != "INV-2" {
					t.Errorf("GET %s%s: %v, want [INV-1 INV-2]", path, v, got)
				}
			}
			body := e.ok(200, "GET", path+"?validation_type=invalid", nil)
			if got := body["invoices"].([]any); len(got) != 0 || body["has_more"] != false || body["total_pages"] != float64(0) {
				t.Errorf("GET %s?validation_type=invalid: %v, want no invoices", path, body)
			}
			r := e.do(e.key, "GET", path+"?validation_type=broken", nil)
			if r.status != 400 {
				t.Fatalf("GET %s?validation_type=broken: %d %s", path, r.status, r.body)
			}
			jsonEqual(t, r.body, `{"code":400,"message":"validation_type must be all, valid or invalid.","param":"validation_type"}`)
		}
		// The customer-scoped list keeps its customer_uuid when empty.
		if got := e.ok(200, "GET", "/v1/import/customers/"+cus+"/invoices?validation_type=invalid", nil)["customer_uuid"]; got != cus {
			t.Errorf("customer_uuid %v, want %s", got, cus)
		}
		// Retrieve answers the invoice whichever the value: it is valid.
		for _, v := range []string{"all", "valid", "invalid"} {
			if got := e.ok(200, "GET", "/v1/invoices/"+inv+"?validation_type="+v, nil); got["uuid"] != inv {
				t.Errorf("retrieve with validation_type=%s: %v", v, got)
			}
		}
		if r := e.do(e.key, "GET", "/v1/invoices/"+inv+"?validation_type=broken", nil); r.status != 400 {
			t.Errorf("retrieve with a broken validation_type: %d %s", r.status, r.body)
		}
		// Another account sees none of them, whatever the flag.
		if got := e.do(e.otherKey, "GET", "/v1/invoices?validation_type=valid", nil).json(t)["invoices"].([]any); len(got) != 0 {
			t.Errorf("other account: %v", got)
		}
	})
}
