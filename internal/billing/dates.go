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
	if t, ok := parseCommonDate(s); ok {
		return t, nil
	}
	return parseLayouts(s)
}

// parseLayouts tries api.md rule 7's layouts in turn.
func parseLayouts(s string) (time.Time, error) {
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse date %q: not RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD", s)
}

// parseCommonDate reads the forms clients send nearly always,
// YYYY-MM-DD, YYYY-MM-DD HH:MM:SS and YYYY-MM-DDTHH:MM:SS(Z), digit by
// digit: a bulk import holds hundreds of thousands of dates, and trying
// the layouts in turn cost more than the rest of its decoding. Anything
// else, or any value out of range, is left to the layouts (ok false), so
// that what it accepts and how is exactly theirs (a test compares them).
func parseCommonDate(s string) (time.Time, bool) {
	if len(s) != 10 && len(s) != 19 && !(len(s) == 20 && s[10] == 'T' && s[19] == 'Z') {
		return time.Time{}, false
	}
	num := func(from, to int) int {
		n := 0
		for _, c := range []byte(s[from:to]) {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	if s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := 0, 0, 0
	if len(s) > 10 {
		if (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
			return time.Time{}, false
		}
		hour, minute, sec = num(11, 13), num(14, 16), num(17, 19)
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // 2023-02-30 rolled over: the layouts refuse it
		return time.Time{}, false
	}
	return t, true
}

// FormatImportTime is the Import API's output form (api.md rule 7):
// UTC with milliseconds, e.g. 2017-05-01T00:00:00.000Z.
func FormatImportTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
