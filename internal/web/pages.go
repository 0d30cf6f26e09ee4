package web

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/store"
)

// tile is a KPI of the home page: the API's value for the period's last
// entry and its change against the entry before.
type tile struct {
	Metric, Label, Unit, Href string
	// Date is the entry the value is of.
	Date          string
	Value, Change any
	Spark         chart
	// Bad is whether the change is for the worse: up for a churn rate,
	// down for the rest.
	Bad bool
}

type homePage struct {
	Tiles      []tile
	Chart      chart
	Activities []map[string]any
}

// tileDefs are the home page's tiles: which answer and key each reads.
//
// A stock (MRR, ARR, customers, ARPA) is read at the period's last entry,
// today when the period reaches it. A flow (net new MRR, ASP, the churn
// and retention rates, LTV) is read at the last finished period when the
// last is still running: three days into a month say nothing yet about
// its churn.
var tileDefs = []struct {
	metric, label, unit, source, page string
	flow                              bool
}{
	{"mrr", "MRR", "money", "all", "mrr", false},
	{"arr", "ARR", "money", "all", "arr", false},
	{"net-new-mrr", "Net new MRR", "money", "mrr", "mrr", true},
	{"customers", "Customers", "count", "all", "customer-count", false},
	{"arpa", "ARPA", "money", "all", "arpa", false},
	{"asp", "ASP", "money", "all", "asp", true},
	{"customer-churn-rate", "Customer churn rate", "pct", "all", "customer-churn-rate", true},
	{"mrr-churn-rate", "Net MRR churn rate", "pct", "all", "mrr-churn-rate", true},
	{"net-mrr-retention", "Net MRR retention", "pct", "retention", "retention", true},
	{"ltv", "LTV", "money", "all", "ltv", true},
}

func (w *Web) home(rw http.ResponseWriter, r *http.Request) error {
	pg := w.newPage(r, "Overview", "home")
	if builderRedirect(rw, r, pg.Base) {
		return nil
	}
	var err error
	if pg.Filters, err = w.newFilterBar(r, &pg); err != nil {
		return err
	}
	p, q, err := w.period(r, pg.Filters)
	if err != nil {
		return err
	}
	pg.Period = &p
	if pg.Version, err = w.version(r); err != nil {
		return err
	}
	answers := map[string]*series{"all": {}, "mrr": {}, "retention": {}}
	for name, s := range answers {
		def, _ := metricDefByName(name)
		if err := w.get(r, "/v1/metrics/"+name, def.query(q), s); err != nil {
			return w.refuse(rw, r, pg, err)
		}
	}
	var data homePage
	for _, t := range tileDefs {
		s := answers[t.source]
		tl := tile{Metric: t.metric, Label: t.label, Unit: t.unit, Href: link(pg.Base, "metrics/"+t.page, "start-date", q.Get("start-date"),
			"end-date", q.Get("end-date"), "interval", q.Get("interval"), "geo", q.Get("geo"), "plans", q.Get("plans"),
			"filters", q.Get("filters"), "segment", q.Get("segment"))}
		if n := len(s.Entries); n > 0 {
			i := n - 1
			if t.flow {
				// The last period over: the last entry dated before
				// today (a range may end in the future, too).
				for i > 0 && str(s.Entries[i]["date"]) >= p.Today.Format(time.DateOnly) {
					i--
				}
			}
			e := s.Entries[i]
			tl.Value, tl.Date = e[t.metric], str(e["date"])
			if t.source == "retention" {
				// The retention answer has no per-entry change; its
				// summary compares its last two entries, so the range is
				// asked again ending at the tile's entry.
				if i < n-1 {
					q2 := maps.Clone(q)
					q2.Set("end-date", tl.Date)
					var s2 series
					if err := w.get(r, "/v1/metrics/retention", q2, &s2); err != nil {
						return err
					}
					tl.Change = s2.Summary[t.metric+"-percentage-change"]
				} else {
					tl.Change = s.Summary[t.metric+"-percentage-change"]
				}
			} else {
				tl.Change = e[t.metric+"-percentage-change"]
			}
			if c := str(tl.Change); c != "0" && c != "" {
				up := !strings.HasPrefix(c, "-")
				tl.Bad = up == strings.Contains(t.metric, "churn")
			}
		}
		// A flow's sparkline stops at its tile's entry: a running period
		// would end every line in a fall.
		var spark []map[string]any
		if len(s.Entries) > 0 {
			spark = s.Entries[:len(s.Entries)-1]
			if i := slices.IndexFunc(s.Entries, func(e map[string]any) bool { return str(e["date"]) == tl.Date }); i >= 0 {
				spark = s.Entries[:i+1]
			}
		}
		tl.Spark = chart{Kind: "spark", Unit: t.unit, Currency: pg.Account.Currency,
			Series: []chartSeries{{Key: t.metric, Label: t.label, Role: "line", Unit: t.unit, Values: numbers(spark, t.metric)}}}
		for _, e := range spark {
			tl.Spark.Dates = append(tl.Spark.Dates, str(e["date"]))
		}
		data.Tiles = append(data.Tiles, tl)
	}
	mrrDef, _ := metricDefByName("mrr")
	data.Chart = buildChart(mrrDef, *answers["mrr"], p, pg.Base, pg.Account.Currency)
	var acts struct {
		Entries []map[string]any `json:"entries"`
	}
	aq := pass(q, "filters", "segment")
	aq.Set("order", "-date")
	aq.Set("per_page", "10")
	if err := w.get(r, "/v1/activities", aq, &acts); err != nil {
		return err
	}
	data.Activities = acts.Entries
	pg.Data = data
	w.render(rw, r, http.StatusOK, "home", pg)
	return nil
}

