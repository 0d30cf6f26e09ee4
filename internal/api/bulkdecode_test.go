package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// walkCases are objects that bulk imports send, and the corners of
// encoding/json that walkObject must match: keys in another case or
// escaped, repeated keys, nulls, values of the wrong type, nested
// objects and arrays, unknown fields, numbers as strings.
var walkCases = []string{
	`{}`,
	`null`,
	`"text"`,
	`[1, 2]`,
	`{"external_id": "c1", "name": "Ada", "country": "us", "attributes": {"tags": ["a", "b"], "custom": {"seats": 3}}}`,
	`{"External_ID": "c1", "NAME": "Ada"}`,
	`{"ext\u0065rnal_id": "escaped", "name": "caf\u00e9 \"quoted\" \\ slash"}`,
	`{"name": "first", "name": "second"}`,
	`{"name": null, "email": "", "lead_created_at": "2024-01-01"}`,
	`{"name": 5}`,
	`{"attributes": {"tags": "one"}}`,
	`{"attributes": {"tags": [1]}}`,
	`{"interval_count": 6, "interval_unit": "month", "name": "Gold"}`,
	`{"interval_count": "6"}`,
	`{"interval_count": 1.5}`,
	`{"type": "subscription", "amount_in_cents": "2500", "quantity": -1, "prorated": true, "balance_transfer": false}`,
	`{"amount_in_cents": "lots", "invoice_external_id": "inv-1"}`,
	`{"amount_in_cents": 1e3}`,
	`{"amount_in_cents": null, "quantity": null, "prorated": null}`,
	`{"prorated": "yes"}`,
	`{"invoice_external_id": "inv-1", "plan_external_id": "gold", "unknown": {"deep": [1, {"x": "]}"}]}, "extra": [true, false, null]}`,
	`{"external_id": "inv-1", "line_items": [{"type": "one_time", "amount_in_cents": 5}], "transactions": [{"type": "payment"}]}`,
	`{"line_items": [{"amount_in_cents": "x"}]}`,
	`{"line_items": {"type": "one_time"}}`,
	`{"retracted_event_id": 12, "event_type": "subscription_event_retracted", "amount_in_cents": "7"}`,
	`{"retracted_event_id": "ev-ext"}`,
	`{"retracted_event_id": true}`,
	"{\n\t\"name\" :\r\n \"spaced\" , \"email\":\"a@b.c\"\n}",
}

// walkTypes are the wire types of a bulk import's objects.
var walkTypes = []func() any{
	func() any { return new(customerIn) },
	func() any { return new(planIn) },
	func() any { return new(invoiceIn) },
	func() any { return new(bulkLineIn) },
	func() any { return new(bulkTransactionIn) },
	func() any { return new(eventIn) },
}

// compareWalk decodes raw with encoding/json (unmarshalField) and with
// walkObject into every wire type and reports any difference.
func compareWalk(t *testing.T, raw []byte) {
	t.Helper()
	for _, mk := range walkTypes {
		want, got := mk(), mk()
		wf, wm, wok := unmarshalField(raw, want)
		// encoding/json names a promoted field through its struct.
		wf = strings.TrimPrefix(strings.TrimPrefix(wf, "lineIn."), "transactionIn.")
		gf, gm, gok := walkObject(raw, got)
		if wf != gf || wm != gm || wok != gok {
			t.Errorf("%T %s: encoding/json (%q, %q, %v), walkObject (%q, %q, %v)", want, raw, wf, wm, wok, gf, gm, gok)
			continue
		}
		if wok && !reflect.DeepEqual(want, got) {
			t.Errorf("%T %s:\nencoding/json %+v\nwalkObject    %+v", want, raw, want, got)
		}
	}
}

func TestWalkObject(t *testing.T) {
	for _, c := range walkCases {
		compareWalk(t, []byte(c))
	}
}

func FuzzWalkObject(f *testing.F) {
	for _, c := range walkCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // walkObject reads bodies json.Valid accepted
		}
		compareWalk(t, raw)
	})
}

// TestRawArray: the arrays of a bulk import's body, as encoding/json would
// read them into []json.RawMessage.
func TestRawArray(t *testing.T) {
	for _, c := range []string{`null`, `[]`, `[ ]`, `[{"a": 1}, "s", 2, null, [3, [4]], {"b": "]"}]`, " [\n{}\t,\r{} ] "} {
		var want []json.RawMessage
		if err := json.Unmarshal([]byte(c), &want); err != nil {
			t.Fatal(err)
		}
		var got rawArray
		if err := got.UnmarshalJSON([]byte(strings.TrimSpace(c))); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d elements, want %d", c, len(got), len(want))
		}
		for i := range want {
			if string(got[i]) != string(want[i]) {
				t.Errorf("%s: element %d %s, want %s", c, i, got[i], want[i])
			}
		}
	}
	var a rawArray
	if err := a.UnmarshalJSON([]byte(`{"a": 1}`)); err == nil {
		t.Error("an object read as an array")
	}
}
