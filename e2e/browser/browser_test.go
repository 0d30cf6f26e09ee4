package browser

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tally-analytics/tally/internal/auth"
)

// TestDashboard is issue 11's browser suite: the real binary serving the
// demo book, a real chromium, and every number on a page compared with the
// API's answer for the same period. One server and one browser serve every
// subtest; the subtests run in order (the live one writes).
func TestDashboard(t *testing.T) {
	start := time.Now()
	br := startBrowser(t)
	e := &env{br: br, srv: startServer(t), artifacts: artifactDir(t)}
	t.Logf("server and browser up in %s", time.Since(start).Round(time.Millisecond))
	// The main tab is signed in with the bootstrap key, in the browser's
	// default context; tabs that must not share its cookie get their own.
	main := e.br.newTab(t, "main", false)
	e.signInTab(t, main, e.srv.key)

	t.Run("Pages", func(t *testing.T) { testPages(t, e, main) })
	t.Run("PeriodKeys", func(t *testing.T) { testPeriodKeys(t, e, main) })
	t.Run("Home", func(t *testing.T) { testHome(t, e, main) })
	t.Run("DrillDown", func(t *testing.T) { testDrillDown(t, e, main) })
	t.Run("BarClick", func(t *testing.T) { testBarClick(t, e, main) })
	t.Run("CSV", func(t *testing.T) { testCSV(t, e, main) })
	t.Run("CustomerFilters", func(t *testing.T) { testCustomerFilters(t, e, main) })
	t.Run("FilterBuilder", func(t *testing.T) { testFilterBuilder(t, e, main) })
	t.Run("Segments", func(t *testing.T) { testSegments(t, e, main) })
	t.Run("Cohorts", func(t *testing.T) { testCohorts(t, e, main) })
	t.Run("SignIn", func(t *testing.T) { testSignIn(t, e) })
	t.Run("ReadOnly", func(t *testing.T) { testReadOnly(t, e, main) })
	t.Run("RevokedKey", func(t *testing.T) { testRevokedKey(t, e) })
	t.Run("CSRF", func(t *testing.T) { testCSRF(t, e, main) })
	t.Run("ShareLink", func(t *testing.T) { testShareLink(t, e, main) })
	t.Run("Live", func(t *testing.T) { testLive(t, e, main) })
	t.Logf("browser suite: %s", time.Since(start).Round(time.Millisecond))
}

// signInTab signs tb in through the real form.
func (e *env) signInTab(t *testing.T, tb *tab, key string) {
	t.Helper()
	if status, _ := tb.navigate(t, e.srv.base+"/login"); status != http.StatusOK {
		t.Fatalf("GET /login: %d", status)
	}
	run(t, tb, chromedp.SendKeys(chromedp.ID("key"), key))
	if status, path := tb.click(t, `form[action="/login"] button[type=submit]`); status != http.StatusOK || path != "/" {
		t.Fatalf("signing in ended on %s with %d", path, status)
	}
	tb.waitReady(t)
}

// metricPages are the pages of the Metrics API's nine and Tally's own
// three, by their API names.
var metricPages = []string{"mrr", "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv",
	"all", "cash-flow", "retention", "cmrr"}

// docShots are the pages whose screenshots docs/screenshots keeps.
var docShots = map[string]string{"overview": "overview", "metrics-mrr": "mrr", "customer": "customer", "activities": "activities"}

// demoCustomer is a customer with a history worth showing: the one with
// the most movements among the latest activities.
func demoCustomer(t *testing.T, s *server) string {
	t.Helper()
	n := map[string]int{}
	best := ""
	for _, a := range entries(t, s.get(t, "/v1/activities", url.Values{"order": {"-date"}, "per_page": {"200"}})) {
		c := text(a["customer-uuid"])
		if n[c]++; best == "" || n[c] > n[best] {
			best = c
		}
	}
	if best == "" {
		t.Fatal("the demo has no activities")
	}
	return best
}

// demoActivity is the latest activity.
func demoActivity(t *testing.T, s *server) string {
	t.Helper()
	acts := entries(t, s.get(t, "/v1/activities", url.Values{"order": {"-date"}, "per_page": {"1"}}))
	if len(acts) == 0 {
		t.Fatal("the demo has no activities")
	}
	return text(acts[0]["uuid"])
}

// testPages loads every page: each answers 200, draws its charts with no
// script error, and is photographed. The metric pages' charts, tables and
// CSV files are compared with the API; the customer list, a customer and
// the activity feed with theirs.
func testPages(t *testing.T, e *env, tb *tab) {
	cus, act := demoCustomer(t, e.srv), demoActivity(t, e.srv)
	type pg struct{ name, path string }
	pages := []pg{{"overview", "/"}}
	for _, m := range metricPages {
		pages = append(pages, pg{"metrics-" + m, "/metrics/" + m})
	}
	pages = append(pages, pg{"customers", "/customers"}, pg{"customer", "/customers/" + cus},
		pg{"activities", "/activities"}, pg{"activity", "/activities/" + act}, pg{"settings", "/settings"})
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			tb.open(t, e.srv.base+p.path)
			if title := eval[string](t, tb, `document.title`); strings.HasPrefix(title, "Error") || strings.HasPrefix(title, "Not found") {
				t.Errorf("%s: title %q", p.path, title)
			}
			tb.screenshot(t, filepath.Join(e.artifacts, p.name+".png"))
			checkPeriodLinks(t, tb)
			if doc, ok := docShots[p.name]; ok && *updateScreenshots {
				saveDocShot(t, tb, doc)
			}
			switch {
			case strings.HasPrefix(p.path, "/metrics/"):
				name := strings.TrimPrefix(p.path, "/metrics/")
				checkMetricPage(t, e, tb, name)
			case p.name == "customers":
				checkCustomerList(t, e, tb)
			case p.name == "customer":
				c := e.srv.get(t, "/v1/customers/"+cus, nil)
				got := eval[string](t, tb, `document.querySelector('[data-metric="mrr"]').dataset.value`)
				if got != text(c["mrr"]) {
					t.Errorf("customer %s: MRR tile %s, API %s", cus, got, text(c["mrr"]))
				}
				checkDrawn(t, tb)
				checkMoneyCells(t, tb, ".invoice td.num")
			case p.name == "activities":
				want := entries(t, e.srv.get(t, "/v1/activities", url.Values{"order": {"-date"}, "per_page": {"50"}}))
				checkActivityRows(t, tb, want)
			case p.name == "activity":
				got := eval[[]string](t, tb, `Array.from(document.querySelectorAll("#sources tbody tr")).map(tr => tr.cells[0].textContent)`)
				if len(got) == 0 || got[0] == "" || slices.Contains(got, "No sources recorded.") {
					t.Errorf("activity %s: sources %q", act, got)
				}
				checkMoneyCells(t, tb, ".invoice td.num")
			}
		})
	}
}

