package store

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// decodeFacts reads the stored facts whichever way they were written: by
// the recomputation (Go's encoding, read without the decoder) or by
// migration 00013 (each database's JSON, spaced its own way).
func TestDecodeFacts(t *testing.T) {
	for _, c := range []struct{ currencies, quantities string }{
		{`[]`, `{}`},
		{`["USD"]`, `{"sub_01":3}`},
		{`["EUR","USD"]`, `{"sub_01":3,"sub_02":0,"sub_03":-2}`},
		{`["EUR", "USD"]`, `{ "sub_01" : 3, "sub_02" : 12 }`}, // PostgreSQL's json_agg, json_object_agg
		{`["GBP"]`, `{"sub_\"q":1}`},                          // an escape: the decoder's
		{`[]`, `{"sub_01":9223372036854775807}`},
		{`[]`, `{"sub_01":1e2}`}, // no int64: an error, as the decoder's
	} {
		var r, want CustomerResults
		err := r.decodeFacts("[]", "{}", c.currencies, c.quantities)
		_ = json.Unmarshal([]byte(c.currencies), &want.Currencies)
		wantErr := json.Unmarshal([]byte(c.quantities), &want.Quantities)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s %s: error %v, the decoder's %v", c.currencies, c.quantities, err, wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if d := cmp.Diff(want, r, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s %s (-decoder +decodeFacts)\n%s", c.currencies, c.quantities, d)
		}
	}
}
