package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
)

// page is what every template gets: the layout's needs and the page's own
// data.
type page struct {
	Title   string
	Message string
	Nav     string
	// Base is where links start ("/" or "/share/TOKEN/").
	Base     string
	Shared   bool
	CanWrite bool
	CSRF     string
	Account  billing.Account
	Period   *period
	// Path is the page's path under Base, for the period controls and
	// the CSV link; Query its parameters.
	Path  string
	Query url.Values
	// Version is the results version the page shows, for the live
	// refresh.
	Version string
	// Filters is the page's filter builder and segment picker (pages
	// that take a selection).
	Filters *filterBar
	Data    any
}

func (w *Web) newPage(r *http.Request, title, nav string) page {
	v := viewerOf(r)
	return page{Title: title, Nav: nav, Base: v.base, Shared: v.shared, CanWrite: v.canWrite(), CSRF: v.csrf,
		Account: v.p.Account, Path: strings.TrimPrefix(r.URL.Path, "/"), Query: r.URL.Query()}
}

// get reads a /v1 answer through the API for the page's viewer, numbers
// kept as the API wrote them.
func (w *Web) get(r *http.Request, path string, q url.Values, into any) error {
	b, err := w.read.Read(r.Context(), viewerOf(r).p, path, q)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(into); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// apiError is an API answer other than 200 (api.ReadError).
type apiError interface {
	error
	StatusCode() int
	Message() string
}

var errNotFound = errors.New("not found")

func (h handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if err := h(rw, r); err != nil {
		webOf(r).fail(rw, r, err)
	}
}

// webKey lets handler reach the Web for its error page.
type webKey struct{}

func webOf(r *http.Request) *Web { return r.Context().Value(webKey{}).(*Web) }

// fail answers an error: the API's 4xx as a page saying what was wrong
// with the request, anything else as a logged 500.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, err error) {
	p := w.newPage(r, "Error", "")
	status := http.StatusInternalServerError
	var ae apiError
	switch {
	case errors.Is(err, errNotFound):
		status, p.Title, p.Message = http.StatusNotFound, "Not found", "There is no such page here."
	case errors.As(err, &ae) && ae.StatusCode() < 500:
		status, p.Message = ae.StatusCode(), ae.Message()
		p.Title = http.StatusText(status)
	default:
		w.log.Error("page failed", "method", r.Method, "path", redactPath(r.URL.Path), "err", err)
		p.Title, p.Message = "Error", "Something went wrong on the server; it has been logged."
	}
	if strings.HasSuffix(r.URL.Path, ".csv") {
		http.Error(rw, p.Message, status)
		return
	}
	w.render(rw, r, status, "error", p)
}

// render executes a page template.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if p.Base == "" {
		v := viewerOf(r)
		p.Base, p.Shared, p.CanWrite, p.CSRF, p.Account = v.base, v.shared, v.canWrite(), v.csrf, v.p.Account
		if p.Base == "" {
			p.Base = "/"
		}
	}
	var buf bytes.Buffer
	if err := w.pages.execute(&buf, name, p); err != nil {
		w.log.Error("template failed", "template", name, "err", err)
		http.Error(rw, "Internal server error.", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// templates holds one template set per page, each with the layout.
type templates struct{ sets map[string]*template.Template }

func mustTemplates() *templates {
	t := &templates{sets: map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t.sets[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return t
}

func (t *templates) execute(buf *bytes.Buffer, name string, p page) error {
	set, ok := t.sets[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	return set.ExecuteTemplate(buf, "layout", p)
}

// assetVersion names this binary's assets in their URLs, so a browser
// never runs a cached app.js of another version with a new page.
var assetVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

var funcs = template.FuncMap{
	"asset":     func() string { return assetVersion },
	"money":     formatMoney,
	"pct":       formatPercent,
	"count":     formatCount,
	"value":     formatValue,
	"field":     field,
	"str":       str,
	"date":      formatDate,
	"short":     short,
	"neg":       isNegative,
	"link":      link,
	"hasKey":    func(m map[string]any, k string) bool { _, ok := m[k]; return ok },
	"withq":     withURL,
	"query":     queryURL,
	"keep":      keepQuery,
	"pageq":     func(n int) url.Values { return url.Values{"page": {strconv.Itoa(n)}} },
	"dict2q":    func(k, v string) url.Values { return url.Values{k: {v}} },
	"list":      func(s ...string) []string { return s },
	"hasSuffix": strings.HasSuffix,
	"oplabel":   opLabel,
	"sign":      symbol,
	"decimals":  money.Exponent,
	"min":       func(a, b int) int { return min(a, b) },
	"segmentKnown": func(segs []savedSegment, uuid string) bool {
		return slices.ContainsFunc(segs, func(s savedSegment) bool { return s.UUID == uuid })
	},
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

// withURL and queryURL are a query for a link's href, marked as URL text:
// html/template would escape a plain string's = and & after the ? as the
// data of a single parameter.
func withURL(q, params url.Values) template.URL { return template.URL(with(q, params)) }
func queryURL(q url.Values) template.URL        { return template.URL(q.Encode()) }

// field is m[key], for templates (hyphenated keys).
func field(m map[string]any, key string) any { return m[key] }

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// formatMoney shows an amount in minor units of the currency.
func formatMoney(currency string, v any) string {
	n, err := strconv.ParseInt(str(v), 10, 64)
	if err != nil {
		return str(v)
	}
	exp := money.Exponent(currency)
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	unit := int64(math.Pow10(exp))
	out := sign + symbol(currency) + group(n/unit)
	if exp > 0 {
		out += fmt.Sprintf(".%0*d", exp, n%unit)
	}
	return out
}

// symbol is the API's currency sign, set apart from the digits when it
// is a word (CHF 12.00, kr 12.00).
func symbol(currency string) string {
	s := money.Sign(currency)
	if !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) {
		return s + " "
	}
	return s
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func formatCount(v any) string {
	s := str(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return "-" + group(-n)
		}
		return group(n)
	}
	return s
}

func formatPercent(v any) string {
	s := str(v)
	if s == "" {
		return "–"
	}
	return s + "%"
}

// formatValue shows a value of a column's unit.
func formatValue(unit, currency string, v any) string {
	switch unit {
	case "money":
		return formatMoney(currency, v)
	case "pct":
		return formatPercent(v)
	case "count":
		return formatCount(v)
	}
	return str(v)
}

func isNegative(v any) bool { return strings.HasPrefix(str(v), "-") }

// formatDate shows the date part of an API time.
func formatDate(v any) string {
	s := str(v)
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

// short is a long id cut for a narrow column.
func short(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// link is base+path with the query pairs given (key, value, …), empty
// values left out.
func link(base, path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// today is the date in the account's time zone (metrics.md rule 14).
func today(acct billing.Account, now time.Time) time.Time {
	y, m, d := now.In(acct.Location()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