// checkPeriodLinks: every link of the period controls (←, →, the
// presets) names a whole period in the API's parameters.
func checkPeriodLinks(t *testing.T, tb *tab) {
	t.Helper()
	for _, href := range eval[[]string](t, tb, `Array.from(document.querySelectorAll("form.period a")).map(a => a.href)`) {
		u, err := url.Parse(href)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		_, err1 := time.Parse(time.DateOnly, q.Get("start-date"))
		_, err2 := time.Parse(time.DateOnly, q.Get("end-date"))
		if err1 != nil || err2 != nil || !slices.Contains([]string{"day", "week", "month", "quarter", "year"}, q.Get("interval")) {
			t.Errorf("period link %s: not a period", href)
		}
	}
}

// testPeriodKeys: ← shows the period of the same length just before.
func testPeriodKeys(t *testing.T, e *env, tb *tab) {
	tb.open(t, e.srv.base+"/metrics/mrr")
	before := pagePeriod(t, tb)
	ctx, cancel := tabTimeout(tb)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(kb.ArrowLeft))
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("← : %v %v", res, err)
	}
	tb.waitReady(t)
	after := pagePeriod(t, tb)
	start, _ := time.Parse(time.DateOnly, before.Get("start-date"))
	if want := start.AddDate(0, 0, -1).Format(time.DateOnly); after.Get("end-date") != want || after.Get("interval") != before.Get("interval") {
		t.Errorf("← from %v went to %v; want a period ending %s", before, after, want)
	}
	checkMetricPage(t, e, tb, "mrr")
}

