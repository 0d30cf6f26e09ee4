package web_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
	"github.com/tally-analytics/tally/internal/web"
)

var (
	heatRe = regexp.MustCompile(`<td class="num cell [^"]*" data-age="([0-9]+)" data-date="([^"]*)" data-customers="([^"]*)" data-customers-percentage="([^"]*)" data-mrr="([^"]*)" data-mrr-percentage="([^"]*)"[^>]*><a href="([^"]+)">`)
	rowRe  = regexp.MustCompile(`<tr data-cohort="([^"]+)">`)
	custRe = regexp.MustCompile(`<tr data-uuid="(cus_[^"]+)">`)
	nextRe = regexp.MustCompile(`<a rel="next" href="([^"]+)">`)
)

// writable reports whether the API answers writes in process
// (api.API.Write), which the dashboard's segment forms go through.
// The dashboard's writes are the API's own (api.API.Write).
var _ web.Writer = (*api.API)(nil)

// postSegment saves a segment through the API, as a client does.
func (st *site) postSegment(name, filters string) string {
	st.t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "filters": filters})
	req, _ := http.NewRequest(http.MethodPost, st.srv.URL+"/v1/segments", bytes.NewReader(body))
	req.SetBasicAuth(st.key, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		st.t.Fatalf("POST /v1/segments: %d %v %v", resp.StatusCode, out, err)
	}
	return out["uuid"].(string)
}

// unescape is an href as the browser reads it.
func unescape(href string) string { return strings.ReplaceAll(href, "&amp;", "&") }

// customerUUIDs follows a customer list's pages from path, listing the
// uuids of its rows.
func (b *browser) customerUUIDs(path string) []string {
	b.t.Helper()
	var out []string
	for path != "" {
		pg := b.get(path)
		if pg.status != http.StatusOK {
			b.t.Fatalf("GET %s: %d %s", path, pg.status, pg.body)
		}
		for _, m := range custRe.FindAllStringSubmatch(pg.body, -1) {
			out = append(out, m[1])
		}
		path = ""
		if m := nextRe.FindStringSubmatch(pg.body); m != nil {
			path = unescape(m[1])
		}
	}
	return out
}

