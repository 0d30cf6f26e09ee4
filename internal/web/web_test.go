package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/config"
	"github.com/tally-analytics/tally/internal/demo"
	"github.com/tally-analytics/tally/internal/server"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// site is the whole server (API and dashboard) over one store with the
// demo book in account "default", a full and a read key of it, and a key
// of another, empty account.
type site struct {
	t                      *testing.T
	s                      *store.Store
	srv                    *httptest.Server
	key, readKey, otherKey string
	acct                   billing.Account
}

// siteCustomers is the demo book's size in these tests: enough for every
// kind of movement, currency and page of the lists, small enough that
// installing it (once per test and store) keeps the package quick under
// -race.
const siteCustomers = 150

func newSite(t *testing.T, s *store.Store) *site {
	t.Helper()
	ctx := context.Background()
	res, err := demo.Install(ctx, s, server.DefaultAccount, demo.Options{Seed: 1, Customers: siteCustomers})
	if err != nil {
		t.Fatal(err)
	}
	st := &site{t: t, s: s, acct: res.Account}
	st.key = st.newKey(server.DefaultAccount, billing.AccessFull)
	st.readKey = st.newKey(server.DefaultAccount, billing.AccessRead)
	st.otherKey = st.newKey("globex", billing.AccessFull)
	st.srv = httptest.NewServer(server.Handler(s, config.Config{}, nil))
	t.Cleanup(st.srv.Close)
	return st
}

func (st *site) newKey(account string, access billing.Access) string {
	st.t.Helper()
	ctx := context.Background()
	acct, _, err := st.s.EnsureAccount(ctx, account)
	if err != nil {
		st.t.Fatal(err)
	}
	k := auth.NewKey()
	if err := st.s.CreateAPIKey(ctx, acct.ID, auth.Prefix(k), auth.Hash(k), access); err != nil {
		st.t.Fatal(err)
	}
	return k
}

// browser is a client with a cookie jar that does not follow redirects,
// sending the Origin a same-site form would.
type browser struct {
	t  *testing.T
	st *site
	c  *http.Client
}

func (st *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: st.t, st: st, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.st.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.st.srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(out)}
}

func (b *browser) get(path string) page { return b.do(http.MethodGet, path, nil) }

// signIn posts key to the sign-in form and expects to be sent home.
func (b *browser) signIn(key string) {
	b.t.Helper()
	p := b.do(http.MethodPost, "/login", url.Values{"key": {key}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		b.t.Fatalf("sign in: %d %s %q", p.status, p.header.Get("Location"), p.body)
	}
}

// api reads a /v1 answer with Basic auth.
func (st *site) api(key, path string, into any) {
	st.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, st.srv.URL+path, nil)
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		st.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := d.Decode(into); err != nil {
		st.t.Fatal(err)
	}
}

// apiCSV reads a /v1 CSV answer with the full key.
func (st *site) apiCSV(path string) [][]string {
	st.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, st.srv.URL+path, nil)
	req.SetBasicAuth(st.key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		st.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		st.t.Fatalf("GET %s: %v", path, err)
	}
	return rows
}