// checkMoneyCells: every amount the selector finds is written with its
// currency's sign (an invoice line has no currency of its own: its
// invoice's is the one).
func checkMoneyCells(t *testing.T, tb *tab, sel string) {
	t.Helper()
	cells := eval[[]string](t, tb, fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(td => td.textContent)`, sel))
	if len(cells) == 0 {
		t.Errorf("no %s on the page", sel)
	}
	for _, c := range cells {
		if !moneyText.MatchString(c) {
			t.Errorf("%s: amount %q has no currency sign", sel, c)
		}
	}
}

var moneyText = regexp.MustCompile(`^-?[^\d\s-]+ ?\d[\d,]*(\.\d+)?$`)

// saveDocShot writes the top 1000 px of the page to docs/screenshots.
func saveDocShot(t *testing.T, tb *tab, name string) {
	t.Helper()
	h := eval[float64](t, tb, `Math.min(document.documentElement.scrollHeight, 1000)`)
	png := run(t, tb, chromedp.Action[[]byte](func(ctx context.Context, tt *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, tt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true), FromSurface: new(true),
			Clip: &page.Viewport{X: 0, Y: 0, Width: 1280, Height: h, Scale: 1}})
		return res.Data, err
	}))
	if len(png) > 300<<10 {
		t.Errorf("docs/screenshots/%s.png would be %d KB; keep it under 300", name, len(png)>>10)
	}
	path := filepath.Join("..", "..", "docs", "screenshots", name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d KB)", path, len(png)>>10)
}

// chartSpec is a chart's data-chart JSON, numbers as the server wrote them.
type chartSpec struct {
	Kind   string   `json:"kind"`
	Dates  []string `json:"dates"`
	Series []struct {
		Key    string        `json:"key"`
		Label  string        `json:"label"`
		Role   string        `json:"role"`
		Values []json.Number `json:"values"`
		Links  []string      `json:"links"`
	} `json:"series"`
}

func parseSpec(t *testing.T, s string) chartSpec {
	t.Helper()
	var c chartSpec
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&c); err != nil {
		t.Fatalf("data-chart %q: %v", s, err)
	}
	return c
}

// checkSpec compares a chart's series with the API's entries: the same
// dates, and each series' value at each date the API's.
func checkSpec(t *testing.T, what string, c chartSpec, api []map[string]any, keys ...string) {
	t.Helper()
	var dates []string
	for _, e := range api {
		dates = append(dates, text(e["date"]))
	}
	if !slices.Equal(c.Dates, dates) {
		t.Errorf("%s: chart dates %v, API %v", what, c.Dates, dates)
	}
	var got []string
	for _, s := range c.Series {
		got = append(got, s.Key)
		if len(s.Values) != len(api) {
			t.Errorf("%s: series %s has %d values, the API %d entries", what, s.Key, len(s.Values), len(api))
			continue
		}
		for i, v := range s.Values {
			if want := text(api[i][s.Key]); v.String() != want {
				t.Errorf("%s: series %s at %s is %s, API %q", what, s.Key, dates[i], v, want)
			}
		}
	}
	if len(keys) > 0 && !slices.Equal(got, keys) {
		t.Errorf("%s: series %v, want %v", what, got, keys)
	}
}

// drawn is a uPlot instance as the page drew it.
type drawn struct {
	ID     string      `json:"id"`
	Spec   string      `json:"spec"`
	Labels []string    `json:"labels"`
	Data   [][]float64 `json:"data"`
}

// checkDrawn checks that every chart of the page drew its data: a line or
// bar series' points are its values; a stacked movement segment's top is
// the running total of its group (gains, losses) up to it, so each
// segment spans exactly its own value.
func checkDrawn(t *testing.T, tb *tab) {
	t.Helper()
	charts := eval[[]drawn](t, tb, `tallyCharts().map(u => ({id: u.root.parentElement.id, spec: u.root.parentElement.dataset.chart,
		labels: u.series.map(s => s.label || ""), data: u.data}))`)
	n := eval[int](t, tb, `document.querySelectorAll("[data-chart]").length`)
	if len(charts) != n {
		t.Errorf("%d charts drawn of %d", len(charts), n)
	}
	for _, c := range charts {
		spec := parseSpec(t, c.Spec)
		what := fmt.Sprintf("chart %s (%s)", c.ID, spec.Kind)
		if len(c.Data) == 0 || len(c.Data[0]) != len(spec.Dates) {
			t.Errorf("%s: drew %d points for %d dates", what, len(c.Data[0]), len(spec.Dates))
			continue
		}
		seen := map[string]bool{}
		for j := 1; j < len(c.Data); j++ {
			k := slices.IndexFunc(spec.Series, func(s struct {
				Key    string        `json:"key"`
				Label  string        `json:"label"`
				Role   string        `json:"role"`
				Values []json.Number `json:"values"`
				Links  []string      `json:"links"`
			}) bool {
				return s.Label == c.Labels[j]
			})
			if k < 0 {
				t.Errorf("%s: drew a series %q it has no data for", what, c.Labels[j])
				continue
			}
			s := spec.Series[k]
			seen[s.Key] = true
			for i := range spec.Dates {
				want := num(t, s.Values[i])
				if spec.Kind == "movements" && (s.Role == "gain" || s.Role == "loss") {
					want = 0
					for _, o := range spec.Series[:k+1] {
						if o.Role == s.Role && o.Key != "net-new-mrr" {
							want += num(t, o.Values[i])
						}
					}
				}
				if c.Data[j][i] != want {
					t.Errorf("%s: series %s at %s drawn at %v, want %v", what, s.Key, spec.Dates[i], c.Data[j][i], want)
				}
			}
		}
		for _, s := range spec.Series {
			if !seen[s.Key] && s.Key != "net-new-mrr" {
				t.Errorf("%s: series %s not drawn", what, s.Key)
			}
		}
	}
}

func num(t *testing.T, n json.Number) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil {
		t.Fatalf("value %q: %v", n, err)
	}
	return f
}

// pagePeriod is the period the page shows, and its selection (filters,
// segment) if it has one, as the API's parameters.
func pagePeriod(t *testing.T, tb *tab) url.Values {
	t.Helper()
	p := eval[map[string]string](t, tb, `({"start-date": document.body.dataset.startDate, "end-date": document.body.dataset.endDate,
		interval: document.body.dataset.interval})`)
	q := url.Values{}
	for k, v := range p {
		if v == "" {
			t.Fatalf("the page has no %s", k)
		}
		q.Set(k, v)
	}
	sel := eval[map[string]string](t, tb, `({filters: document.body.dataset.filters || "", segment: document.body.dataset.segment || ""})`)
	for k, v := range sel {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// cell is a metric table's cell.
type cell struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Href  string `json:"href"`
}

type tableRow struct {
	Date  string `json:"date"`
	Cells []cell `json:"cells"`
}

func (r tableRow) cell(key string) (cell, bool) {
	i := slices.IndexFunc(r.Cells, func(c cell) bool { return c.Key == key })
	if i < 0 {
		return cell{}, false
	}
	return r.Cells[i], true
}

func readTable(t *testing.T, tb *tab) ([]string, []tableRow) {
	t.Helper()
	keys := eval[[]string](t, tb, `Array.from(document.querySelectorAll("#metric-table thead th[data-key]")).map(th => th.dataset.key)`)
	rows := eval[[]tableRow](t, tb, `Array.from(document.querySelectorAll("#metric-table tbody tr")).map(tr => ({
		date: tr.cells[0].textContent.trim(),
		cells: Array.from(tr.querySelectorAll("td[data-key]")).map(td => ({key: td.dataset.key, value: td.dataset.value,
			href: td.querySelector("a") ? td.querySelector("a").href : ""}))}))`)
	return keys, rows
}

// checkMetricPage compares a metric page with the API for its period:
// the chart's series and what uPlot drew, the table, and the CSV behind
// the page's own link.
func checkMetricPage(t *testing.T, e *env, tb *tab, name string) {
	t.Helper()
	q := pagePeriod(t, tb)
	api := entries(t, e.srv.get(t, "/v1/metrics/"+name, q))
	if len(api) == 0 {
		t.Fatalf("/v1/metrics/%s?%s has no entries", name, q.Encode())
	}
	spec := parseSpec(t, eval[string](t, tb, `document.getElementById("metric-chart").dataset.chart`))
	checkSpec(t, name+" chart", spec, api)
	checkDrawn(t, tb)
	keys, rows := readTable(t, tb)
	checkTable(t, name, keys, rows, api)
	checkCSVLink(t, tb, "/metrics/"+name+".csv", q, keys, rows)
}

// checkTable compares a metric table with the API's entries.
func checkTable(t *testing.T, name string, keys []string, rows []tableRow, api []map[string]any) {
	t.Helper()
	if len(rows) != len(api) {
		t.Fatalf("%s: table has %d rows, the API %d entries", name, len(rows), len(api))
	}
	for i, r := range rows {
		if want := text(api[i]["date"]); r.Date != want {
			t.Errorf("%s: row %d is %s, API %s", name, i, r.Date, want)
		}
		for _, k := range keys {
			c, ok := r.cell(k)
			if !ok {
				t.Errorf("%s %s: no %s cell", name, r.Date, k)
				continue
			}
			if want, ok := api[i][k]; !ok || c.Value != text(want) {
				t.Errorf("%s %s: %s cell %q, API %q (present %v)", name, r.Date, k, c.Value, text(want), ok)
			}
		}
	}
}

// checkCSVLink follows the page's CSV link: it is path with the page's
// query, and the file's rows are the table's cells, digit for digit.
func checkCSVLink(t *testing.T, tb *tab, path string, q url.Values, keys []string, rows []tableRow) {
	t.Helper()
	href := eval[string](t, tb, `document.querySelector('h1 a.more[href*=".csv"]').href`)
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != path || !sameQuery(u.Query(), q) {
		t.Errorf("CSV link %s: want %s?%s", href, path, q.Encode())
	}
	recs := fetchCSV(t, tb, href)
	if want := append([]string{"date"}, keys...); len(recs) == 0 || !slices.Equal(recs[0], want) {
		t.Fatalf("%s: CSV header %v, table %v", path, recs[:min(1, len(recs))], want)
	}
	if len(recs)-1 != len(rows) {
		t.Fatalf("%s: CSV has %d rows, the table %d", path, len(recs)-1, len(rows))
	}
	for i, r := range rows {
		want := []string{r.Date}
		for _, k := range keys {
			c, _ := r.cell(k)
			want = append(want, c.Value)
		}
		if !slices.Equal(recs[i+1], want) {
			t.Errorf("%s: CSV row %v, table %v", path, recs[i+1], want)
		}
	}
}

// sameQuery: every parameter of want has the same values in got, and got
// has no other.
func sameQuery(got, want url.Values) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			return false
		}
	}
	return true
}

// fetchCSV downloads a CSV file with the tab's cookie.
func fetchCSV(t *testing.T, tb *tab, href string) [][]string {
	t.Helper()
	res := eval[struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}](t, tb, fmt.Sprintf(`fetch(%q).then(r => r.text().then(b => ({status: r.status, type: r.headers.get("Content-Type"), body: b})))`, href))
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Type, "text/csv") {
		t.Fatalf("GET %s: %d %s: %.200s", href, res.Status, res.Type, res.Body)
	}
	recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", href, err)
	}
	return recs
}

// checkCustomerList compares the customer list with the API's first page.
func checkCustomerList(t *testing.T, e *env, tb *tab) {
	t.Helper()
	want := entries(t, e.srv.get(t, "/v1/customers", url.Values{"per_page": {"50"}}))
	got := eval[[][2]string](t, tb, `Array.from(document.querySelectorAll("#customers-table tbody tr[data-uuid]")).map(tr =>
		[tr.dataset.uuid, tr.querySelector("td[data-value]").dataset.value])`)
	if len(got) != len(want) {
		t.Fatalf("customers: %d rows, the API %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i] != [2]string{text(w["uuid"]), text(w["mrr"])} {
			t.Errorf("customers row %d: %v, API %s %s", i, got[i], text(w["uuid"]), text(w["mrr"]))
		}
	}
}

// checkActivityRows compares an activity table with the API's entries.
func checkActivityRows(t *testing.T, tb *tab, want []map[string]any) {
	t.Helper()
	got := eval[[][2]string](t, tb, `Array.from(document.querySelectorAll("table.activities tbody tr[data-uuid]")).map(tr =>
		[tr.dataset.uuid, tr.querySelector("td[data-value]").dataset.value])`)
	if len(got) != len(want) {
		t.Fatalf("activities: %d rows, the API %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i] != [2]string{text(w["uuid"]), text(w["activity-mrr-movement"])} {
			t.Errorf("activity row %d: %v, API %s %s", i, got[i], text(w["uuid"]), text(w["activity-mrr-movement"]))
		}
	}
}

// tile is a KPI tile of the home page.
type tile struct {
	Metric string `json:"metric"`
	Value  string `json:"value"`
	Date   string `json:"date"`
	Spark  string `json:"spark"`
}

// testHome: each tile shows the API's value for the page's period at the
// entry of its date (a stock at the period's last entry; a flow at the
// last, or at the one before while the last is unfinished), its
// sparkline the API's series; the MRR chart is /v1/metrics/mrr's.
func testHome(t *testing.T, e *env, tb *tab) {
	tb.open(t, e.srv.base+"/")
	q := pagePeriod(t, tb)
	answers := map[string][]map[string]any{}
	for _, name := range []string{"all", "mrr", "retention"} {
		answers[name] = entries(t, e.srv.get(t, "/v1/metrics/"+name, q))
	}
	tiles := eval[[]tile](t, tb, `Array.from(document.querySelectorAll(".tile")).map(e => ({metric: e.dataset.metric,
		value: e.dataset.value, date: e.dataset.date, spark: e.querySelector("[data-chart]").dataset.chart}))`)
	want := []struct {
		metric, source string
		stock          bool
	}{
		{"mrr", "all", true}, {"arr", "all", true}, {"net-new-mrr", "mrr", false}, {"customers", "all", true},
		{"arpa", "all", true}, {"asp", "all", false}, {"customer-churn-rate", "all", false},
		{"mrr-churn-rate", "all", false}, {"net-mrr-retention", "retention", false}, {"ltv", "all", false},
	}
	var got []string
	for _, tl := range tiles {
		got = append(got, tl.Metric)
	}
	var names []string
	for _, w := range want {
		names = append(names, w.metric)
	}
	if !slices.Equal(got, names) {
		t.Errorf("tiles %v, want %v", got, names)
	}
	for _, w := range want {
		i := slices.IndexFunc(tiles, func(tl tile) bool { return tl.Metric == w.metric })
		if i < 0 {
			continue
		}
		tl, api := tiles[i], answers[w.source]
		n := len(api)
		j := slices.IndexFunc(api, func(e map[string]any) bool { return text(e["date"]) == tl.Date })
		switch {
		case j < 0:
			t.Errorf("tile %s is of %q, which is no entry of /v1/metrics/%s", w.metric, tl.Date, w.source)
			continue
		case w.stock && j != n-1, !w.stock && j < n-2:
			t.Errorf("tile %s is of %s, entry %d of %d", w.metric, tl.Date, j+1, n)
		}
		if v := text(api[j][w.metric]); tl.Value != v {
			t.Errorf("tile %s at %s: %q, API %q", w.metric, tl.Date, tl.Value, v)
		}
		// A sparkline is the API's series up to the tile's entry: a
		// flow's stops at the last finished period.
		checkSpec(t, "sparkline "+w.metric, parseSpec(t, tl.Spark), api[:j+1], w.metric)
	}
	spec := parseSpec(t, eval[string](t, tb, `document.getElementById("mrr-chart").dataset.chart`))
	checkSpec(t, "MRR chart", spec, answers["mrr"],
		"mrr-new-business", "mrr-expansion", "mrr-reactivation", "mrr-contraction", "mrr-churn", "mrr")
	checkDrawn(t, tb)
}

// movementTypes are the activity types each movement column drills into.
var movementTypes = map[string]string{"mrr-new-business": "new_biz", "mrr-expansion": "expansion",
	"mrr-reactivation": "reactivation", "mrr-contraction": "contraction", "mrr-churn": "churn", "net-new-mrr": ""}

// span is the dates row i of a table covers: from the day after the row
// before (the range's start for the first) to its own date.
func span(t *testing.T, rows []tableRow, i int, start string) (string, string) {
	t.Helper()
	if i == 0 {
		return start, rows[0].Date
	}
	d, err := time.Parse(time.DateOnly, rows[i-1].Date)
	if err != nil {
		t.Fatal(err)
	}
	return d.AddDate(0, 0, 1).Format(time.DateOnly), rows[i].Date
}

// checkDrill checks that the tab shows the activities of the period and
// type, and that their movements add up to want: the API's total over
// every page, and the rows themselves when they fit on one page.
func checkDrill(t *testing.T, tb *tab, typ, from, to, want string) {
	t.Helper()
	q := eval[map[string]string](t, tb, `Object.fromEntries(new URLSearchParams(location.search))`)
	if path := eval[string](t, tb, `location.pathname`); path != "/activities" || q["type"] != typ || q["start-date"] != from || q["end-date"] != to {
		t.Errorf("drill-down went to %s %v; want /activities of type %q from %s to %s", path, q, typ, from, to)
	}
	total := eval[map[string]string](t, tb, `({...document.getElementById("drill-total").dataset})`)
	if total["sum"] != want {
		t.Errorf("drill-down %s %s..%s: movements add up to %s, the cell says %s", typ, from, to, total["sum"], want)
	}
	count, err := strconv.Atoi(total["count"])
	if err != nil {
		t.Fatalf("drill-down count %q: %v", total["count"], err)
	}
	values := eval[[]string](t, tb, `Array.from(document.querySelectorAll("table.activities tbody td[data-value]")).map(td => td.dataset.value)`)
	if count <= 50 {
		var sum int64
		for _, v := range values {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("movement %q: %v", v, err)
			}
			sum += n
		}
		if len(values) != count || strconv.FormatInt(sum, 10) != want {
			t.Errorf("drill-down %s %s..%s: %d rows adding up to %d; the total says %d adding up to %s", typ, from, to, len(values), sum, count, want)
		}
	}
}

// testDrillDown follows every movement cell of the last finished month of
// /metrics/mrr (the first by a click on the link, the others by their
// addresses): the activities listed add up to the cell.
func testDrillDown(t *testing.T, e *env, tb *tab) {
	tb.open(t, e.srv.base+"/metrics/mrr")
	start := pagePeriod(t, tb).Get("start-date")
	_, rows := readTable(t, tb)
	if len(rows) < 2 {
		t.Fatalf("the MRR table has %d rows", len(rows))
	}
	i := len(rows) - 2
	from, to := span(t, rows, i, start)
	clicked := false
	for _, key := range []string{"mrr-new-business", "mrr-expansion", "mrr-reactivation", "mrr-contraction", "mrr-churn", "net-new-mrr"} {
		c, ok := rows[i].cell(key)
		if !ok || c.Href == "" {
			t.Errorf("%s %s: no drill-down link", rows[i].Date, key)
			continue
		}
		if !clicked {
			if status, _ := tb.click(t, fmt.Sprintf(`#metric-table tbody tr:nth-child(%d) td[data-key=%q] a`, i+1, key)); status != http.StatusOK {
				t.Fatalf("following the %s cell: %d", key, status)
			}
			tb.waitReady(t)
			clicked = true
		} else {
			tb.open(t, c.Href)
		}
		checkDrill(t, tb, movementTypes[key], from, to, c.Value)
		if p := tb.takeProblems(); len(p) > 0 {
			t.Errorf("%s: %v", c.Href, p)
		}
	}
}

