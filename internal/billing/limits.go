package billing

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/money"
)

// Limits on what one object may hold (api.md "Limits"). They keep a single
// write small and every sum of amounts far from int64's edge; ChartMogul
// documents similar ones.
const (
	// MaxIDLength bounds names, e-mail addresses, external ids, tags and
	// custom attribute keys, in characters.
	MaxIDLength = 255
	// MaxTextLength bounds every other string (descriptions, URLs, custom
	// attribute values), in characters. The API refuses any JSON string
	// longer than this before it looks at the field.
	MaxTextLength = 1024
	// MaxLongTextLength bounds the few fields written as prose or as an
	// expression, which the API names where it decodes them: a customer
	// note's text, a saved segment's filters (the CFL parser's own bound).
	MaxLongTextLength = 16384
	// MaxTags and MaxCustomAttributes bound one customer's attributes.
	MaxTags             = 1000
	MaxCustomAttributes = 200
	// MaxItems bounds every other list of one object: line items and
	// transactions of an invoice, plans of a plan group, subscriptions
	// connected at once, cancellation dates of a subscription.
	MaxItems = 1000
	// MaxSegments bounds the saved segments of one account: each is a
	// selection the Metrics API may cache.
	MaxSegments = 1000
)

// The range of every stored date (api.md "Limits"): the Unix epoch to the
// end of the year 2999, UTC. Wider dates are typos, and the zero time.Time
// (0001-01-01) is Go's "no date".
var (
	MinDate = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxDate = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Millisecond)
)

// MsgDateRange is the message for a date outside [MinDate, MaxDate].
const MsgDateRange = "The date must be between 1970-01-01 and 2999-12-31."

// ParseRecordDate is ParseDate for a date that is stored: it must also lie
// in [MinDate, MaxDate].
func ParseRecordDate(s string) (time.Time, error) {
	t, err := ParseDate(s)
	if err != nil {
		return t, err
	}
	if t.Before(MinDate) || t.After(MaxDate) {
		return time.Time{}, fmt.Errorf("date %q is outside 1970-01-01 to 2999-12-31", s)
	}
	return t, nil
}

// checkAmount refuses an amount beyond ±money.MaxAmount under key; mustBe
// starts the message ("Must be ", "Line item #2: must be ").
func checkAmount(errs FieldErrors, key, mustBe string, v int64) {
	if v > money.MaxAmount || v < -money.MaxAmount {
		addErr(errs, key, mustBe+"between -10000000000000 and 10000000000000 cents (±10^13).")
	}
}

func checkAmountPtr(errs FieldErrors, key, mustBe string, v *int64) {
	if v != nil {
		checkAmount(errs, key, mustBe, *v)
	}
}

// checkLength refuses a string longer than limit characters under key.
func checkLength(errs FieldErrors, key, mustBe string, s string, limit int) {
	if len(s) > limit && utf8.RuneCountInString(s) > limit {
		addErr(errs, key, fmt.Sprintf("%sat most %d characters.", mustBe, limit))
	}
}

func checkLengthPtr(errs FieldErrors, key, mustBe string, s *string, limit int) {
	if s != nil {
		checkLength(errs, key, mustBe, *s, limit)
	}
}

// CheckLength refuses a top-level field longer than limit characters.
func CheckLength(errs FieldErrors, key string, s string, limit int) {
	checkLength(errs, key, "Must be ", s, limit)
}

// CheckCount refuses a list of more than limit items under key.
func CheckCount(errs FieldErrors, key string, n, limit int) {
	if n > limit {
		addErr(errs, key, fmt.Sprintf("At most %d items; this list has %d.", limit, n))
	}
}

// ValidateTags checks a customer's tags: at most MaxTags of them, each as
// ValidateTagNames wants.
func ValidateTags(key string, tags []string, errs FieldErrors) {
	if len(tags) > MaxTags {
		addErr(errs, key, fmt.Sprintf("A customer has at most %d tags; this one would have %d.", MaxTags, len(tags)))
		return
	}
	ValidateTagNames(key, tags, errs)
}

// ValidateTagNames checks tags to be added or removed: none blank, none
// longer than MaxIDLength characters.
func ValidateTagNames(key string, tags []string, errs FieldErrors) {
	for _, t := range tags {
		if strings.TrimSpace(t) == "" {
			addErr(errs, key, "Tags must not be blank.")
		}
		checkLength(errs, key, "Each tag must be ", t, MaxIDLength)
	}
}