// TestFilteredPages: a page with a CFL expression or a saved segment
// shows the API's answer to the same expression, in its tiles, its table
// and its CSV; its drill-downs keep the expression and still add up.
func TestFilteredPages(t *testing.T) {
	t.Parallel() // each installs the demo book of its own: the package ran 7 minutes under -race one by one
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		st := newSite(t, s)
		b := st.browser()
		b.signIn(st.key)
		const period = "start-date=2025-06-01&end-date=2026-11-30&interval=month"
		// Customers in the US or GB paying more than 20 a month now: a
		// customer-level selection, whose activities add up.
		cfl := "region~ANY~'US','GB'~AND~mrr~GT~20"
		fq := period + "&filters=" + url.QueryEscape(cfl)

		t.Run("the builder writes its rows as CFL into the URL", func(t *testing.T) {
			q := url.Values{"start-date": {"2025-06-01"}, "c0-filter": {"region"}, "c0-op": {"ANY"}, "c0-value": {"US, GB"},
				"c1-filter": {"mrr"}, "c1-op": {"GT"}, "c1-value": {"20"}}
			got := b.get("/metrics/mrr?" + q.Encode())
			if got.status != http.StatusSeeOther {
				t.Fatalf("builder: %d", got.status)
			}
			u, _ := url.Parse(got.header.Get("Location"))
			if u.Path != "/metrics/mrr" || u.Query().Get("filters") != cfl || u.Query().Get("start-date") != "2025-06-01" || u.Query().Has("c0-filter") {
				t.Errorf("builder sent to %s", got.header.Get("Location"))
			}
			// The page shows the expression as rows again.
			pg := b.get(unescape(got.header.Get("Location")))
			if !strings.Contains(pg.body, `name="c0-filter"`) || !strings.Contains(pg.body, `<option value="region" selected>`) ||
				!strings.Contains(pg.body, `value="US, GB"`) || !strings.Contains(pg.body, `<option value="mrr" selected>`) {
				t.Error("the page does not show its expression as builder rows")
			}
		})

		t.Run("table, CSV and drill-downs of a filtered page", func(t *testing.T) {
			pg := b.get("/metrics/mrr?" + fq)
			if pg.status != http.StatusOK {
				t.Fatalf("filtered page: %d %s", pg.status, pg.body)
			}
			var api, whole struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/metrics/mrr?"+fq+"&with_net_new=true", &api)
			st.api(st.key, "/v1/metrics/mrr?"+period+"&with_net_new=true", &whole)
			cells := cellRe.FindAllStringSubmatch(pg.body, -1)
			if len(cells) != 7*len(api.Entries) || len(api.Entries) == 0 {
				t.Fatalf("%d cells for %d entries", len(cells), len(api.Entries))
			}
			rows, err := csv.NewReader(strings.NewReader(b.get("/metrics/mrr.csv?" + fq).body)).ReadAll()
			if err != nil || len(rows) != len(api.Entries)+1 {
				t.Fatalf("CSV: %d rows, %v", len(rows), err)
			}
			differs, drilled := false, 0
			for i, c := range cells {
				e := api.Entries[i/7]
				want := e[c[1]].(json.Number).String()
				if c[2] != want || rows[i/7+1][i%7+1] != want {
					t.Errorf("%s %s: table %s, CSV %s, API %s", e["date"], c[1], c[2], rows[i/7+1][i%7+1], want)
				}
				if want != whole.Entries[i/7][c[1]].(json.Number).String() {
					differs = true
				}
				if c[1] == "mrr" || i%3 != 0 {
					continue // a third of the movement cells, to keep the test short
				}
				href := unescape(c[3])
				if u, _ := url.Parse(href); u == nil || u.Query().Get("filters") != cfl {
					t.Fatalf("%s %s: drill-down %q does not keep the filters", e["date"], c[1], href)
				}
				if sum := attr(b.get(href).body, "data-sum"); sum != want {
					t.Errorf("%s %s: the filtered drill-down adds up to %s, cell %s", e["date"], c[1], sum, want)
				}
				drilled++
			}
			if !differs {
				t.Error("the filtered table equals the unfiltered one: the filter did nothing")
			}
			if drilled == 0 {
				t.Error("no drill-down followed")
			}
		})

		t.Run("tiles of a filtered overview", func(t *testing.T) {
			home := b.get("/?" + fq)
			var all struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/metrics/all?"+fq, &all)
			n := 0
			for _, tl := range tileRe.FindAllStringSubmatch(home.body, -1) {
				i := slices.IndexFunc(all.Entries, func(e map[string]any) bool { return e["date"] == tl[3] })
				if i < 0 {
					continue // net new MRR and retention come from other answers
				}
				if want, ok := all.Entries[i][tl[1]].(json.Number); ok {
					n++
					if tl[2] != want.String() {
						t.Errorf("tile %s: page %s, API %s", tl[1], tl[2], want)
					}
				}
			}
			if n < 6 {
				t.Errorf("%d tiles compared", n)
			}
			if !strings.Contains(home.body, "filters="+url.QueryEscape(cfl)) {
				t.Error("the tiles' links do not keep the filters")
			}
		})

		t.Run("customers and activities take the expression", func(t *testing.T) {
			var api struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/customers?per_page=50&filters="+url.QueryEscape(cfl), &api)
			got := custRe.FindAllStringSubmatch(b.get("/customers?filters="+url.QueryEscape(cfl)).body, -1)
			if len(got) != len(api.Entries) || len(got) == 0 {
				t.Fatalf("customers: page %d, API %d", len(got), len(api.Entries))
			}
			for i, m := range got {
				if m[1] != api.Entries[i]["uuid"] {
					t.Errorf("customer %d: page %s, API %s", i, m[1], api.Entries[i]["uuid"])
				}
			}
			var acts struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/activities?per_page=50&order=-date&filters="+url.QueryEscape(cfl), &acts)
			body := b.get("/activities?filters=" + url.QueryEscape(cfl)).body
			for _, a := range acts.Entries {
				if !strings.Contains(body, `data-uuid="`+a["uuid"].(string)+`"`) {
					t.Fatalf("activity %s of the selection is not listed", a["uuid"])
				}
			}
		})

		t.Run("a plan condition turns drill-downs off", func(t *testing.T) {
			q := period + "&filters=" + url.QueryEscape("plan~ANY~'demo-pro-monthly'")
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
				if want := api.Entries[i/7][c[1]].(json.Number).String(); c[2] != want || c[3] != "" {
					t.Errorf("%s: table %s (link %q), API %s", c[1], c[2], c[3], want)
				}
			}
		})

		t.Run("a refused expression is shown beside the builder", func(t *testing.T) {
			for _, p := range []string{"/metrics/mrr", "/", "/customers", "/activities", "/metrics/cohorts"} {
				got := b.get(p + "?filters=" + url.QueryEscape("region~WHAT~'US'"))
				if got.status != http.StatusBadRequest || !strings.Contains(got.body, `id="filter-error"`) ||
					!strings.Contains(got.body, `id="filterbar"`) || !strings.Contains(got.body, "WHAT") {
					t.Errorf("GET %s with a bad expression: %d, error shown: %v", p, got.status, strings.Contains(got.body, `id="filter-error"`))
				}
			}
		})

		t.Run("a second selection on one chart", func(t *testing.T) {
			pg := b.get("/metrics/arr?" + period + "&compare-filters=" + url.QueryEscape(cfl))
			var a, bb struct {
				Entries []map[string]any `json:"entries"`
			}
			st.api(st.key, "/v1/metrics/arr?"+period, &a)
			st.api(st.key, "/v1/metrics/arr?"+fq, &bb)
			re := regexp.MustCompile(`<td class="num" data-key="([ab])" data-value="([^"]*)">`)
			cells := re.FindAllStringSubmatch(pg.body, -1)
			if len(cells) != 2*len(a.Entries) || !strings.Contains(pg.body, `id="compare-chart"`) {
				t.Fatalf("%d compared cells for %d entries", len(cells), len(a.Entries))
			}
			for i, c := range cells {
				src := a
				if c[1] == "b" {
					src = bb
				}
				if want := src.Entries[i/2]["arr"].(json.Number).String(); c[2] != want {
					t.Errorf("%s %s: page %s, API %s", src.Entries[i/2]["date"], c[1], c[2], want)
				}
			}
			bad := b.get("/metrics/arr?" + period + "&compare-filters=" + url.QueryEscape("nope~EQ~1"))
			if bad.status != http.StatusOK || !strings.Contains(bad.body, `id="compare-error"`) {
				t.Errorf("a refused second selection: %d", bad.status)
			}
		})
	})
}