// testBarClick clicks a gain and a loss segment of the MRR chart where
// uPlot draws them and lands on the activities of that period and type.
func testBarClick(t *testing.T, e *env, tb *tab) {
	for _, key := range []string{"mrr-new-business", "mrr-churn"} {
		t.Run(key, func(t *testing.T) {
			tb.open(t, e.srv.base+"/metrics/mrr")
			start := pagePeriod(t, tb).Get("start-date")
			_, rows := readTable(t, tb)
			// The finished month where the segment is tallest.
			best, bestAbs := -1, 0.0
			for i := range len(rows) - 1 {
				c, _ := rows[i].cell(key)
				v, err := strconv.ParseFloat(c.Value, 64)
				if err == nil && abs(v) > bestAbs {
					best, bestAbs = i, abs(v)
				}
			}
			if best < 0 {
				t.Fatalf("no month has %s", key)
			}
			// The segment spans the running total of its group before it
			// to that plus its own value: aim at its middle.
			group := []string{"mrr-new-business", "mrr-expansion", "mrr-reactivation"}
			if key == "mrr-churn" {
				group = []string{"mrr-contraction", "mrr-churn"}
			}
			var lo float64
			for _, k := range group[:slices.Index(group, key)] {
				c, _ := rows[best].cell(k)
				v, _ := strconv.ParseFloat(c.Value, 64)
				lo += v
			}
			c, _ := rows[best].cell(key)
			v, _ := strconv.ParseFloat(c.Value, 64)
			mid := lo + v/2
			pt := eval[struct {
				X, Y, H float64
			}](t, tb, fmt.Sprintf(`(() => {
				const u = tallyCharts().find(u => u.root.parentElement.id === "metric-chart");
				u.root.scrollIntoView({block: "center"});
				const r = u.over.getBoundingClientRect();
				return {X: r.left + u.valToPos(%d, "x"), Y: r.top + u.valToPos(%v, "y"),
					H: Math.abs(u.valToPos(%v, "y") - u.valToPos(%v, "y"))};
			})()`, best, mid, lo, lo+v))
			if pt.H < 4 {
				t.Fatalf("the %s segment of %s is %.1f px tall: too thin to click", key, rows[best].Date, pt.H)
			}
			// What is under the pointer: the chart's event layer, over a
			// pixel of the segment's colour.
			under := eval[struct {
				Over  bool   `json:"over"`
				Pixel string `json:"pixel"`
				Fill  string `json:"fill"`
			}](t, tb, fmt.Sprintf(`(() => {
				const u = tallyCharts().find(u => u.root.parentElement.id === "metric-chart");
				const j = u.series.findIndex(s => s.label === %q);
				const f = u.series[j].fill, fill = typeof f === "function" ? f(u, j) : f;
				const cr = u.ctx.canvas.getBoundingClientRect();
				const px = u.ctx.getImageData(Math.round((%v - cr.left) * devicePixelRatio), Math.round((%v - cr.top) * devicePixelRatio), 1, 1).data;
				const hex = "#" + [px[0], px[1], px[2]].map(v => v.toString(16).padStart(2, "0")).join("");
				return {over: document.elementFromPoint(%v, %v) === u.over, pixel: hex, fill: String(fill)};
			})()`, segmentLabels[key], pt.X, pt.Y, pt.X, pt.Y))
			if !under.Over || under.Pixel != under.Fill {
				t.Fatalf("at (%.0f, %.0f) the %s segment: over the chart %v, pixel %s, segment colour %s", pt.X, pt.Y, key, under.Over, under.Pixel, under.Fill)
			}
			run(t, tb, chromedp.MouseEvent(chromedp.MouseMoved, pt.X, pt.Y))
			run(t, tb, chromedp.Poll[bool](fmt.Sprintf(`tallyCharts().find(u => u.root.parentElement.id === "metric-chart").cursor.idx === %d`, best),
				chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
			ctx, cancel := tabTimeout(tb)
			defer cancel()
			res, err := chromedp.RunResponse(ctx, chromedp.MouseClickXY(pt.X, pt.Y))
			if err != nil || res.Status != http.StatusOK {
				t.Fatalf("clicking the %s segment of %s: %v %v", key, rows[best].Date, res, err)
			}
			tb.waitReady(t)
			from, to := span(t, rows, best, start)
			checkDrill(t, tb, movementTypes[key], from, to, c.Value)
		})
	}
}

// segmentLabels are the chart's names of the movement series.
var segmentLabels = map[string]string{"mrr-new-business": "New business", "mrr-churn": "Churn"}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// testCSV: a filtered period by quarter: the table equals the API, the
// CSV behind the page's link equals the table; the customer list's and the
// activity feed's CSV files hold their tables' rows.
func testCSV(t *testing.T, e *env, tb *tab) {
	end := pagePeriodEnd(t, e, tb)
	q := url.Values{"start-date": {end.AddDate(-2, 0, 1).Format(time.DateOnly)}, "end-date": {end.Format(time.DateOnly)},
		"interval": {"quarter"}, "geo": {"US"}}
	tb.open(t, e.srv.base+"/metrics/mrr?"+q.Encode())
	api := entries(t, e.srv.get(t, "/v1/metrics/mrr", q))
	keys, rows := readTable(t, tb)
	checkTable(t, "mrr by quarter in the US", keys, rows, api)
	checkCSVLink(t, tb, "/metrics/mrr.csv", q, keys, rows)

	for _, list := range []struct{ page, table, value string }{
		{"customers?status=Active", "#customers-table", "mrr"},
		{"activities?type=churn", "table.activities", "activity-mrr-movement"},
	} {
		tb.open(t, e.srv.base+"/"+list.page)
		want := eval[[][2]string](t, tb, fmt.Sprintf(`Array.from(document.querySelectorAll("%s tbody tr[data-uuid]")).map(tr =>
			[tr.dataset.uuid, tr.querySelector("td[data-value]").dataset.value])`, list.table))
		href := eval[string](t, tb, `document.querySelector('h1 a.more[href*=".csv"]').href`)
		u, _ := url.Parse(href)
		pageURL, _ := url.Parse(e.srv.base + "/" + list.page)
		if u.Path != pageURL.Path+".csv" || !sameQuery(u.Query(), pageURL.Query()) {
			t.Errorf("%s: CSV link %s", list.page, href)
		}
		recs := fetchCSV(t, tb, href)
		if len(recs) == 0 {
			t.Fatalf("%s: empty CSV", href)
		}
		ui, vi := slices.Index(recs[0], "uuid"), slices.Index(recs[0], list.value)
		if ui < 0 || vi < 0 {
			t.Fatalf("%s: CSV header %v", href, recs[0])
		}
		var got [][2]string
		for _, r := range recs[1:] {
			got = append(got, [2]string{r[ui], r[vi]})
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: CSV %v, table %v", href, got, want)
		}
	}
}

// pagePeriodEnd is the default period's end date (the account's today).
func pagePeriodEnd(t *testing.T, e *env, tb *tab) time.Time {
	t.Helper()
	tb.open(t, e.srv.base+"/metrics/mrr")
	end, err := time.Parse(time.DateOnly, pagePeriod(t, tb).Get("end-date"))
	if err != nil {
		t.Fatal(err)
	}
	return end
}

// sessionCookie is the tab's session cookie as the browser keeps it.
func sessionCookie(t *testing.T, tb *tab, base string) string {
	t.Helper()
	ctx, cancel := tabTimeout(tb)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "tally_session" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
				t.Errorf("session cookie: HttpOnly %v, SameSite %q", c.HTTPOnly, c.SameSite)
			}
			return c.Value
		}
	}
	return ""
}

