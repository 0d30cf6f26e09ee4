package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errBadRequest("Malformed JSON: unexpected data after the top-level value.", "")
	}
	return nil
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
