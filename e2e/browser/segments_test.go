package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// choose picks value in the select sel as a person would: the change
// event fires (app.js then fits the builder row to the filter).
func choose(t *testing.T, tb *tab, sel, value string) {
	t.Helper()
	got := eval[string](t, tb, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q;
		s.dispatchEvent(new Event("change", {bubbles: true})); return s.value; })()`, sel, value))
	if got != value {
		t.Fatalf("%s: could not choose %q (now %q)", sel, value, got)
	}
}

// options are the values a select offers.
func options(t *testing.T, tb *tab, sel string) []string {
	t.Helper()
	return eval[[]string](t, tb, fmt.Sprintf(`Array.from(document.querySelector(%q).options).map(o => o.value)`, sel))
}

// testFilterBuilder builds an expression in the builder of the MRR page,
// as a person would: the page it lands on has the expression in its URL's
// filters parameter, and its chart, table and CSV are the API's answer to
// it, different from the whole book's. An expression the API refuses is
// shown with the API's words beside the builder.
func testFilterBuilder(t *testing.T, e *env, tb *tab) {
	base := e.srv.base
	period := url.Values{"start-date": {"2025-06-01"}, "end-date": {"2026-05-31"}, "interval": {"month"}}
	tb.open(t, base+"/metrics/mrr?"+period.Encode())
	whole := parseSpec(t, eval[string](t, tb, `document.getElementById("metric-chart").dataset.chart`))

	// First row: Region is any of US, GB. Its operators are the filter's.
	choose(t, tb, ".cond.blank .c-filter", "region")
	if ops := options(t, tb, ".cond.blank .c-op"); !slices.Equal(ops, []string{"ANY", "NONE"}) {
		t.Errorf("region's operators: %v", ops)
	}
	run(t, tb, chromedp.SendKeys(chromedp.CSS(".cond.blank .c-value input"), "US, GB"))
	// Second row: MRR now above 20; a plan row offers the API's plans.
	run(t, tb, chromedp.Click(chromedp.CSS("button.add-cond")))
	last := ".conds .cond:last-child"
	choose(t, tb, last+" .c-filter", "plan")
	plans := e.srv.get(t, "/v1/plans", url.Values{"per_page": {"200"}})["plans"].([]any)
	if got := options(t, tb, last+" .c-value select"); len(got) != len(plans) || len(plans) == 0 {
		t.Errorf("the plan picker offers %d plans, the API has %d", len(got), len(plans))
	}
	choose(t, tb, last+" .c-filter", "mrr")
	choose(t, tb, last+" .c-op", "GT")
	run(t, tb, chromedp.SendKeys(chromedp.CSS(last+" .c-value input"), "20"))
	if status, path := tb.click(t, "#apply-conditions"); status != http.StatusOK || path != "/metrics/mrr" {
		t.Fatalf("applying the conditions ended on %s with %d", path, status)
	}
	tb.waitReady(t)
	const want = "region~ANY~'US','GB'~AND~mrr~GT~20"
	u, _ := url.Parse(eval[string](t, tb, `location.href`))
	if got := u.Query().Get("filters"); got != want {
		t.Fatalf("the URL's filters are %q, want %q", got, want)
	}
	if u.Query().Get("start-date") != "2025-06-01" {
		t.Errorf("the period was lost: %s", u)
	}
	checkMetricPage(t, e, tb, "mrr") // with the page's filters
	filtered := parseSpec(t, eval[string](t, tb, `document.getElementById("metric-chart").dataset.chart`))
	if slices.Equal(whole.Series[len(whole.Series)-1].Values, filtered.Series[len(filtered.Series)-1].Values) {
		t.Error("the chart did not change with the filter")
	}
	// The rows show the expression again, and a cell keeps it.
	if n := eval[int](t, tb, `document.querySelectorAll(".conds .cond:not(.blank)").length`); n != 2 {
		t.Errorf("the builder shows %d rows for two conditions", n)
	}
	keys, rows := readTable(t, tb)
	if len(rows) == 0 || !slices.Contains(keys, "mrr-churn") {
		t.Fatal("no table")
	}
	if c, _ := rows[0].cell("mrr-churn"); !strings.Contains(c.Href, "filters=") {
		t.Errorf("a drill-down of the filtered table does not keep the filters: %q", c.Href)
	}
	if *updateScreenshots {
		saveDocShot(t, tb, "filters")
	}
	tb.screenshot(t, filepath.Join(e.artifacts, "filters.png"))

	// A refusal: the API's words, beside the builder.
	tb.takeProblems()
	bad := period.Encode() + "&filters=" + url.QueryEscape("region~WHAT~'US'")
	status, _ := tb.navigate(t, base+"/metrics/mrr?"+bad)
	apiStatus, apiBody := e.srv.call(t, http.MethodGet, "/v1/metrics/mrr?"+bad, nil)
	msg := eval[string](t, tb, `(document.getElementById("filter-error") || {}).textContent || ""`)
	if status != apiStatus || status != http.StatusBadRequest || !strings.Contains(msg, "WHAT") || !strings.Contains(string(apiBody), "WHAT") {
		t.Errorf("a refused expression: page %d %q, API %d %s", status, msg, apiStatus, apiBody)
	}
}

// testSegments saves the page's expression as a segment, picks it in the
// picker (the page follows at once) and draws it beside the whole book.
func testSegments(t *testing.T, e *env, tb *tab) {
	base := e.srv.base
	cfl := "region~ANY~'DE','FR'"
	period := url.Values{"start-date": {"2025-06-01"}, "end-date": {"2026-05-31"}, "interval": {"month"}}
	var uuid string
	tb.open(t, base+"/metrics/customer-count?"+period.Encode()+"&filters="+url.QueryEscape(cfl))
	run(t, tb, chromedp.SendKeys(chromedp.CSS(`form.save-segment input[name="name"]`), "France and Germany"))
	if status, path := tb.click(t, `form.save-segment button[type=submit]`); status != http.StatusOK || path != "/segments" {
		t.Fatalf("saving the segment ended on %s with %d", path, status)
	}
	for _, raw := range e.srv.get(t, "/v1/segments", nil)["segments"].([]any) {
		if s := raw.(map[string]any); text(s["name"]) == "France and Germany" && text(s["filters"]) == cfl {
			uuid = text(s["uuid"])
		}
	}
	if uuid == "" {
		t.Fatal("the segment saved is not in the API's list")
	}
	tb.open(t, base+"/metrics/customer-count?"+period.Encode())
	ctx, cancel := tabTimeout(tb)
	pick := chromedp.Evaluate[any](fmt.Sprintf(`(() => { const s = document.getElementById("segment-picker");
		s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, uuid))
	res, err := chromedp.RunResponse(ctx, func(ctx context.Context, tt *chromedp.Target) (chromedp.Void, error) {
		_, err := pick(ctx, tt)
		return chromedp.Void{}, err
	})
	cancel()
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("picking the segment: %v %v", res, err)
	}
	tb.waitReady(t)
	if got := pagePeriod(t, tb).Get("segment"); got != uuid {
		t.Fatalf("the page's segment is %q, want %s", got, uuid)
	}
	checkMetricPage(t, e, tb, "customer-count")

	// The segment beside the whole book, on one chart.
	tb.open(t, base+"/metrics/customer-count?"+period.Encode()+"&compare-segment="+uuid)
	whole := entries(t, e.srv.get(t, "/v1/metrics/customer-count", period))
	q := url.Values{"segment": {uuid}}
	for k, v := range period {
		q[k] = v
	}
	seg := entries(t, e.srv.get(t, "/v1/metrics/customer-count", q))
	spec := parseSpec(t, eval[string](t, tb, `document.getElementById("compare-chart").dataset.chart`))
	if len(spec.Series) != 2 || len(spec.Dates) != len(whole) {
		t.Fatalf("comparison: %d series over %d dates, API %d entries", len(spec.Series), len(spec.Dates), len(whole))
	}
	for i := range whole {
		if spec.Series[0].Values[i].String() != text(whole[i]["customers"]) || spec.Series[1].Values[i].String() != text(seg[i]["customers"]) {
			t.Errorf("%s: drawn %s and %s, API %s and %s", spec.Dates[i], spec.Series[0].Values[i], spec.Series[1].Values[i],
				text(whole[i]["customers"]), text(seg[i]["customers"]))
		}
	}
	if spec.Series[1].Label != "France and Germany" {
		t.Errorf("the second series is labelled %q", spec.Series[1].Label)
	}
	checkDrawn(t, tb)
	if *updateScreenshots {
		saveDocShotOf(t, tb, "compare", "#compare")
	}
	tb.screenshot(t, filepath.Join(e.artifacts, "compare.png"))
}