// statusWithCookie is the status and Location of GET base+path with the
// session cookie, redirects not followed.
func statusWithCookie(t *testing.T, base, path, cookie string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.AddCookie(&http.Cookie{Name: "tally_session", Value: cookie})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// testSignIn: a bad key stays on /login with a message and no session;
// signing out ends the session, in the browser and on the server.
func testSignIn(t *testing.T, e *env) {
	base := e.srv.base
	tb := e.br.newTab(t, "bad-key", true)
	tb.navigate(t, base+"/login")
	run(t, tb, chromedp.SendKeys(chromedp.ID("key"), newKey()))
	status, path := tb.click(t, `form[action="/login"] button[type=submit]`)
	msg := eval[string](t, tb, `(document.querySelector(".message") || {}).textContent || ""`)
	if status != http.StatusUnauthorized || path != "/login" || !strings.Contains(msg, "not a valid API key") {
		t.Errorf("a bad key: %d on %s saying %q", status, path, msg)
	}
	tb.screenshot(t, filepath.Join(e.artifacts, "login-bad-key.png"))
	if _, path := tb.navigate(t, base+"/"); path != "/login" {
		t.Errorf("after a bad key / went to %s", path)
	}

	out := e.br.newTab(t, "sign-out", true)
	e.signInTab(t, out, e.srv.key)
	cookie := sessionCookie(t, out, base)
	if status, _ := statusWithCookie(t, base, "/", cookie); cookie == "" || status != http.StatusOK {
		t.Fatalf("signed in, the session cookie %q gets %d", cookie, status)
	}
	if status, path := out.click(t, `form[action="/logout"] button`); status != http.StatusOK || path != "/login" {
		t.Errorf("signing out ended on %s with %d", path, status)
	}
	if _, path := out.navigate(t, base+"/"); path != "/login" {
		t.Errorf("signed out, / went to %s", path)
	}
	if status, loc := statusWithCookie(t, base, "/", cookie); status != http.StatusSeeOther || loc != "/login" {
		t.Errorf("signed out, the old cookie still gets %d %q", status, loc)
	}
}

// postForm is the status and text of a POST the page sends to path with
// the form fields (the session's csrf token among them when asked for).
func postForm(t *testing.T, tb *tab, path string, withToken bool, fields map[string]string) (int, string) {
	t.Helper()
	f, _ := json.Marshal(fields)
	token := "null"
	if withToken {
		token = `(document.querySelector('input[name="csrf"]') || {}).value`
	}
	res := eval[struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}](t, tb, fmt.Sprintf(`(() => {
		const f = new URLSearchParams(%s);
		const token = %s;
		if (token) f.set("csrf", token);
		return fetch(%q, {method: "POST", body: f, redirect: "manual"}).then(r => r.text().then(b => ({status: r.status, body: b})));
	})()`, f, token, path))
	return res.Status, res.Body
}