// TestCohortsPage: the heat map's cells are the API's, its CSV too, and a
// cell's customer list holds as many customers as the cell counts.
func TestCohortsPage(t *testing.T) {
	t.Parallel() // each installs the demo book of its own: the package ran 7 minutes under -race one by one
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		st := newSite(t, s)
		b := st.browser()
		b.signIn(st.key)
		for _, tc := range []struct{ q string }{
			{"start-date=2024-01-01&end-date=2026-11-30&cohort-interval=quarter"},
			{"start-date=2025-01-01&end-date=2026-11-30&cohort-interval=month&filters=" + url.QueryEscape("region~ANY~'US'")},
		} {
			pg := b.get("/metrics/cohorts?" + tc.q)
			if pg.status != http.StatusOK {
				t.Fatalf("cohorts %s: %d %s", tc.q, pg.status, pg.body)
			}
			var api struct {
				Entries []struct {
					Cohort    string           `json:"cohort"`
					Customers json.Number      `json:"customers"`
					Cells     []map[string]any `json:"cells"`
				} `json:"entries"`
			}
			st.api(st.key, "/v1/metrics/cohorts?"+tc.q, &api)
			rows := rowRe.FindAllStringSubmatch(pg.body, -1)
			cells := heatRe.FindAllStringSubmatch(pg.body, -1)
			want := 0
			for _, e := range api.Entries {
				want += len(e.Cells)
			}
			if len(rows) != len(api.Entries) || len(cells) != want || want == 0 {
				t.Fatalf("%s: %d rows, %d cells; API %d cohorts, %d cells", tc.q, len(rows), len(cells), len(api.Entries), want)
			}
			lines, err := csv.NewReader(strings.NewReader(b.get("/metrics/cohorts.csv?" + tc.q).body)).ReadAll()
			if err != nil || len(lines) != want+1 {
				t.Fatalf("CSV: %d lines, %v", len(lines), err)
			}
			k := 0
			for _, e := range api.Entries {
				for _, c := range e.Cells {
					got := cells[k]
					line := lines[k+1]
					k++
					fields := []string{"age", "date", "customers", "customers-percentage", "mrr", "mrr-percentage"}
					for j, f := range fields {
						w := str(c[f])
						if got[j+1] != w || line[j+3] != w {
							t.Errorf("%s cohort %s age %s %s: page %s, CSV %s, API %s", tc.q, e.Cohort, c["age"], f, got[j+1], line[j+3], w)
						}
					}
					if line[0] != e.Cohort || line[1] != e.Customers.String() {
						t.Errorf("CSV line %v: cohort %s of %s", line, e.Cohort, e.Customers)
					}
				}
			}
			// The first and last cell of each row (a few pages each): the
			// customers listed are as many as the cell counts.
			k = 0
			for _, e := range api.Entries {
				for i, c := range e.Cells {
					cell := cells[k]
					k++
					if i != 0 && i != len(e.Cells)-1 {
						continue
					}
					href := unescape(cell[7])
					u, _ := url.Parse(href)
					if u.Query().Get("cohort") != e.Cohort || u.Query().Get("age") != str(c["age"]) || u.Query().Get("filters") != mustQuery(tc.q).Get("filters") {
						t.Fatalf("cell link %s", href)
					}
					uuids := b.customerUUIDs(href)
					if n, _ := strconv.Atoi(str(c["customers"])); len(uuids) != n {
						t.Errorf("%s cohort %s age %s: %d customers listed, the cell counts %s", tc.q, e.Cohort, c["age"], len(uuids), c["customers"])
					}
					if got := attr(b.get(href).body, "data-customers"); got != str(c["customers"]) {
						t.Errorf("cohort %s age %s: the list's page says %q customers, the cell %s", e.Cohort, c["age"], got, c["customers"])
					}
				}
			}
		}
		if got := b.get("/metrics/cohorts?show=mrr"); got.status != http.StatusOK || !strings.Contains(got.body, `data-show="mrr"`) {
			t.Errorf("MRR view: %d", got.status)
		}
	})
}

