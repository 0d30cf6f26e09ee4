package billing

import (
	"fmt"
	"strings"
	"time"
)

// dateLayouts are the input formats of api.md rule 7, tried in order.
// RFC 3339 with or without fraction and offset comes first.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999", // RFC 3339 without an offset: UTC
	"2006-01-02 15:04:05.999999999 UTC",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseDate reads a date in any format api.md rule 7 accepts and returns it
// in UTC. Formats without an offset are taken as UTC.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse date %q: not RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD", s)
}

// FormatImportTime is the Import API's output form (api.md rule 7):
// UTC with milliseconds, e.g. 2017-05-01T00:00:00.000Z.
func FormatImportTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
