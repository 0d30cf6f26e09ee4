package sheet

import "strings"

// Text makes a cell of text safe to open in a spreadsheet (OWASP's CSV
// injection advice): one starting with =, +, -, @, a tab or a carriage
// return would be read as a formula, so it gets a leading single quote.
// Names, emails and ids come from billing systems the tenant's own
// customers fill in. Numbers, which Tally writes, never go through it: a
// negative amount starts with - and must stay a number.
func Text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