// heatCell is a cell of the cohorts' heat map as the page shows it.
type heatCell struct {
	Cohort    string `json:"cohort"`
	Age       string `json:"age"`
	Date      string `json:"date"`
	Customers string `json:"customers"`
	CustPct   string `json:"cpct"`
	MRR       string `json:"mrr"`
	MRRPct    string `json:"mpct"`
	Text      string `json:"text"`
	Href      string `json:"href"`
}

func readHeat(t *testing.T, tb *tab) []heatCell {
	t.Helper()
	return eval[[]heatCell](t, tb, `Array.from(document.querySelectorAll("#cohorts-table td.cell[data-age]")).map(td => ({
		cohort: td.closest("tr").dataset.cohort, age: td.dataset.age, date: td.dataset.date, customers: td.dataset.customers,
		cpct: td.dataset.customersPercentage, mrr: td.dataset.mrr, mpct: td.dataset.mrrPercentage,
		text: td.textContent.trim(), href: td.querySelector("a").href}))`)
}

// testCohorts opens the cohorts' heat map: its cells are the API's, the
// MRR toggle shows the MRR percentages, and a click on a cell lists as
// many customers as the cell counts.
func testCohorts(t *testing.T, e *env, tb *tab) {
	q := url.Values{"start-date": {"2024-01-01"}, "end-date": {"2026-05-31"}, "cohort-interval": {"quarter"}}
	tb.open(t, e.srv.base+"/metrics/cohorts?"+q.Encode())
	api := entries(t, e.srv.get(t, "/v1/metrics/cohorts", q))
	var want []heatCell
	for _, row := range api {
		for _, raw := range row["cells"].([]any) {
			c := raw.(map[string]any)
			want = append(want, heatCell{Cohort: text(row["cohort"]), Age: text(c["age"]), Date: text(c["date"]), Customers: text(c["customers"]),
				CustPct: text(c["customers-percentage"]), MRR: text(c["mrr"]), MRRPct: text(c["mrr-percentage"])})
		}
	}
	got := readHeat(t, tb)
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("the heat map has %d cells, the API %d", len(got), len(want))
	}
	for i, c := range got {
		w := want[i]
		if c.Cohort != w.Cohort || c.Age != w.Age || c.Date != w.Date || c.Customers != w.Customers || c.CustPct != w.CustPct ||
			c.MRR != w.MRR || c.MRRPct != w.MRRPct || c.Text != w.CustPct+"%" {
			t.Errorf("cell %d: page %+v, API %+v", i, c, w)
		}
	}
	if *updateScreenshots {
		saveDocShot(t, tb, "cohorts")
	}
	tb.screenshot(t, filepath.Join(e.artifacts, "cohorts.png"))
	if status, _ := tb.click(t, "#show-mrr"); status != http.StatusOK {
		t.Fatalf("MRR %%: %d", status)
	}
	tb.waitReady(t)
	for i, c := range readHeat(t, tb) {
		if c.Text != want[i].MRRPct+"%" {
			t.Errorf("MRR view, cell %d: %q, API %s%%", i, c.Text, want[i].MRRPct)
		}
	}
	// A click on the second cell of the first cohort: its customers.
	cell := got[1]
	if status, path := tb.click(t, fmt.Sprintf(`#cohorts-table tr[data-cohort=%q] td.cell[data-age="1"] a`, cell.Cohort)); status != http.StatusOK || path != "/metrics/cohorts/customers" {
		t.Fatalf("clicking a cell ended on %s with %d", path, status)
	}
	tb.waitReady(t)
	n := 0
	for {
		n += eval[int](t, tb, `document.querySelectorAll("#customers-table tbody tr[data-uuid]").length`)
		if !eval[bool](t, tb, `document.querySelector('.pager a[rel="next"]') !== null`) {
			break
		}
		if status, _ := tb.click(t, `.pager a[rel="next"]`); status != http.StatusOK {
			t.Fatal("next page")
		}
	}
	if strconv.Itoa(n) != cell.Customers {
		t.Errorf("cohort %s age 1: %d customers listed, the cell counts %s", cell.Cohort, n, cell.Customers)
	}
	tb.screenshot(t, filepath.Join(e.artifacts, "cohort-customers.png"))
}

// saveDocShotOf writes to docs/screenshots the part of the page from the
// top of the element sel down, at most 1000 px.
func saveDocShotOf(t *testing.T, tb *tab, name, sel string) {
	t.Helper()
	box := eval[[]float64](t, tb, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		const top = r.top + window.scrollY - 16; return [top, Math.min(document.documentElement.scrollHeight - top, 1000)]; })()`, sel))
	png := run(t, tb, chromedp.Action[[]byte](func(ctx context.Context, tt *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, tt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: new(true), FromSurface: new(true),
			Clip: &page.Viewport{X: 0, Y: box[0], Width: 1280, Height: box[1], Scale: 1}})
		return res.Data, err
	}))
	if len(png) > 300<<10 {
		t.Errorf("docs/screenshots/%s.png would be %d KB; keep it under 300", name, len(png)>>10)
	}
	path := filepath.Join("..", "..", "docs", "screenshots", name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d KB)", path, len(png)>>10)
}