func mustQuery(q string) url.Values {
	v, _ := url.ParseQuery(q)
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSegmentForms: a full-access session makes, renames, edits and
// deletes saved segments with the form token; read-only sessions and
// share links see them and pick them, and change nothing.
func TestSegmentForms(t *testing.T) {
	t.Parallel() // each installs the demo book of its own: the package ran 7 minutes under -race one by one
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		st := newSite(t, s)
		b := st.browser()
		b.signIn(st.key)
		list := func() []map[string]any {
			var out struct {
				Entries  []map[string]any `json:"entries"`
				Segments []map[string]any `json:"segments"`
			}
			st.api(st.key, "/v1/segments", &out)
			return append(out.Segments, out.Entries...)
		}
		csrf := csrfRe.FindStringSubmatch(b.get("/segments").body)[1]
		cfl := "region~ANY~'US'"

		if got := b.do(http.MethodPost, "/segments", url.Values{"name": {"US"}, "filters": {cfl}}); got.status != http.StatusForbidden {
			t.Errorf("POST without the token: %d", got.status)
		}
		if got := b.do(http.MethodPost, "/segments", url.Values{"name": {"US"}, "filters": {cfl}, "csrf": {csrf}},
			"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); got.status != http.StatusForbidden {
			t.Errorf("cross-site POST: %d", got.status)
		}
		if n := len(list()); n != 0 {
			t.Fatalf("refused posts made %d segments", n)
		}
		// A bad expression: the API's status and words, the form kept.
		bad := b.do(http.MethodPost, "/segments", url.Values{"name": {"Bad"}, "filters": {"region~WHAT~'US'"}, "csrf": {csrf}})
		if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="segment-error"`) ||
			!strings.Contains(bad.body, "WHAT") || !strings.Contains(bad.body, `value="Bad"`) {
			t.Errorf("bad expression: %d", bad.status)
		}
		made := b.do(http.MethodPost, "/segments", url.Values{"name": {"US"}, "filters": {cfl}, "csrf": {csrf}})
		if made.status != http.StatusSeeOther || made.header.Get("Location") != "/segments" {
			t.Fatalf("create: %d %s", made.status, made.body)
		}
		segs := list()
		if len(segs) != 1 || segs[0]["name"] != "US" || segs[0]["filters"] != cfl {
			t.Fatalf("segments after create: %v", segs)
		}
		uuid := segs[0]["uuid"].(string)

		// The picker offers it, and a page of it is the API's answer to it.
		const period = "start-date=2025-06-01&end-date=2026-11-30&interval=month"
		pg := b.get("/metrics/customer-count?" + period + "&segment=" + uuid)
		if !strings.Contains(pg.body, `<option value="`+uuid+`" selected>US</option>`) {
			t.Error("the picker does not show the segment picked")
		}
		var api struct {
			Entries []map[string]any `json:"entries"`
		}
		st.api(st.key, "/v1/metrics/customer-count?"+period+"&segment="+uuid, &api)
		cells := cellRe.FindAllStringSubmatch(pg.body, -1)
		if len(cells) != len(api.Entries) {
			t.Fatalf("%d cells, %d entries", len(cells), len(api.Entries))
		}
		for i, c := range cells {
			if want := api.Entries[i]["customers"].(json.Number).String(); c[2] != want || !strings.Contains(c[3], "segment="+uuid) {
				t.Errorf("%s: page %s (link %s), API %s", api.Entries[i]["date"], c[2], c[3], want)
			}
		}

		// Rename and edit.
		if got := b.do(http.MethodPost, "/segments/"+uuid, url.Values{"name": {"US and GB"}, "filters": {"region~ANY~'GB','US'"}, "csrf": {csrf}}); got.status != http.StatusSeeOther {
			t.Fatalf("edit: %d %s", got.status, got.body)
		}
		if segs := list(); len(segs) != 1 || segs[0]["name"] != "US and GB" || segs[0]["filters"] != "region~ANY~'GB','US'" {
			t.Errorf("after the edit: %v", segs)
		}

		// Delete.
		if got := b.do(http.MethodPost, "/segments/"+uuid+"/delete", url.Values{"csrf": {csrf}}); got.status != http.StatusSeeOther {
			t.Fatalf("delete: %d %s", got.status, got.body)
		}
		if n := len(list()); n != 0 {
			t.Errorf("%d segments after the delete", n)
		}
		// An unknown segment on a page: the API's 404, beside the builder.
		if got := b.get("/metrics/mrr?segment=" + uuid); got.status != http.StatusNotFound || !strings.Contains(got.body, `id="filter-error"`) {
			t.Errorf("a deleted segment's page: %d", got.status)
		}
	})
}

// TestSegmentsReadOnly: a read-only session lists the saved segments and
// picks them, sees no form, and its POSTs change nothing.
func TestSegmentsReadOnly(t *testing.T) {
	t.Parallel() // each installs the demo book of its own: the package ran 7 minutes under -race one by one
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		st := newSite(t, s)
		cfl := "region~ANY~'GB','US'"
		uuid := st.postSegment("US and GB", cfl)
		ro := st.browser()
		ro.signIn(st.readKey)
		rp := ro.get("/segments")
		if rp.status != http.StatusOK || !strings.Contains(rp.body, "US and GB") || strings.Contains(rp.body, `action="/segments`) {
			t.Errorf("read-only segments page: %d, forms shown", rp.status)
		}
		pg := ro.get("/metrics/mrr")
		if !strings.Contains(pg.body, `<option value="`+uuid+`">US and GB</option>`) || strings.Contains(pg.body, `class="save-segment"`) {
			t.Error("the read-only picker does not list the segment, or offers to save one")
		}
		roCSRF := csrfRe.FindStringSubmatch(rp.body)[1]
		for path, form := range map[string]url.Values{
			"/segments":                     {"name": {"x"}, "filters": {cfl}, "csrf": {roCSRF}},
			"/segments/" + uuid:             {"name": {"x"}, "filters": {cfl}, "csrf": {roCSRF}},
			"/segments/" + uuid + "/delete": {"csrf": {roCSRF}},
		} {
			if got := ro.do(http.MethodPost, path, form); got.status != http.StatusForbidden {
				t.Errorf("read-only POST %s: %d", path, got.status)
			}
		}
		var out struct {
			Segments []map[string]any `json:"segments"`
		}
		st.api(st.key, "/v1/segments", &out)
		if len(out.Segments) != 1 || out.Segments[0]["name"] != "US and GB" || out.Segments[0]["filters"] != cfl {
			t.Errorf("a read-only POST changed the segments: %v", out.Segments)
		}
	})
}