// shareLinkNames are the names of the share links /settings lists.
func shareLinkNames(t *testing.T, e *env, tb *tab) []string {
	t.Helper()
	tb.open(t, e.srv.base+"/settings")
	return eval[[]string](t, tb, `Array.from(document.querySelectorAll("#share-links tbody tr[data-uuid]")).map(tr => tr.cells[0].textContent)`)
}

// testReadOnly: a read key's session sees the pages but changes nothing:
// its POST is refused with 403 although its form token is good.
func testReadOnly(t *testing.T, e *env, main *tab) {
	key := e.srv.tally(t, "apikey", "create", "--read", "--db", e.srv.db)
	tb := e.br.newTab(t, "read-key", true)
	e.signInTab(t, tb, key)
	if acct := eval[string](t, tb, `document.querySelector(".acct").textContent`); !strings.Contains(acct, "read-only") {
		t.Errorf("a read key's header says %q", acct)
	}
	tb.open(t, e.srv.base+"/settings")
	if n := eval[int](t, tb, `document.querySelectorAll('form[action$="settings/share"]').length`); n != 0 {
		t.Errorf("a read key's settings offer %d share forms", n)
	}
	status, body := postForm(t, tb, "/settings/share", true, map[string]string{"name": "made with a read key"})
	if status != http.StatusForbidden || !strings.Contains(body, "read-only") {
		t.Errorf("a read key's POST: %d %.300s", status, body)
	}
	tb.takeProblems()
	if slices.Contains(shareLinkNames(t, e, main), "made with a read key") {
		t.Error("the read key made a share link")
	}
}

