package sheet

import "testing"

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"Adam Smith":               "Adam Smith",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+cmd|' /C calc'!A0":       "'+cmd|' /C calc'!A0",
		"-2+3":                     "'-2+3",
		"@SUM(1+1)":                "'@SUM(1+1)",
		"\tx":                      "'\tx",
		"\rx":                      "'\rx",
		"a=b":                      "a=b",
		"'=already quoted":         "'=already quoted",
		"2024-01-31":               "2024-01-31",
		"élan":                     "élan",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
