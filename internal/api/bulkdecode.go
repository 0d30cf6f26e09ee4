package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// A bulk import holds hundreds of thousands of small objects. Decoded one
// by one with encoding/json, each object was scanned twice and each field
// reached through reflection and its UnmarshalJSON: a third of the
// import's time. walkObject reads an object once, in a body already known
// to be valid JSON, and hands each field's value to exactly what
// encoding/json would have called for it (the field's UnmarshalJSON, or
// encoding/json itself for other types), so that a value means the same
// here as in a single-object request. FuzzWalkObject holds the two to the
// same results.

// jsonField is a field of a wire struct: its index (through embedded
// structs) and whether its address is a json.Unmarshaler.
type jsonField struct {
	index       []int
	name        string
	unmarshaler bool
}

// jsonFields are a struct type's fields by JSON name, as encoding/json
// names them (the tag's name; the fields of an untagged embedded struct
// promoted).
type jsonFields struct {
	byName map[string]*jsonField
	list   []*jsonField
}

var fieldCache sync.Map // reflect.Type → *jsonFields

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func fieldsOf(t reflect.Type) *jsonFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*jsonFields)
	}
	fs := &jsonFields{byName: map[string]*jsonField{}}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			idx := append(append([]int{}, index...), i)
			tag := sf.Tag.Get("json")
			if sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, idx)
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" || !sf.IsExported() && !sf.Anonymous {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := &jsonField{index: idx, name: name, unmarshaler: reflect.PointerTo(sf.Type).Implements(unmarshalerType)}
			fs.byName[name] = f
			fs.list = append(fs.list, f)
		}
	}
	walk(t, nil)
	f, _ := fieldCache.LoadOrStore(t, fs)
	return f.(*jsonFields)
}

// field finds the field a key names: by exact name, else ignoring case as
// encoding/json does.
func (fs *jsonFields) field(key string) *jsonField {
	if f, ok := fs.byName[key]; ok {
		return f
	}
	for _, f := range fs.list {
		if strings.EqualFold(f.name, key) {
			return f
		}
	}
	return nil
}

// walkObject decodes the JSON value raw (valid JSON) into the struct v
// points to, with unmarshalField's outcome: on a value of the wrong type
// it stops, returning the field path and message encoding/json's error
// gives.
func walkObject(raw []byte, v any) (field, msg string, ok bool) {
	i := skipSpace(raw, 0)
	if raw[i] == 'n' { // null: nothing to set
		return "", "", true
	}
	if raw[i] != '{' {
		return "", "The request body must be a JSON object.", false
	}
	rv := reflect.ValueOf(v).Elem()
	fs := fieldsOf(rv.Type())
	i = skipSpace(raw, i+1)
	for raw[i] != '}' {
		end := stringEnd(raw, i)
		key := jsonKey(raw[i:end])
		i = skipSpace(raw, end)
		i = skipSpace(raw, i+1) // the colon
		end = valueEnd(raw, i)
		value := raw[i:end]
		if f := fs.field(key); f != nil {
			if err := decodeField(rv.FieldByIndex(f.index), f, value); err != nil {
				return unmarshalError(err, f.name)
			}
		}
		i = skipSpace(raw, end)
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return "", "", true
}

// decodeField decodes value into the field fv as encoding/json does.
func decodeField(fv reflect.Value, f *jsonField, value []byte) error {
	p := fv.Addr().Interface()
	switch x := p.(type) {
	case *optString:
		return x.UnmarshalJSON(value)
	case *optInt:
		return x.UnmarshalJSON(value)
	}
	if f.unmarshaler {
		return p.(json.Unmarshaler).UnmarshalJSON(value)
	}
	return json.Unmarshal(value, p)
}

// unmarshalError is unmarshalField's reading of a field's decoding error,
// with the field's name in front of the path.
func unmarshalError(err error, name string) (field, msg string, ok bool) {
	if te, isType := err.(*json.UnmarshalTypeError); isType {
		path := name
		if te.Field != "" {
			path += "." + te.Field
		}
		return path, "must be " + jsonKind(te.Type.Kind().String()), false
	}
	return name, err.Error(), false
}

// jsonKey is a raw JSON string's text.
func jsonKey(raw []byte) string {
	if plainString(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd is the index after the JSON string starting at i.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd is the index after the JSON value starting at i (in valid
// JSON).
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	return j
}

// arrayElements calls fn with each element of the JSON array raw (valid
// JSON, a sub-slice of the body: nothing is copied).
func arrayElements(raw []byte, fn func(k int, elem []byte)) {
	i := skipSpace(raw, 0)
	i = skipSpace(raw, i+1)
	for k := 0; raw[i] != ']'; k++ {
		end := valueEnd(raw, i)
		fn(k, raw[i:end])
		i = skipSpace(raw, end)
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
}