// testRevokedKey: revoking a key with the CLI ends its open session at
// the next navigation.
func testRevokedKey(t *testing.T, e *env) {
	key := e.srv.tally(t, "apikey", "create", "--db", e.srv.db)
	tb := e.br.newTab(t, "revoked", true)
	e.signInTab(t, tb, key)
	tb.open(t, e.srv.base+"/customers")
	e.srv.tally(t, "apikey", "revoke", "--db", e.srv.db, auth.Prefix(key))
	if status, path := tb.navigate(t, e.srv.base+"/activities"); path != "/login" || status != http.StatusOK {
		t.Errorf("after the key's revocation /activities ended on %s with %d", path, status)
	}
	if _, path := tb.navigate(t, e.srv.base+"/"); path != "/login" {
		t.Errorf("after the key's revocation / went to %s", path)
	}
}

// testCSRF: a POST without the session's token is refused, from the
// dashboard's own page and from another site's form.
func testCSRF(t *testing.T, e *env, main *tab) {
	main.open(t, e.srv.base+"/settings")
	status, body := postForm(t, main, "/settings/share", false, map[string]string{"name": "no token"})
	if status != http.StatusForbidden {
		t.Errorf("a POST without the token: %d %.300s", status, body)
	}
	main.takeProblems()

	// Another site (localhost is not 127.0.0.1 to the browser) whose page
	// posts a form to the dashboard, in the signed-in browser context.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/settings/share"><input name="name" value="cross-site"><button id="go">go</button></form>`, e.srv.base)
	}))
	defer evil.Close()
	tb := e.br.newTab(t, "cross-site", false)
	tb.navigate(t, strings.Replace(evil.URL, "127.0.0.1", "localhost", 1))
	if status, path := tb.click(t, "#go"); status != http.StatusForbidden || path != "/settings/share" {
		t.Errorf("a cross-site POST: %d on %s", status, path)
	}
	if names := shareLinkNames(t, e, main); slices.Contains(names, "no token") || slices.Contains(names, "cross-site") {
		t.Errorf("share links made without the token: %v", names)
	}
}

// demoPeople are the demo's customer names and emails.
func demoPeople(t *testing.T, s *server) []string {
	t.Helper()
	var out []string
	for page := 1; ; page++ {
		a := s.get(t, "/v1/customers", url.Values{"per_page": {"200"}, "page": {strconv.Itoa(page)}})
		for _, c := range entries(t, a) {
			for _, k := range []string{"name", "email"} {
				if v := text(c[k]); v != "" {
					out = append(out, v)
				}
			}
		}
		if a["has_more"] != true {
			break
		}
	}
	if len(out) < 400 {
		t.Fatalf("the demo has only %d names and emails", len(out))
	}
	return out
}

// testShareLink: a link made in /settings opens the dashboard without a
// cookie, read-only and without a customer's name or email; revoked, it
// answers 404.
func testShareLink(t *testing.T, e *env, main *tab) {
	base := e.srv.base
	main.open(t, base+"/settings")
	run(t, main, chromedp.SendKeys(chromedp.CSS(`form[action$="settings/share"] input[name="name"]`), "Board deck"))
	if status, _ := main.click(t, `form[action$="settings/share"] button`); status != http.StatusOK {
		t.Fatalf("creating a share link: %d", status)
	}
	link := eval[string](t, main, `document.getElementById("new-share-link").value`)
	if !strings.HasPrefix(link, base+"/share/") || !strings.HasSuffix(link, "/") {
		t.Fatalf("share link %q", link)
	}
	people := demoPeople(t, e.srv)
	cus, act := demoCustomer(t, e.srv), demoActivity(t, e.srv)

	sh := e.br.newTab(t, "shared", true)
	for _, pg := range [][2]string{{"overview", ""}, {"metrics-mrr", "metrics/mrr"}, {"customers", "customers"},
		{"customer", "customers/" + cus}, {"activities", "activities"}, {"activity", "activities/" + act}} {
		p := pg[1]
		sh.open(t, link+p)
		sh.screenshot(t, filepath.Join(e.artifacts, "shared-"+pg[0]+".png"))
		html := eval[string](t, sh, `document.documentElement.outerHTML`)
		if !strings.Contains(html, "shared view") {
			t.Errorf("share link %s does not say it is a shared view", p)
		}
		for _, who := range people {
			if strings.Contains(html, who) {
				t.Errorf("share link %s shows %q", p, who)
			}
		}
	}
	for _, p := range []string{"customers.csv", "activities.csv"} {
		recs := fetchCSV(t, sh, link+p)
		all := fmt.Sprint(recs)
		for _, who := range people {
			if strings.Contains(all, who) {
				t.Errorf("share link %s holds %q", p, who)
			}
		}
	}
	if status, _ := postForm(t, sh, link+"settings/share", false, map[string]string{"name": "through the link"}); status != http.StatusForbidden {
		t.Errorf("a POST through the share link: %d", status)
	}
	if status, _ := sh.navigate(t, link+"settings"); status != http.StatusNotFound {
		t.Errorf("settings through the share link: %d", status)
	}
	sh.takeProblems()

	main.open(t, base+"/settings")
	uuid := eval[string](t, main, `Array.from(document.querySelectorAll("#share-links tbody tr[data-uuid]")).find(tr => tr.cells[0].textContent === "Board deck").dataset.uuid`)
	if status, path := main.click(t, fmt.Sprintf(`#share-links tr[data-uuid=%q] button`, uuid)); status != http.StatusOK || path != "/settings" {
		t.Fatalf("revoking the link: %d on %s", status, path)
	}
	if state := eval[string](t, main, fmt.Sprintf(`document.querySelector('#share-links tr[data-uuid=%q]').cells[4].textContent`, uuid)); !strings.HasPrefix(state, "revoked") {
		t.Errorf("revoked link's state %q", state)
	}
	for _, p := range []string{"", "customers"} {
		if status, _ := sh.navigate(t, link+p); status != http.StatusNotFound {
			t.Errorf("revoked share link %s: %d", p, status)
		}
	}
	sh.screenshot(t, filepath.Join(e.artifacts, "shared-revoked.png"))
}

