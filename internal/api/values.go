package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

var int64Type = reflect.TypeOf(int64(0))

// optInt is an integer field that may also arrive as a numeric string
// (ChartMogul's own examples send "amount_in_cents":"1000").
type optInt struct {
	Set   bool
	Null  bool
	Value int64
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	o.Set = true
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return &json.UnmarshalTypeError{Value: "string", Type: int64Type}
		}
		b = []byte(strings.TrimSpace(s))
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "number " + string(b), Type: int64Type}
	}
	o.Value = v
	return nil
}

// or returns the value, or def when absent or null.
func (o optInt) or(def int64) int64 {
	if !o.Set || o.Null {
		return def
	}
	return o.Value
}

// ptr returns nil when absent or null.
func (o optInt) ptr() *int64 {
	if !o.Set || o.Null {
		return nil
	}
	v := o.Value
	return &v
}

// dateField parses an optional date field, recording a message in errs
// when it is not one of api.md rule 7's formats.
func dateField(errs billing.FieldErrors, field string, o optString) *time.Time {
	if !o.Set || o.Null || strings.TrimSpace(o.Value) == "" {
		return nil
	}
	t, err := billing.ParseDate(o.Value)
	if err != nil {
		if _, ok := errs[field]; !ok {
			errs[field] = "The date " + strconv.Quote(o.Value) + " is not valid: use RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD."
		}
		return nil
	}
	if t.Before(billing.MinDate) || t.After(billing.MaxDate) { // billing.ParseRecordDate's range, parsed once
		if _, ok := errs[field]; !ok {
			errs[field] = billing.MsgDateRange
		}
		return nil
	}
	return &t
}

// unmarshalField decodes raw into v; a type error comes back as the field
// path it concerns and a message.
func unmarshalField(raw json.RawMessage, v any) (field, msg string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		return "", "", true
	}
	if e, isErr := jsonError(err).(*Error); isErr {
		if m, isMap := e.Body.(map[string]billing.FieldErrors); isMap {
			for f, msg := range m["errors"] {
				return f, msg, false
			}
		}
		if b, isCoded := e.Body.(codeBody); isCoded {
			return "", b.Message, false
		}
	}
	return "", err.Error(), false
}