var (
	attrRe   = func(name string) *regexp.Regexp { return regexp.MustCompile(name + `="([^"]*)"`) }
	tileRe   = regexp.MustCompile(`data-metric="([^"]+)" data-value="([^"]*)" data-date="([^"]*)"`)
	csrfRe   = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
	cellRe   = regexp.MustCompile(`<td class="num[^"]*" data-key="([^"]+)" data-value="([^"]*)">(?:<a href="([^"]+)">)?`)
	inlineJS = regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`)
)

func attr(body, name string) string {
	m := attrRe(name).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestDashboard runs the dashboard's pages over the demo book on each
// store: what they show is what the API answers, and every template runs.
func TestDashboard(t *testing.T) {
	t.Parallel() // each installs the demo book of its own: the package ran 7 minutes under -race one by one
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		st := newSite(t, s)
		b := st.browser()
		b.signIn(st.key)

		t.Run("every page renders under a strict policy", func(t *testing.T) {
			var cus, act struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/customers?per_page=1", &cus)
			st.api(st.key, "/v1/activities?per_page=1", &act)
			pages := []string{"/", "/customers", "/customers?sort=-mrr&status=Active", "/customers/" + cus.Entries[0]["uuid"].(string),
				"/activities", "/activities?type=churn", "/activities/" + act.Entries[0]["uuid"].(string), "/settings", "/login"}
			for _, m := range []string{"mrr", "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv", "all", "cash-flow", "retention", "cmrr"} {
				pages = append(pages, "/metrics/"+m, "/metrics/"+m+"?start-date=2025-01-01&end-date=2025-12-31&interval=quarter")
			}
			for _, p := range pages {
				got := b.get(p)
				if got.status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", p, got.status, got.body)
				}
				csp := got.header.Get("Content-Security-Policy")
				if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
					t.Errorf("GET %s: CSP %q", p, csp)
				}
				if inlineJS.MatchString(got.body) || strings.Contains(got.body, " style=") || strings.Contains(got.body, " onclick=") {
					t.Errorf("GET %s: inline script or style in the page", p)
				}
			}
			// The error template: an unknown page and an API refusal.
			if got := b.get("/nowhere"); got.status != http.StatusNotFound || !strings.Contains(got.body, "Not found") {
				t.Errorf("unknown page: %d", got.status)
			}
			if got := b.get("/metrics/mrr?start-date=2025-13-01"); got.status != http.StatusBadRequest || !strings.Contains(got.body, "start-date must be a date") {
				t.Errorf("bad date: %d %s", got.status, got.body)
			}
		})

		t.Run("tiles are the API's values", func(t *testing.T) {
			home := b.get("/")
			q := url.Values{"start-date": {attr(home.body, "data-start-date")}, "end-date": {attr(home.body, "data-end-date")}, "interval": {attr(home.body, "data-interval")}}
			if q.Get("interval") != "month" {
				t.Fatalf("default interval %q", q.Get("interval"))
			}
			answers := map[string]struct {
				Entries []map[string]any `json:"entries"`
			}{}
			for _, name := range []string{"all", "mrr", "retention"} {
				a := answers[name]
				st.api(st.key, "/v1/metrics/"+name+"?"+q.Encode()+"&with_net_new=true", &a)
				answers[name] = a
			}
			source := map[string]string{"net-new-mrr": "mrr", "net-mrr-retention": "retention"}
			tiles := tileRe.FindAllStringSubmatch(home.body, -1)
			var metrics []string
			for _, tl := range tiles {
				metric, value, date := tl[1], tl[2], tl[3]
				metrics = append(metrics, metric)
				src := source[metric]
				if src == "" {
					src = "all"
				}
				i := slices.IndexFunc(answers[src].Entries, func(e map[string]any) bool { return e["date"] == date })
				if i < 0 {
					t.Errorf("tile %s: no API entry dated %q", metric, date)
					continue
				}
				if want := answers[src].Entries[i][metric].(json.Number).String(); value != want {
					t.Errorf("tile %s at %s: page %s, API %s", metric, date, value, want)
				}
			}
			want := []string{"mrr", "arr", "net-new-mrr", "customers", "arpa", "asp", "customer-churn-rate", "mrr-churn-rate", "net-mrr-retention", "ltv"}
			if !slices.Equal(metrics, want) {
				t.Errorf("tiles %v, want %v", metrics, want)
			}
		})

		t.Run("table, CSV and API agree; drill-downs add up", func(t *testing.T) {
			q := "start-date=2025-06-01&end-date=2026-11-30&interval=month"
			pg := b.get("/metrics/mrr?" + q)
			var api struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/metrics/mrr?"+q+"&with_net_new=true", &api)
			cells := cellRe.FindAllStringSubmatch(pg.body, -1)
			cols := 7 // mrr, five movements, net new
			if len(cells) != cols*len(api.Entries) {
				t.Fatalf("%d cells for %d entries", len(cells), len(api.Entries))
			}
			csvPage := b.get("/metrics/mrr.csv?" + q)
			if ct := csvPage.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Fatalf("CSV content type %q", ct)
			}
			rows, err := csv.NewReader(strings.NewReader(csvPage.body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(api.Entries)+1 {
				t.Fatalf("CSV has %d rows for %d entries", len(rows), len(api.Entries))
			}
			drilled := 0
			for i, e := range api.Entries {
				if rows[i+1][0] != e["date"] {
					t.Errorf("CSV row %d date %s, API %s", i, rows[i+1][0], e["date"])
				}
				for j := range cols {
					c := cells[i*cols+j]
					key, value, href := c[1], c[2], c[3]
					if want := e[key].(json.Number).String(); value != want || rows[i+1][j+1] != want || rows[0][j+1] != key {
						t.Errorf("%s %s: table %s, CSV %s (%s), API %s", e["date"], key, value, rows[i+1][j+1], rows[0][j+1], want)
					}
					if key == "mrr" || href == "" {
						continue
					}
					// A movement cell's activities add up to it.
					d := b.get(strings.ReplaceAll(href, "&amp;", "&"))
					if sum := attr(d.body, "data-sum"); sum != value {
						t.Errorf("%s %s: drill-down adds up to %q, cell %s (%s)", e["date"], key, sum, value, href)
					}
					drilled++
				}
			}
			if drilled != 6*len(api.Entries) {
				t.Errorf("%d movement cells linked, want %d", drilled, 6*len(api.Entries))
			}
		})

		t.Run("every metric CSV is the API's format=csv, digit for digit", func(t *testing.T) {
			// The dashboard's CSV (its table's columns, read through the
			// Reader) and the API's own (every column of the entries) are
			// written from the same answer: each column they share holds
			// the same text on every line.
			for _, q := range []string{"start-date=2025-06-01&end-date=2026-11-30&interval=month",
				"start-date=2023-01-01&end-date=2025-12-31&interval=quarter&geo=DE,FR,NL,ES,IE"} {
				for _, m := range []string{"mrr", "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv", "all", "cash-flow", "retention", "cmrr"} {
					extra := ""
					if m == "mrr" {
						extra = "&with_net_new=true" // the dashboard always asks it
					}
					page, api := b.get("/metrics/"+m+".csv?"+q), st.apiCSV("/v1/metrics/"+m+"?"+q+extra+"&format=csv")
					mine, err := csv.NewReader(strings.NewReader(page.body)).ReadAll()
					if err != nil || page.status != http.StatusOK || len(mine) < 2 {
						t.Fatalf("%s: %d %v %q", m, page.status, err, page.body)
					}
					if len(mine) != len(api) {
						t.Fatalf("%s: %d lines, the API's %d", m, len(mine), len(api))
					}
					for j, key := range mine[0] {
						k := slices.Index(api[0], key)
						if k < 0 {
							t.Errorf("%s: column %s is not in the API's CSV %q", m, key, api[0])
							continue
						}
						for i := 1; i < len(mine); i++ {
							if mine[i][j] != api[i][k] {
								t.Errorf("%s %s %s: dashboard %q, API %q", m, mine[i][0], key, mine[i][j], api[i][k])
							}
						}
					}
				}
			}
		})

		t.Run("committed MRR is MRR and the scheduled movements so far", func(t *testing.T) {
			// On every entry, filtered or not: cmrr − mrr is the sum of
			// the scheduled movements of the range up to that entry (the
			// range starts before any scheduled event).
			for _, f := range []string{"", "&geo=US", "&plans=demo-pro-monthly", "&geo=DE,FR&plans=demo-growth-annual,demo-pro-monthly"} {
				var c struct {
					Entries   []map[string]any `json:"entries"`
					Scheduled []map[string]any `json:"scheduled"`
				}
				st.api(st.key, "/v1/metrics/cmrr?start-date=2025-11-01&end-date=2028-12-31&interval=month"+f, &c)
				var run int64
				for _, e := range c.Entries {
					for _, k := range []string{"scheduled-new-business", "scheduled-expansion", "scheduled-contraction", "scheduled-churn", "scheduled-reactivation"} {
						n, _ := e[k].(json.Number).Int64()
						run += n
					}
					cm, _ := e["cmrr"].(json.Number).Int64()
					mrr, _ := e["mrr"].(json.Number).Int64()
					if cm-mrr != run {
						t.Errorf("%q %s: cmrr %d − mrr %d ≠ scheduled so far %d", f, e["date"], cm, mrr, run)
					}
				}
				if f == "" && (run == 0 || len(c.Scheduled) == 0) {
					t.Error("the demo has scheduled changes; none counted")
				}
				if !slices.IsSortedFunc(c.Scheduled, func(x, y map[string]any) int { return strings.Compare(x["date"].(string), y["date"].(string)) }) {
					t.Errorf("%q: scheduled changes out of date order", f)
				}
			}
		})

		t.Run("filters go to the API and turn drill-downs off", func(t *testing.T) {
			q := "start-date=2025-06-01&end-date=2026-11-30&interval=month&geo=US&plans=demo-pro-monthly"
			pg := b.get("/metrics/mrr?" + q)
			var api struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/metrics/mrr?"+q+"&with_net_new=true", &api)
			cells := cellRe.FindAllStringSubmatch(pg.body, -1)
			if len(cells) != 7*len(api.Entries) {
				t.Fatalf("%d cells for %d entries", len(cells), len(api.Entries))
			}
			for i, c := range cells {
				e := api.Entries[i/7]
				if want := e[c[1]].(json.Number).String(); c[2] != want || c[3] != "" {
					t.Errorf("%s %s: table %s (link %q), API %s", e["date"], c[1], c[2], c[3], want)
				}
			}
			if !strings.Contains(pg.body, `value="US"`) || !strings.Contains(pg.body, `value="demo-pro-monthly"`) {
				t.Error("the filters are not kept in the form")
			}
		})
	})
}

// TestSignInAndSecurity covers sessions, keys, CSRF and share links.
func TestSignInAndSecurity(t *testing.T) {
	t.Parallel() // each installs the demo book of its own: the package ran 7 minutes under -race one by one
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		st := newSite(t, s)

		t.Run("nothing without a session", func(t *testing.T) {
			b := st.browser()
			for _, p := range []string{"/", "/customers", "/metrics/mrr", "/metrics/mrr.csv", "/settings", "/activities"} {
				if got := b.get(p); got.status != http.StatusSeeOther || got.header.Get("Location") != "/login" {
					t.Errorf("GET %s without a session: %d %s", p, got.status, got.header.Get("Location"))
				}
			}
			if got := b.do(http.MethodGet, "/live", nil, "X-Tally-Live", "1"); got.status != http.StatusUnauthorized {
				t.Errorf("live poll without a session: %d", got.status)
			}
			if got := b.do(http.MethodPost, "/login", url.Values{"key": {"tly_" + strings.Repeat("0", 48)}}); got.status != http.StatusUnauthorized || !strings.Contains(got.body, "not a valid API key") {
				t.Errorf("bad key: %d", got.status)
			}
			// The API keeps its own answer.
			if got := b.get("/v1/ping"); got.status != http.StatusUnauthorized || !strings.Contains(got.body, "No valid API key") {
				t.Errorf("API without a key: %d %s", got.status, got.body)
			}
		})

		t.Run("session cookie and sign-out", func(t *testing.T) {
			b := st.browser()
			p := b.do(http.MethodPost, "/login", url.Values{"key": {st.key}})
			cookie := p.header.Get("Set-Cookie")
			for _, want := range []string{"tally_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
				if !strings.Contains(cookie, want) {
					t.Errorf("cookie %q lacks %s", cookie, want)
				}
			}
			if strings.Contains(cookie, st.key) || strings.Contains(b.get("/settings").body, st.key) {
				t.Error("the key reached the browser")
			}
			csrf := csrfRe.FindStringSubmatch(b.get("/").body)[1]
			if got := b.do(http.MethodPost, "/logout", url.Values{"csrf": {csrf}}); got.status != http.StatusSeeOther {
				t.Fatalf("sign out: %d", got.status)
			}
			if got := b.get("/"); got.status != http.StatusSeeOther {
				t.Errorf("after sign-out: %d", got.status)
			}
		})

		t.Run("forgery refused", func(t *testing.T) {
			b := st.browser()
			b.signIn(st.key)
			csrf := csrfRe.FindStringSubmatch(b.get("/settings").body)[1]
			if got := b.do(http.MethodPost, "/settings/share", url.Values{"name": {"x"}}); got.status != http.StatusForbidden {
				t.Errorf("POST without the token: %d", got.status)
			}
			if got := b.do(http.MethodPost, "/settings/share", url.Values{"name": {"x"}, "csrf": {csrf}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); got.status != http.StatusForbidden {
				t.Errorf("cross-site POST with the token: %d", got.status)
			}
			links, _ := st.s.ShareLinks(context.Background(), st.acct.ID)
			if len(links) != 0 {
				t.Errorf("a refused POST made %d links", len(links))
			}
		})

		t.Run("read key is read-only", func(t *testing.T) {
			b := st.browser()
			b.signIn(st.readKey)
			pg := b.get("/settings")
			if !strings.Contains(pg.body, "read-only") {
				t.Error("the read-only sign-in is not said")
			}
			csrf := csrfRe.FindStringSubmatch(pg.body)[1]
			if got := b.do(http.MethodPost, "/settings/share", url.Values{"name": {"x"}, "csrf": {csrf}}); got.status != http.StatusForbidden {
				t.Errorf("read key POST: %d", got.status)
			}
		})

		t.Run("revoking the key ends the session", func(t *testing.T) {
			k := st.newKey(server.DefaultAccount, billing.AccessFull)
			b := st.browser()
			b.signIn(k)
			if got := b.get("/"); got.status != http.StatusOK {
				t.Fatalf("signed in: %d", got.status)
			}
			if err := st.s.RevokeAPIKeyByHash(context.Background(), auth.Hash(k)); err != nil {
				t.Fatal(err)
			}
			if got := b.get("/"); got.status != http.StatusSeeOther || got.header.Get("Location") != "/login" {
				t.Errorf("after revoking: %d", got.status)
			}
		})

		t.Run("accounts apart", func(t *testing.T) {
			var cus struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/customers?per_page=1", &cus)
			b := st.browser()
			b.signIn(st.otherKey)
			if got := b.get("/customers/" + cus.Entries[0]["uuid"].(string)); got.status != http.StatusNotFound {
				t.Errorf("another account's customer: %d", got.status)
			}
			if got := b.get("/customers"); strings.Contains(got.body, cus.Entries[0]["name"].(string)) {
				t.Error("another account's customer listed")
			}
			// An account with no data at all: every page still renders.
			for _, p := range []string{"/", "/metrics/mrr", "/metrics/all", "/metrics/cash-flow", "/metrics/retention", "/metrics/cmrr",
				"/metrics/ltv.csv", "/customers", "/customers.csv", "/activities", "/activities?start-date=2025-01-01", "/settings"} {
				if got := b.get(p); got.status != http.StatusOK {
					t.Errorf("empty account, GET %s: %d %s", p, got.status, got.body)
				}
			}
		})

		t.Run("share link hides names and dies on revoke", func(t *testing.T) {
			b := st.browser()
			b.signIn(st.key)
			csrf := csrfRe.FindStringSubmatch(b.get("/settings").body)[1]
			made := b.do(http.MethodPost, "/settings/share", url.Values{"name": {"Board"}, "csrf": {csrf}})
			link := regexp.MustCompile(`value="(http[^"]+/share/[0-9a-f]+/)"`).FindStringSubmatch(made.body)
			if made.status != http.StatusOK || link == nil {
				t.Fatalf("create share link: %d", made.status)
			}
			path := strings.TrimPrefix(link[1], st.srv.URL)
			var cus struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/customers?per_page=200", &cus)
			anon := st.browser()
			for _, p := range []string{"", "customers", "customers/" + cus.Entries[0]["uuid"].(string), "activities", "metrics/mrr", "customers.csv", "activities.csv"} {
				got := anon.get(path + p)
				if got.status != http.StatusOK {
					t.Fatalf("shared %s: %d %s", p, got.status, got.body)
				}
				for _, c := range cus.Entries {
					for _, f := range []string{"name", "email"} {
						if v, _ := c[f].(string); v != "" && strings.Contains(got.body, v) {
							t.Fatalf("shared %s shows the %s %q", p, f, v)
						}
					}
				}
				if !strings.HasSuffix(p, ".csv") && !strings.Contains(got.body, `href="`+path) {
					t.Errorf("shared %s links outside the share", p)
				}
			}
			// Sources of every kind of movement: no external id (the
			// demo's all start with the customer's, demo-cus-…).
			for _, typ := range []string{"new_biz", "expansion", "contraction", "churn", "reactivation"} {
				var acts struct {
					Entries []map[string]any `json:"entries"`
				}
				st.api(st.key, "/v1/activities?per_page=5&type="+typ, &acts)
				for _, a := range acts.Entries {
					got := anon.get(path + "activities/" + a["uuid"].(string))
					if got.status != http.StatusOK || strings.Contains(got.body, "demo-cus-") || strings.Contains(got.body, "map[") {
						t.Errorf("shared %s activity: %d, shows an external id or a raw map", typ, got.status)
					}
				}
			}
			for _, p := range []string{"customers?sort=name", "customers?q=son"} {
				if got := anon.get(path + p); got.status != http.StatusOK || strings.Contains(got.body, "demo-cus-") {
					t.Errorf("shared %s: %d", p, got.status)
				}
			}
			if got := anon.get(path + "settings"); got.status != http.StatusNotFound {
				t.Errorf("shared settings: %d", got.status)
			}
			if got := anon.do(http.MethodPost, path+"settings/share", url.Values{"name": {"x"}}); got.status != http.StatusForbidden {
				t.Errorf("POST through a share link: %d", got.status)
			}
			links, err := st.s.ShareLinks(context.Background(), st.acct.ID)
			if err != nil || len(links) == 0 {
				t.Fatal(err)
			}
			if got := b.do(http.MethodPost, "/settings/share/"+links[0].UUID+"/revoke", url.Values{"csrf": {csrf}}); got.status != http.StatusSeeOther {
				t.Fatalf("revoke: %d", got.status)
			}
			if got := anon.get(path); got.status != http.StatusNotFound {
				t.Errorf("revoked share link: %d", got.status)
			}
		})

		t.Run("sign-in link is one-time", func(t *testing.T) {
			k, _, err := st.s.KeyByHash(context.Background(), auth.Hash(st.readKey))
			if err != nil {
				t.Fatal(err)
			}
			u, err := server.SignInLink(context.Background(), st.s, k.ID, st.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			path := strings.TrimPrefix(u, st.srv.URL)
			b := st.browser()
			// Opening it spends nothing (a link preview fetches it); its
			// button signs in.
			for range 2 {
				if got := b.get(path); got.status != http.StatusOK || !strings.Contains(got.body, `action="`+path+`"`) {
					t.Fatalf("sign-in link page: %d", got.status)
				}
			}
			if got := b.do(http.MethodPost, path, url.Values{}); got.status != http.StatusSeeOther || got.header.Get("Location") != "/" {
				t.Fatalf("sign-in link: %d", got.status)
			}
			if got := b.get("/"); got.status != http.StatusOK || !strings.Contains(got.body, "read-only") {
				t.Errorf("after the link: %d", got.status)
			}
			if got := st.browser().do(http.MethodPost, path, url.Values{}); got.status != http.StatusUnauthorized {
				t.Errorf("second use: %d", got.status)
			}
			// From another site, the button is refused.
			if got := st.browser().do(http.MethodPost, path, url.Values{}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); got.status != http.StatusForbidden {
				t.Errorf("cross-site sign-in: %d", got.status)
			}
		})

		t.Run("sign-in attempts are limited", func(t *testing.T) {
			b := st.browser()
			limited := false
			for range 30 {
				if got := b.do(http.MethodPost, "/login", url.Values{"key": {"wrong"}}); got.status == http.StatusTooManyRequests {
					limited = true
					break
				}
			}
			if !limited {
				t.Error("30 bad sign-ins in a row were all answered")
			}
		})
	})
}
