package api

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// plainText refuses a request whose path or query holds a NUL or invalid
// UTF-8 (api.md "Limits"), before any handler passes it to a store:
// PostgreSQL fails on both (a 500), SQLite would store them. JSON bodies
// are checked by decode.
func plainText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanText(r.URL.Path) {
			writeError(w, r, errBadRequest("The path must be valid UTF-8 without NUL characters.", ""))
			return
		}
		// An unparseable query is the handlers' to refuse; what parses
		// is what they will read.
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for name, values := range q {
			if !cleanText(name) {
				writeError(w, r, errBadRequest("Query parameter names must be valid UTF-8 without NUL characters.", ""))
				return
			}
			for _, v := range values {
				if !cleanText(v) {
					writeError(w, r, errBadRequest("The "+name+" parameter must be valid UTF-8 without NUL characters.", name))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
