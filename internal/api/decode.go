package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/billing"
)

// decode reads the request body as one JSON value into v. An empty body
// reads as {} so that validation can name the missing fields. Malformed JSON
// is a 400, a value of the wrong JSON type a 422 naming the field, a body
// over the limit a 413 (api.md rules 4 and 5).
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge(tooBig.Limit)
		}
		return errBadRequest("The request body could not be read.", "")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD: refuse
	// it instead, so that what is stored is what was sent.
	if !utf8.Valid(body) {
		return errBadRequest("The request body is not valid UTF-8.", "")
	}
	// Only an object: `null` would decode into the request as "nothing
	// sent" and answer 2xx (the fuzz target found it).
	if body[0] != '{' {
		return errBadRequest("The request body must be a JSON object.", "")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errBadRequest("Malformed JSON: unexpected data after the top-level value.", "")
	}
	return checkStrings(body)
}

// checkStrings refuses, naming its dotted path, any string of a JSON body
// (key or value) that holds a NUL or is longer than billing.MaxTextLength
// characters (api.md "Limits"). PostgreSQL cannot store a NUL in text and
// SQLite would; checking here, once for every write, makes both stores
// answer alike. Narrower per-field limits are the validators'.
func checkStrings(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object  bool
		key     string
		wantKey bool
	}
	var stack []frame
	path := func(last string) string {
		var parts []string
		for _, f := range stack {
			if f.object && !f.wantKey {
				parts = append(parts, f.key)
			}
		}
		if last != "" {
			parts = append(parts, last)
		}
		return strings.Join(parts, ".")
	}
	check := func(s, field string) error {
		if strings.IndexByte(s, 0) >= 0 {
			return errField(field, "must not contain a NUL character (\\u0000).")
		}
		if len(s) > billing.MaxTextLength && utf8.RuneCountInString(s) > billing.MaxTextLength {
			return errField(field, "must be at most "+itoa(billing.MaxTextLength)+" characters.")
		}
		return nil
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF; syntax errors were reported by the decode
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = &stack[n-1]
		}
		if top != nil && top.object && top.wantKey {
			if k, ok := tok.(string); ok {
				if err := check(k, path(k)); err != nil {
					return err
				}
				top.key, top.wantKey = k, false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				if n := len(stack); n > 0 && stack[n-1].object {
					stack[n-1].wantKey = true
				}
			}
			continue
		case string:
			if err := check(t, path("")); err != nil {
				return err
			}
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var fieldErr *fieldTypeError
	switch {
	case errors.As(err, &fieldErr):
		return errField(fieldErr.field, fieldErr.msg)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return errBadRequest("The request body must be a JSON object.", "")
		}
		return errField(typeErr.Field, "must be "+jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return errBadRequest("Malformed JSON: "+syntaxErr.Error()+".", "")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("Malformed JSON: the body ends too early.", "")
	}
	return errBadRequest("Malformed JSON: "+err.Error()+".", "")
}

func jsonKind(goKind string) string {
	switch {
	case goKind == "string":
		return "a string"
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "bool":
		return "true or false"
	case goKind == "slice", goKind == "array":
		return "an array"
	case goKind == "map", goKind == "struct":
		return "an object"
	}
	return "of another type"
}

// fieldTypeError is raised by the optional-value types below, which know
// only their own JSON; the decoder fills in the path.
type fieldTypeError struct{ field, msg string }

func (e *fieldTypeError) Error() string { return e.field + " " + e.msg }

// optString is a string field of a PATCH body: it remembers whether the
// field was sent at all and whether it was null.
type optString struct {
	Set   bool
	Null  bool
	Value string
}

func (o *optString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	if err := json.Unmarshal(b, &o.Value); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: stringType}
	}
	return nil
}

// ptr returns nil for an absent, null or blank value.
func (o optString) ptr() *string {
	if !o.Set || o.Null || strings.TrimSpace(o.Value) == "" {
		return nil
	}
	v := o.Value
	return &v
}

var stringType = reflect.TypeOf("")