// list is a paged API list as the API wrote it.
type list struct {
	Entries    []map[string]any `json:"entries"`
	HasMore    bool             `json:"has_more"`
	Cursor     *string          `json:"cursor"`
	Page       int              `json:"page"`
	TotalPages int              `json:"total_pages"`
	Total      map[string]any   `json:"total"`
}

// pass copies the named query parameters that are set.
func pass(q url.Values, names ...string) url.Values {
	out := url.Values{}
	for _, n := range names {
		if v := strings.TrimSpace(q.Get(n)); v != "" {
			out.Set(n, v)
		}
	}
	return out
}

type customersPage struct {
	List list
	// Prev and Next are the neighbouring pages' numbers (0: none).
	Prev, Next int
	Plans      []map[string]any
}

// customers serves the customer list and its CSV: the API's list with
// its filters (q, status, plan, country, sort), 50 a page.
func (w *Web) customers(rw http.ResponseWriter, r *http.Request) error {
	pg, asCSV, done, err := w.selectionPage(rw, r, "Customers", "customers")
	if done || err != nil {
		return err
	}
	q := pass(r.URL.Query(), "q", "status", "plan", "country", "sort", "page", "filters", "segment")
	if pg.Shared {
		// Searching or sorting names through a share link would reveal
		// them.
		q.Del("q")
		if strings.HasSuffix(q.Get("sort"), "name") {
			q.Del("sort")
		}
	}
	q.Set("per_page", "50")
	// The version before the data: a write between the two then shows
	// as a change at the next poll, never as a stale page stamped new.
	if pg.Version, err = w.version(r); err != nil {
		return err
	}
	var data customersPage
	if err := w.get(r, "/v1/customers", q, &data.List); err != nil {
		return w.refuse(rw, r, pg, err)
	}
	if asCSV {
		return writeCSV(rw, "customers", customersCSV(data.List.Entries, pg.Shared, pg.Account.Currency))
	}
	var plans struct {
		Plans []map[string]any `json:"plans"`
	}
	if err := w.get(r, "/v1/plans", url.Values{"per_page": {"200"}}, &plans); err != nil {
		return err
	}
	data.Plans = plans.Plans
	if page := data.List.Page; page > 1 {
		data.Prev = page - 1
	}
	if data.List.HasMore {
		data.Next = max(data.List.Page, 1) + 1
	}
	pg.Data = data
	w.render(rw, r, http.StatusOK, "customers", pg)
	return nil
}

type customerPage struct {
	Customer       map[string]any
	Activities     []map[string]any
	Subscriptions  []map[string]any
	Invoices       []map[string]any
	Reconciliation map[string]any
	Chart          chart
}

