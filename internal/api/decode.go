package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/billing"
)

// decode reads the request body as one JSON value into v. An empty body
// reads as {} so that validation can name the missing fields. Malformed JSON
// is a 400, a value of the wrong JSON type a 422 naming the field, a body
// over the limit a 413 (api.md rules 4 and 5).
func decode(r *http.Request, v any) error { return decodeLong(r, v) }

// decodeLong is decode where the top-level fields named long may be up to
// billing.MaxLongTextLength characters (a note's text, a segment's
// filters) rather than every string's billing.MaxTextLength.
func decodeLong(r *http.Request, v any, long ...string) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeBody(body, v, long...)
}

// readBody reads a request body for decode: within the limit, valid
// UTF-8, an object ({} when empty).
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errTooLarge(tooBig.Limit)
		}
		return nil, errBadRequest("The request body could not be read.", "")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD: refuse
	// it instead, so that what is stored is what was sent.
	if !utf8.Valid(body) {
		return nil, errBadRequest("The request body is not valid UTF-8.", "")
	}
	// Only an object: `null` would decode into the request as "nothing
	// sent" and answer 2xx (the fuzz target found it).
	if body[0] != '{' {
		return nil, errBadRequest("The request body must be a JSON object.", "")
	}
	return body, nil
}

// decodeBody is decodeLong's decoding of a body readBody read.
func decodeBody(body []byte, v any, long ...string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errBadRequest("Malformed JSON: unexpected data after the top-level value.", "")
	}
	return checkStrings(body, long...)
}

// checkStrings refuses, naming its dotted path, any string of a JSON body
// (key or value) that holds a NUL or is longer than billing.MaxTextLength
// characters (api.md "Limits"), or billing.MaxLongTextLength for the value
// of a top-level field named in long. PostgreSQL cannot store a NUL in text and
// SQLite would; checking here, once for every write, makes both stores
// answer alike. Narrower per-field limits are the validators'.
//
// body has already decoded, so it is valid JSON: one pass over its bytes
// is enough, and far faster than the decoder's token stream.
func checkStrings(body []byte, long ...string) error {
	type frame struct {
		object  bool
		key     []byte // the raw key whose value is being read
		wantKey bool
	}
	var stack []frame
	path := func(last []byte) string {
		var parts []string
		for _, f := range stack {
			if f.object && !f.wantKey {
				parts = append(parts, unquote(f.key))
			}
		}
		if last != nil {
			parts = append(parts, unquote(last))
		}
		return strings.Join(parts, ".")
	}
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			stack = append(stack, frame{object: true, wantKey: true})
		case '[':
			stack = append(stack, frame{})
		case '}', ']':
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
		case ':':
			stack[len(stack)-1].wantKey = false
		case '"':
			end, chars, nul := scanString(body, i)
			raw := body[i : end+1]
			isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
			limit := billing.MaxTextLength
			if chars > limit && !isKey && len(stack) == 1 && stack[0].object && slices.Contains(long, unquote(stack[0].key)) {
				limit = billing.MaxLongTextLength
			}
			if nul || chars > limit {
				field := path(nil)
				if isKey {
					field = path(raw)
				}
				if nul {
					return errField(field, "must not contain a NUL character (\\u0000).")
				}
				return errField(field, "must be at most "+itoa(int64(limit))+" characters.")
			}
			if isKey {
				stack[len(stack)-1].key = raw
			}
			i = end
		}
	}
	return nil
}

// scanString reads the JSON string starting at the quote at i: the index of
// its closing quote, its length in characters once decoded, and whether it
// holds a NUL (\u0000).
func scanString(b []byte, i int) (end, chars int, nul bool) {
	for j := i + 1; j < len(b); {
		switch c := b[j]; {
		case c == '"':
			return j, chars, nul
		case c == '\\':
			if b[j+1] != 'u' {
				j += 2
				break
			}
			hex := string(b[j+2 : j+6])
			nul = nul || hex == "0000"
			j += 6
			// A surrogate pair is one character. Only a low surrogate
			// completes it: any other escape after a high one ("\ud800\u0000")
			// is a character of its own, and is checked like one.
			high := hex[0]|0x20 == 'd' && strings.IndexByte("89ab", hex[1]|0x20) >= 0
			if high && j+5 < len(b) && b[j] == '\\' && b[j+1] == 'u' &&
				b[j+2]|0x20 == 'd' && strings.IndexByte("cdef", b[j+3]|0x20) >= 0 {
				j += 6
			}
		case c < utf8.RuneSelf:
			j++
		default:
			_, size := utf8.DecodeRune(b[j:])
			j += size
		}
		chars++
	}
	return len(b) - 1, chars, nul
}

// unquote decodes a raw JSON string for an error message.
func unquote(raw []byte) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
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
	if plainString(b) {
		// No escape and nothing but printable ASCII: the text between the
		// quotes is the value (a bulk import decodes a million of these).
		o.Value = string(b[1 : len(b)-1])
		return nil
	}
	if err := json.Unmarshal(b, &o.Value); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: stringType}
	}
	return nil
}

// plainString reports whether b is a JSON string of printable ASCII
// without escapes.
func plainString(b []byte) bool {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return false
		}
	}
	return true
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
