package billing

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldErrors maps a field name to its message; it is the Import API's
// 422 shape (api.md rule 5) before it reaches the wire.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e[k]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Messages for duplicates are exactly those of api-reference.md §1.9: the Go
// client compares them verbatim.
const (
	MsgDuplicateDataSourceName = "Has already been taken."
	MsgDuplicateCustomer       = "The external ID for this customer already exists in our system."
	MsgDuplicatePlan           = "A plan with this identifier already exists in our system."
	MsgDataSourceNameRequired  = "A name is required for each data source."
)

// IntervalUnits are the plan interval units of api.md rule 5.
var IntervalUnits = map[string]bool{"day": true, "week": true, "month": true, "year": true}

// CustomAttributeTypes are the custom attribute types ChartMogul accepts.
var CustomAttributeTypes = map[string]bool{"String": true, "Integer": true, "Decimal": true, "Timestamp": true, "Boolean": true}

// ValidatePlan checks a plan's own fields; the data source is checked by the
// caller, which has to look it up anyway.
func ValidatePlan(p *Plan, errs FieldErrors) {
	if strings.TrimSpace(p.Name) == "" {
		errs["name"] = "A name is required for each plan."
	}
	CheckLength(errs, "name", p.Name, MaxIDLength)
	CheckLength(errs, "external_id", p.ExternalID, MaxIDLength)
	CheckLength(errs, "data_source_uuid", p.DataSourceUUID, MaxIDLength)
	if p.IntervalCount < 1 {
		errs["interval_count"] = "The interval count must be a whole number of at least 1."
	}
	if !IntervalUnits[p.IntervalUnit] {
		errs["interval_unit"] = "The interval unit must be one of day, week, month or year."
	}
}

// ValidateCustomer checks a customer's own fields.
func ValidateCustomer(c *Customer, errs FieldErrors) {
	if strings.TrimSpace(c.ExternalID) == "" {
		errs["external_id"] = "An external ID is required for each customer."
	}
	if c.Country != nil && !ValidCountry(*c.Country) {
		errs["country"] = fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code.", *c.Country)
	}
	if len(c.Email) > 0 && !strings.Contains(c.Email, "@") {
		errs["email"] = "The email address is not valid."
	}
	for key, v := range map[string]string{"external_id": c.ExternalID, "data_source_uuid": c.DataSourceUUID, "name": c.Name,
		"email": c.Email, "company": c.Company, "city": c.City} {
		CheckLength(errs, key, v, MaxIDLength)
	}
	for key, v := range map[string]*string{"country": c.Country, "state": c.State, "zip": c.Zip, "owner": c.Owner} {
		checkLengthPtr(errs, key, "Must be ", v, MaxIDLength)
	}
	checkLengthPtr(errs, "website_url", "Must be ", c.WebsiteURL, MaxTextLength)
	ValidateTags("attributes.tags", c.Tags, errs)
	if len(c.Custom) > MaxCustomAttributes {
		addErr(errs, "attributes.custom", fmt.Sprintf("A customer has at most %d custom attributes.", MaxCustomAttributes))
	}
}

// NormalizeCustomAttribute checks a typed custom attribute and returns its
// value in canonical form (timestamps in the Import API's output form,
// integers as int64). field names the attribute in a returned error.
func NormalizeCustomAttribute(key string, a CustomAttribute) (CustomAttribute, error) {
	if strings.TrimSpace(key) == "" {
		return a, fmt.Errorf("a custom attribute needs a key")
	}
	if utf8.RuneCountInString(key) > MaxIDLength {
		return a, fmt.Errorf("a custom attribute key has at most %d characters", MaxIDLength)
	}
	if utf8.RuneCountInString(a.Source) > MaxIDLength {
		return a, fmt.Errorf("a custom attribute source has at most %d characters", MaxIDLength)
	}
	if a.Type == "" {
		a.Type = "String"
	}
	if !CustomAttributeTypes[a.Type] {
		return a, fmt.Errorf("type %q is not one of String, Integer, Decimal, Timestamp, Boolean", a.Type)
	}
	v, err := coerceAttribute(a.Type, a.Value)
	if err != nil {
		return a, err
	}
	a.Value = v
	return a, nil
}

func coerceAttribute(typ string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "String":
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) > MaxTextLength {
				return nil, fmt.Errorf("value has at most %d characters", MaxTextLength)
			}
			return x, nil
		case float64, int64, bool:
			return fmt.Sprint(x), nil
		}
	case "Integer":
		switch x := v.(type) {
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		case int64:
			return x, nil
		}
		return nil, fmt.Errorf("value must be an integer")
	case "Decimal":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
		return nil, fmt.Errorf("value must be a number")
	case "Boolean":
		if x, ok := v.(bool); ok {
			return x, nil
		}
		return nil, fmt.Errorf("value must be true or false")
	case "Timestamp":
		if s, ok := v.(string); ok {
			t, err := ParseRecordDate(s)
			if err != nil {
				return nil, fmt.Errorf("value must be a date between 1970-01-01 and 2999-12-31")
			}
			return FormatImportTime(t), nil
		}
		return nil, fmt.Errorf("value must be a date")
	}
	return nil, fmt.Errorf("value does not match type %s", typ)
}

// InferAttributeType picks a type for a value set without one (PATCH
// customer, PUT custom attributes on a new key).
func InferAttributeType(v any) string {
	switch x := v.(type) {
	case bool:
		return "Boolean"
	case int64:
		return "Integer"
	case float64:
		if x == float64(int64(x)) {
			return "Integer"
		}
		return "Decimal"
	case string:
		if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return "Timestamp"
		}
	}
	return "String"
}