// testLive: an invoice imported through the API shows on an open
// /metrics/mrr within two seconds of its 201, without a reload.
func testLive(t *testing.T, e *env, tb *tab) {
	s := e.srv
	ds := s.get(t, "/v1/data_sources", nil)["data_sources"].([]any)[0].(map[string]any)["uuid"].(string)
	cus := s.must(t, http.StatusCreated, http.MethodPost, "/v1/customers", map[string]any{
		"data_source_uuid": ds, "external_id": "browser-live", "name": "Live Test", "email": "live@example.com", "country": "US"})
	plan := s.must(t, http.StatusCreated, http.MethodPost, "/v1/plans", map[string]any{
		"data_source_uuid": ds, "name": "Live plan", "interval_count": 1, "interval_unit": "month", "external_id": "browser-live-plan"})

	tb.open(t, s.base+"/metrics/mrr")
	if _, err := chromedp.Call(tb.ctx, page.BringToFront, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	q := pagePeriod(t, tb)
	today := q.Get("end-date")
	version := eval[string](t, tb, `window.liveMarker = "kept"; document.body.dataset.version`)
	_, rows := readTable(t, tb)
	last := len(rows) - 1
	before, _ := rows[last].cell("mrr")
	if rows[last].Date != today {
		t.Fatalf("the table's last row is %s, not today %s", rows[last].Date, today)
	}
	next, _ := time.Parse(time.DateOnly, today)
	s.must(t, http.StatusCreated, http.MethodPost, "/v1/import/customers/"+text(cus["uuid"])+"/invoices", map[string]any{
		"invoices": []any{map[string]any{
			"external_id": "browser-live-1", "date": today + " 00:00:00", "currency": "USD",
			"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": "browser-live-sub",
				"plan_uuid": text(plan["uuid"]), "service_period_start": today, "service_period_end": next.AddDate(0, 1, 0).Format(time.DateOnly),
				"amount_in_cents": 5000, "quantity": 1}},
			"transactions": []any{map[string]any{"date": today + " 00:00:00", "type": "payment", "result": "successful"}},
		}}})
	answered := time.Now()
	deadline := answered.Add(2 * time.Second)
	run(t, tb, chromedp.Poll[bool](fmt.Sprintf(`document.body.dataset.version !== %q && document.body.dataset.ready === "1"`, version),
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
	t.Logf("the page showed the import %s after its 201", time.Since(answered).Round(time.Millisecond))
	if marker := eval[string](t, tb, `String(window.liveMarker)`); marker != "kept" {
		t.Errorf("the page reloaded: marker %q", marker)
	}
	api := entries(t, s.get(t, "/v1/metrics/mrr", q))
	want := text(api[len(api)-1]["mrr"])
	_, rows = readTable(t, tb)
	after, _ := rows[len(rows)-1].cell("mrr")
	b, _ := strconv.ParseInt(before.Value, 10, 64)
	if after.Value != want || want != strconv.FormatInt(b+5000, 10) {
		t.Errorf("today's MRR: page %s, API %s, before the import %s (+5000 expected)", after.Value, want, before.Value)
	}
	if p := tb.takeProblems(); len(p) > 0 {
		t.Errorf("the live update reported problems: %v", p)
	}
}

// customerRow is a row of the customer list.
type customerRow struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Status  string `json:"status"`
	Country string `json:"country"`
	MRR     string `json:"mrr"`
}

func readCustomers(t *testing.T, tb *tab) []customerRow {
	t.Helper()
	return eval[[]customerRow](t, tb, `Array.from(document.querySelectorAll("#customers-table tbody tr[data-uuid]")).map(tr => ({
		name: tr.cells[0].textContent.trim(), email: tr.cells[1].textContent.trim(), status: tr.cells[2].textContent.trim(),
		country: tr.cells[3].textContent.trim(), mrr: tr.querySelector("td[data-value]").dataset.value}))`)
}

// testCustomerFilters: the customer list searches by name or email, and
// filters by status and country, and sorts by MRR (issue 11, page 4).
func testCustomerFilters(t *testing.T, e *env, tb *tab) {
	base := e.srv.base
	// A search typed into the form: a surname several customers share.
	tb.open(t, base+"/customers")
	first := readCustomers(t, tb)[0]
	surname := first.Name[strings.LastIndex(first.Name, " ")+1:]
	run(t, tb, chromedp.SendKeys(chromedp.CSS(`form.filters input[name="q"]`), surname))
	if status, _ := tb.click(t, `form.filters button[type=submit]`); status != http.StatusOK {
		t.Fatalf("searching %q: %d", surname, status)
	}
	rows := readCustomers(t, tb)
	if len(rows) == 0 {
		t.Errorf("searching %q found nobody, though %s has it", surname, first.Name)
	}
	for _, r := range rows {
		if !strings.Contains(strings.ToLower(r.Name+" "+r.Email), strings.ToLower(surname)) {
			t.Errorf("searching %q lists %s <%s>", surname, r.Name, r.Email)
			break
		}
	}
	for _, f := range []struct{ query, what string }{{"status=Cancelled", "Cancelled"}, {"country=GB", "GB"}} {
		tb.open(t, base+"/customers?"+f.query)
		rows := readCustomers(t, tb)
		if len(rows) == 0 {
			t.Errorf("%s lists nobody", f.query)
		}
		for _, r := range rows {
			if r.Status != f.what && r.Country != f.what {
				t.Errorf("%s lists %s (%s, %s)", f.query, r.Name, r.Status, r.Country)
				break
			}
		}
	}
	tb.open(t, base+"/customers?sort=-mrr")
	var top int64
	for _, c := range entries(t, e.srv.get(t, "/v1/customers", url.Values{"per_page": {"200"}})) {
		top = max(top, mustInt(t, text(c["mrr"])))
	}
	rows = readCustomers(t, tb)
	for i, r := range rows {
		if i == 0 && mustInt(t, r.MRR) < top {
			t.Errorf("sorted by MRR, the first customer has %s; the highest MRR is at least %d", r.MRR, top)
		}
		if i > 0 && mustInt(t, r.MRR) > mustInt(t, rows[i-1].MRR) {
			t.Errorf("sorted by MRR, row %d (%s) comes after %s", i, r.MRR, rows[i-1].MRR)
			break
		}
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