// customer is one customer's page: the API's customer, its movements
// (drawn as its MRR step by step), subscriptions, invoices and the
// reconciliation of its numbers.
func (w *Web) customer(rw http.ResponseWriter, r *http.Request) error {
	uuid := r.PathValue("uuid")
	pg := w.newPage(r, "Customer", "customers")
	var data customerPage
	var err error
	if pg.Version, err = w.version(r); err != nil {
		return err
	}
	esc := url.PathEscape(uuid)
	if err := w.get(r, "/v1/customers/"+esc, nil, &data.Customer); err != nil {
		return err
	}
	var acts list
	var invoices struct {
		Invoices []map[string]any `json:"invoices"`
	}
	var subsOut struct {
		Entries []map[string]any `json:"entries"`
	}
	if err := w.get(r, "/v1/customers/"+esc+"/activities", url.Values{"per_page": {"200"}}, &acts); err != nil {
		return err
	}
	if err := w.get(r, "/v1/customers/"+esc+"/subscriptions", url.Values{"per_page": {"200"}}, &subsOut); err != nil {
		return err
	}
	if err := w.get(r, "/v1/import/customers/"+esc+"/invoices", url.Values{"per_page": {"50"}}, &invoices); err != nil {
		return err
	}
	if err := w.get(r, "/v1/customers/"+esc+"/reconciliation", nil, &data.Reconciliation); err != nil {
		return err
	}
	data.Activities, data.Subscriptions, data.Invoices = acts.Entries, subsOut.Entries, invoices.Invoices
	// The step chart: the customer's MRR after each movement, then now.
	data.Chart = chart{Kind: "step", Unit: "money", Currency: pg.Account.Currency}
	mrr := chartSeries{Key: "activity-mrr", Label: "MRR", Role: "line", Unit: "money"}
	for _, a := range data.Activities {
		data.Chart.Dates = append(data.Chart.Dates, formatDate(a["date"]))
		mrr.Values = append(mrr.Values, number(a["activity-mrr"]))
	}
	data.Chart.Dates = append(data.Chart.Dates, today(pg.Account, w.opts.Now()).Format(time.DateOnly))
	mrr.Values = append(mrr.Values, number(data.Customer["mrr"]))
	data.Chart.Series = []chartSeries{mrr}
	if !pg.Shared {
		pg.Title = str(data.Customer["name"])
	}
	if pg.Title == "" {
		pg.Title = "Customer " + short(uuid)
	}
	pg.Data = data
	w.render(rw, r, http.StatusOK, "customer", pg)
	return nil
}

func number(v any) json.Number {
	if n, ok := v.(json.Number); ok {
		return n
	}
	return "0"
}

type activitiesPage struct {
	List list
	// Column is the table column a drill-down came from, if any.
	Column          column
	Type, From, To  string
	Next, FirstPage string
}

// activities is the activity feed and every drill-down's target: the
// API's list with its filters, and the API's total of the movements
// across every page (with_total), which a drill-down shows beside the
// number it explains.
func (w *Web) activities(rw http.ResponseWriter, r *http.Request) error {
	pg, asCSV, done, err := w.selectionPage(rw, r, "Activities", "activities")
	if done || err != nil {
		return err
	}
	in := r.URL.Query()
	q := pass(in, "type", "start-date", "end-date", "cursor", "order", "filters", "segment")
	if q.Get("order") == "" {
		q.Set("order", "-date")
	}
	q.Set("per_page", "50")
	if q.Get("start-date") != "" || q.Get("end-date") != "" {
		// A period's total (a drill-down's): its activities, not the
		// account's every one.
		q.Set("with_total", "true")
	}
	data := activitiesPage{Type: in.Get("type"), From: in.Get("start-date"), To: in.Get("end-date"), Column: columnLabel(in.Get("with"))}
	if pg.Version, err = w.version(r); err != nil {
		return err
	}
	if err := w.get(r, "/v1/activities", q, &data.List); err != nil {
		return w.refuse(rw, r, pg, err)
	}
	if asCSV {
		return writeCSV(rw, "activities", activitiesCSV(data.List.Entries, pg.Shared))
	}
	if data.List.HasMore && data.List.Cursor != nil {
		next := pass(in, "type", "start-date", "end-date", "order", "with", "filters", "segment")
		next.Set("cursor", *data.List.Cursor)
		data.Next = pg.Base + "activities?" + next.Encode()
	}
	if in.Get("cursor") != "" {
		data.FirstPage = pg.Base + "activities?" + pass(in, "type", "start-date", "end-date", "order", "with", "filters", "segment").Encode()
	}
	pg.Data = data
	w.render(rw, r, http.StatusOK, "activities", pg)
	return nil
}

