package billing

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	// Every input format of api.md rule 7.
	cases := map[string]string{
		"2018-12-18T18:39:15+06:00":     "2018-12-18T12:39:15.000Z",
		"2017-05-01T00:00:00.000Z":      "2017-05-01T00:00:00.000Z",
		"2017-05-01T00:00:00Z":          "2017-05-01T00:00:00.000Z",
		"2017-05-01T10:11:12.345678Z":   "2017-05-01T10:11:12.345Z",
		"2017-05-01T10:11:12":           "2017-05-01T10:11:12.000Z",
		"2016-01-01 12:00:00":           "2016-01-01T12:00:00.000Z",
		"2016-01-01 12:00:00 UTC":       "2016-01-01T12:00:00.000Z",
		"2016-01-01 12:00:00 +0200":     "2016-01-01T10:00:00.000Z",
		"2022-02-28":                    "2022-02-28T00:00:00.000Z",
		" 2022-02-28 ":                  "2022-02-28T00:00:00.000Z",
		"2020-02-29T23:59:59.999-01:00": "2020-03-01T00:59:59.999Z",
	}
	for in, want := range cases {
		got, err := ParseDate(in)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", in, err)
			continue
		}
		if s := FormatImportTime(got); s != want {
			t.Errorf("ParseDate(%q) = %s, want %s", in, s, want)
		}
		if got.Location() != time.UTC {
			t.Errorf("ParseDate(%q) not in UTC", in)
		}
	}
	for _, bad := range []string{"", "yesterday", "2022-13-01", "2022-02-30", "01/02/2022", "2022-02-28T25:00:00Z"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

func TestValidation(t *testing.T) {
	if !ValidCountry("US") || !ValidCountry("DE") || ValidCountry("XX") || ValidCountry("us") || ValidCountry("USA") {
		t.Error("country codes")
	}
	errs := FieldErrors{}
	ValidatePlan(&Plan{Name: " ", IntervalCount: 0, IntervalUnit: "quarter"}, errs)
	if len(errs) != 3 || errs["name"] == "" || errs["interval_count"] == "" || errs["interval_unit"] == "" {
		t.Errorf("plan errors: %v", errs)
	}
	errs = FieldErrors{}
	ValidatePlan(&Plan{Name: "Gold", IntervalCount: 1, IntervalUnit: "week"}, errs)
	if len(errs) != 0 {
		t.Errorf("valid plan: %v", errs)
	}
	for typ, v := range map[string]any{"Integer": 1.5, "Boolean": "yes", "Timestamp": "soon", "Decimal": "x", "Colour": "red"} {
		if _, err := NormalizeCustomAttribute("k", CustomAttribute{Type: typ, Value: v}); err == nil {
			t.Errorf("%s %v accepted", typ, v)
		}
	}
	a, err := NormalizeCustomAttribute("k", CustomAttribute{Type: "Timestamp", Value: "2016-01-31"})
	if err != nil || a.Value != "2016-01-31T00:00:00.000Z" {
		t.Errorf("timestamp: %v %v", a.Value, err)
	}
}

// TestParseCommonDate checks the fast path against the layouts it stands
// in for: every date it accepts, they accept as the same instant, and
// what it leaves to them is theirs to accept or refuse.
func TestParseCommonDate(t *testing.T) {
	n := 0
	for _, y := range []string{"0000", "0001", "1969", "1970", "2000", "2023", "2024", "2999", "3000", "9999", "20x4"} {
		for _, m := range []string{"00", "01", "02", "09", "10", "12", "13", "1x"} {
			for _, d := range []string{"00", "01", "28", "29", "30", "31", "32", "3a"} {
				date := y + "-" + m + "-" + d
				for _, tail := range []string{"", " 00:00:00", "T00:00:00", "T00:00:00Z", " 23:59:59", "T23:59:59Z", " 24:00:00",
					" 12:60:00", " 12:00:60", "T12:00:00+01:00", " 12:00:00 UTC", " 1:00:00", " 12-00-00", "T12:00:00z"} {
					s := date + tail
					fast, ok := parseCommonDate(s)
					slow, err := parseLayouts(s)
					if ok {
						n++
						if err != nil || !fast.Equal(slow) || fast.Location() != time.UTC {
							t.Errorf("%q: fast path %v, layouts %v %v", s, fast, slow, err)
						}
					}
					if got, gerr := ParseDate(s); (gerr == nil) != (err == nil) || (err == nil && !got.Equal(slow)) {
						t.Errorf("%q: ParseDate %v %v, layouts %v %v", s, got, gerr, slow, err)
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Errorf("the fast path took only %d dates", n)
	}
}