// TestShareLinkCohorts: a share link sees the segments and the cohorts,
// changes nothing, and its cohort customer lists hide names as its other
// lists do.
func TestShareLinkCohorts(t *testing.T) {
	t.Parallel() // each installs the demo book of its own: the package ran 7 minutes under -race one by one
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		st := newSite(t, s)
		b := st.browser()
		b.signIn(st.key)
		csrf := csrfRe.FindStringSubmatch(b.get("/settings").body)[1]
		st.postSegment("Europe", "region~ANY~'DE','FR'")
		made := b.do(http.MethodPost, "/settings/share", url.Values{"name": {"Board"}, "csrf": {csrf}})
		link := regexp.MustCompile(`value="(http[^"]+/share/[0-9a-f]+/)"`).FindStringSubmatch(made.body)
		if link == nil {
			t.Fatalf("create share link: %d", made.status)
		}
		path := strings.TrimPrefix(link[1], st.srv.URL)
		anon := st.browser()
		var cus struct {
			Entries []map[string]any `json:"entries"`
		}
		st.api(st.key, "/v1/customers?per_page=200", &cus)
		hm := anon.get(path + "metrics/cohorts?start-date=2024-01-01&end-date=2026-11-30&cohort-interval=quarter")
		cells := heatRe.FindAllStringSubmatch(hm.body, -1)
		if hm.status != http.StatusOK || len(cells) == 0 {
			t.Fatalf("shared cohorts: %d, %d cells", hm.status, len(cells))
		}
		href := unescape(cells[0][7])
		if !strings.HasPrefix(href, path) {
			t.Fatalf("a shared cell links outside the share: %s", href)
		}
		for _, p := range []string{href, strings.Replace(href, "cohorts/customers?", "cohorts/customers.csv?", 1), path + "segments"} {
			got := anon.get(p)
			if got.status != http.StatusOK {
				t.Fatalf("shared %s: %d", p, got.status)
			}
			for _, c := range cus.Entries {
				for _, f := range []string{"name", "email"} {
					if v, _ := c[f].(string); v != "" && strings.Contains(got.body, v) {
						t.Fatalf("shared %s shows the %s %q", p, f, v)
					}
				}
			}
		}
		if !strings.Contains(anon.get(path+"segments").body, "Europe") || strings.Contains(anon.get(path+"segments").body, `method="post"`) {
			t.Error("the shared segments page does not list the segment, or shows a form")
		}
		if got := anon.do(http.MethodPost, path+"segments", url.Values{"name": {"x"}, "filters": {"region~ANY~'US'"}}); got.status != http.StatusForbidden {
			t.Errorf("POST through a share link: %d", got.status)
		}
	})
}