// activity shows what caused a movement, as the API's sources endpoint
// resolves it: invoice lines, cancellations, subscription events.
func (w *Web) activity(rw http.ResponseWriter, r *http.Request) error {
	pg := w.newPage(r, "Activity", "activities")
	var data map[string]any
	if err := w.get(r, "/v1/activities/"+url.PathEscape(r.PathValue("uuid"))+"/sources", nil, &data); err != nil {
		return err
	}
	pg.Data = data
	w.render(rw, r, http.StatusOK, "activity", pg)
	return nil
}

type settingsPage struct {
	KeyPrefix, Access string
	Links             []store.ShareLink
	// NewLink is a link just made, shown this once.
	NewLink string
}

func (w *Web) settings(rw http.ResponseWriter, r *http.Request) error {
	return w.renderSettings(rw, r, "")
}

func (w *Web) renderSettings(rw http.ResponseWriter, r *http.Request, newLink string) error {
	v := viewerOf(r)
	if v.shared {
		return errNotFound
	}
	pg := w.newPage(r, "Settings", "settings")
	links, err := w.store.ShareLinks(r.Context(), v.p.Account.ID)
	if err != nil {
		return err
	}
	pg.Data = settingsPage{KeyPrefix: auth.Shown(v.p.Key.Prefix), Access: string(v.p.Key.Access), Links: links, NewLink: newLink}
	w.render(rw, r, http.StatusOK, "settings", pg)
	return nil
}

// createShare makes a read-only link to the dashboard; its secret is in
// the link, shown once, and stored hashed.
func (w *Web) createShare(rw http.ResponseWriter, r *http.Request) error {
	v := viewerOf(r)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
		pg := w.newPage(r, "Refused", "settings")
		pg.Message = "A share link's name must be text (UTF-8, without NUL characters)."
		w.render(rw, r, http.StatusBadRequest, "error", pg)
		return nil
	}
	if name == "" {
		name = "Shared dashboard"
	}
	if runes := []rune(name); len(runes) > 255 {
		name = string(runes[:255])
	}
	token := auth.NewToken()
	if _, err := w.store.CreateShareLink(r.Context(), v.p.Account.ID, v.p.Key.ID, auth.Hash(token), name, r.PostFormValue("embed") == "on"); err != nil {
		return err
	}
	return w.renderSettings(rw, r, w.origin(r)+"/share/"+token+"/")
}

func (w *Web) revokeShare(rw http.ResponseWriter, r *http.Request) error {
	err := w.store.RevokeShareLink(r.Context(), viewerOf(r).p.Account.ID, r.PathValue("uuid"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	http.Redirect(rw, r, "/settings", http.StatusSeeOther)
	return nil
}

// origin is where people reach the server: --public-url, else the scheme
// and host the browser came to (https per a trusted proxy too).
func (w *Web) origin(r *http.Request) string {
	if w.opts.PublicURL != "" {
		return strings.TrimSuffix(w.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || (w.opts.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// version is the account's results version: it moves with every write
// that changes a number (a recomputation stamps it), and with every
// removal of customers.
func (w *Web) version(r *http.Request) (string, error) {
	v, resets, err := w.store.ResultsState(r.Context(), viewerOf(r).p.Account.ID)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10) + "." + strconv.FormatInt(resets, 10), nil
}

// live answers the open page's poll with the results version; the page
// reloads its content when it moved.
func (w *Web) live(rw http.ResponseWriter, r *http.Request) error {
	v, err := w.version(r)
	if err != nil {
		return err
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(rw).Encode(map[string]string{"version": v})
}
