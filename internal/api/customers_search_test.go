package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// searchBook is the customer book of the search tests, for account acme:
// data source A (Import API) with yearly plans Bronze (plan_bronze), Gold
// (plan_gold) and Free (plan_free), data source B (Stripe) with its own
// Gold (also plan_gold). Each customer's MRR is its yearly amount / 12:
//
//	cus_0001 Adam Smith    adam@example.com US  Bronze 12,000 now → 1,000 (Gold from next year)
//	cus_0002 Émile Zola    EMILE@Zola.fr    FR  Gold 60,000 → 5,000
//	cus_0003 Eva Smithson  eva@acme.io      DE  Bronze in 2020, cancelled → 0, Cancelled
//	cus_0004 zoe brown     zoe@example.org  US  Free, 0 → 0, New Lead; legacy-42 merged into it
//	cus_STRIPE_77 (B) Bob Stone bob@stone.com GB Gold (B) 36,000 → 3,000
//	cus_0006 Li Na         li.na@example.com CN Bronze last year, Gold 60,000 now → 5,000
type searchBook struct {
	dsA, dsB            string
	bronze, gold, goldB string
	byExt               map[string]string // external id → customer UUID
}

func newSearchBook(t *testing.T, e *env) searchBook {
	t.Helper()
	b := searchBook{byExt: map[string]string{}}
	b.dsA = e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "A"})["uuid"].(string)
	b.dsB = e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "B", "system": "Stripe"})["uuid"].(string)
	plan := func(ds, name, ext string) string {
		return e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": name, "interval_count": 1,
			"interval_unit": "year", "external_id": ext})["uuid"].(string)
	}
	b.bronze, b.gold, b.goldB = plan(b.dsA, "Bronze", "plan_bronze"), plan(b.dsA, "Gold", "plan_gold"), plan(b.dsB, "Gold", "plan_gold")
	free := plan(b.dsA, "Free", "plan_free")

	// Periods: the current year started 30 days ago.
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	now := time.Now().UTC()
	start := now.AddDate(0, 0, -30)
	lastYear, thisYear, nextYear := start.AddDate(-1, 0, 0), start, start.AddDate(1, 0, 0)
	type period struct {
		plan, sub      string
		from, to       time.Time
		amount         int
		cancelledAtEnd bool
	}
	customer := func(ds, ext, name, email, country string, periods ...period) {
		uuid := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": ext, "name": name,
			"email": email, "country": country})["uuid"].(string)
		b.byExt[ext] = uuid
		var invs []map[string]any
		for i, p := range periods {
			line := map[string]any{"type": "subscription", "subscription_external_id": p.sub, "plan_uuid": p.plan,
				"service_period_start": day(p.from), "service_period_end": day(p.to), "amount_in_cents": p.amount, "quantity": 1}
			if p.cancelledAtEnd {
				line["cancelled_at"] = day(p.to)
			}
			invs = append(invs, map[string]any{"external_id": fmt.Sprint(ext, "-", i), "date": day(p.from), "currency": "USD",
				"line_items":   []any{line},
				"transactions": []any{map[string]any{"date": day(p.from), "type": "payment", "result": "successful"}}})
		}
		if len(invs) > 0 {
			e.ok(201, "POST", "/v1/import/customers/"+uuid+"/invoices", invoices(invs...))
		}
	}
	customer(b.dsA, "cus_0001", "Adam Smith", "adam@example.com", "US",
		period{plan: b.bronze, sub: "s1", from: thisYear, to: nextYear, amount: 12000},
		period{plan: b.gold, sub: "s1", from: nextYear, to: nextYear.AddDate(1, 0, 0), amount: 60000})
	customer(b.dsA, "cus_0002", "Émile Zola", "EMILE@Zola.fr", "FR", period{plan: b.gold, sub: "s2", from: thisYear, to: nextYear, amount: 60000})
	customer(b.dsA, "cus_0003", "Eva Smithson", "eva@acme.io", "DE",
		period{plan: b.bronze, sub: "s3", from: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), to: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
			amount: 12000, cancelledAtEnd: true})
	customer(b.dsA, "cus_0004", "zoe brown", "zoe@example.org", "US", period{plan: free, sub: "s4", from: thisYear, to: nextYear})
	customer(b.dsB, "cus_STRIPE_77", "Bob Stone", "bob@stone.com", "GB", period{plan: b.goldB, sub: "s5", from: thisYear, to: nextYear, amount: 36000})
	customer(b.dsA, "cus_0006", "Li Na", "li.na@example.com", "CN",
		period{plan: b.bronze, sub: "s6", from: lastYear, to: thisYear, amount: 12000},
		period{plan: b.gold, sub: "s6", from: thisYear, to: nextYear, amount: 60000})
	customer(b.dsB, "legacy-42", "Old Zoe", "old@zoe.example", "US")
	e.ok(202, "POST", "/v1/customers/merges", map[string]any{"from": map[string]any{"customer_uuid": b.byExt["legacy-42"]},
		"into": map[string]any{"customer_uuid": b.byExt["cus_0004"]}})
	delete(b.byExt, "legacy-42")

	// Another account with look-alikes: a Smith in the US on its own plan_bronze.
	ods := e.do(e.otherKey, "POST", "/v1/data_sources", map[string]any{"name": "A"}).json(t)["uuid"].(string)
	opl := e.do(e.otherKey, "POST", "/v1/plans", map[string]any{"data_source_uuid": ods, "name": "Bronze", "interval_count": 1,
		"interval_unit": "year", "external_id": "plan_bronze"}).json(t)["uuid"].(string)
	ocus := e.do(e.otherKey, "POST", "/v1/customers", map[string]any{"data_source_uuid": ods, "external_id": "cus_0001",
		"name": "Adam Smithee", "email": "adam@example.com", "country": "US"}).json(t)["uuid"].(string)
	inv := map[string]any{"external_id": "o-1", "date": day(thisYear), "currency": "USD", "line_items": []any{map[string]any{
		"type": "subscription", "subscription_external_id": "o1", "plan_uuid": opl, "service_period_start": day(thisYear),
		"service_period_end": day(nextYear), "amount_in_cents": 99000, "quantity": 1}}}
	if r := e.do(e.otherKey, "POST", "/v1/import/customers/"+ocus+"/invoices", invoices(inv)); r.status != 201 {
		t.Fatalf("other account's invoice: %d %s", r.status, r.body)
	}
	return b
}

// listed is the external ids of a list answer's entries, in order.
func listed(t *testing.T, m map[string]any) string {
	t.Helper()
	var ids []string
	for _, c := range m["entries"].([]any) {
		ids = append(ids, c.(map[string]any)["external_id"].(string))
	}
	return strings.Join(ids, ",")
}

// Issue 11 (the dashboard's Customers page): q, plan, country and sort on
// GET /v1/customers, alone and combined with each other and with the
// ChartMogul filters; the expected lists are worked out by hand from
// searchBook's table.
func TestCustomerSearchFiltersAndSorts(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := newSearchBook(t, e)
		for _, c := range []struct{ query, want string }{
			// q: a substring of the name, the email or any external id,
			// case-insensitively (Unicode), merged identities included.
			{"q=smith", "cus_0001,cus_0003"},
			{"q=SMITH", "cus_0001,cus_0003"},
			{"q=m+s", "cus_0001"},        // "adam smith"
			{"q=%C3%89MILE", "cus_0002"}, // ÉMILE
			{"q=zola.fr", "cus_0002"},    // the email, stored as EMILE@Zola.fr
			{"q=example", "cus_0001,cus_0004,cus_0006"},
			{"q=stripe_7", "cus_STRIPE_77"},
			{"q=LEGACY-4", "cus_0004"},
			{"q=m_t", ""}, // _ and % are text, not LIKE's wildcards
			{"q=%25mit", ""},
			{"q=nobody", ""},
			{"q=", "cus_0001,cus_0002,cus_0003,cus_0004,cus_STRIPE_77,cus_0006"}, // empty: no filter
			// plan: current subscriptions only (a live latest step now).
			{"plan=plan_bronze", "cus_0001"},
			{"plan=" + b.gold, "cus_0002,cus_0006"},
			{"plan=plan_gold", "cus_0002,cus_STRIPE_77,cus_0006"}, // one external id, two data sources
			{"plan=Free", "cus_0004"},                             // by name, as the plans filter; a free plan's live subscription counts
			// country: one or several codes, any case.
			{"country=US", "cus_0001,cus_0004"},
			{"country=us,fr", "cus_0001,cus_0002,cus_0004"},
			// sort: MRR 0, 0, 1,000, 3,000, 5,000, 5,000; ties by id.
			{"sort=mrr", "cus_0003,cus_0004,cus_0001,cus_STRIPE_77,cus_0002,cus_0006"},
			{"sort=-mrr", "cus_0006,cus_0002,cus_STRIPE_77,cus_0001,cus_0004,cus_0003"},
			// by folded name, byte by byte: "émile zola" after "zoe brown".
			{"sort=name", "cus_0001,cus_STRIPE_77,cus_0003,cus_0006,cus_0004,cus_0002"},
			{"sort=-name", "cus_0002,cus_0004,cus_0006,cus_0003,cus_STRIPE_77,cus_0001"},
			// combined with each other and with the ChartMogul filters.
			{"q=example&country=US&sort=-mrr", "cus_0001,cus_0004"},
			{"q=smith&plan=plan_bronze", "cus_0001"},
			{"plan=plan_gold&country=CN,GB&sort=-mrr", "cus_0006,cus_STRIPE_77"},
			{"status=Active&sort=-mrr", "cus_0006,cus_0002,cus_STRIPE_77,cus_0001"},
			{"status=Cancelled&q=eva", "cus_0003"},
			{"status=New+Lead&plan=plan_free&country=US&q=zoe&sort=name", "cus_0004"},
			{"data_source_uuid=" + b.dsB + "&plan=plan_gold", "cus_STRIPE_77"},
			{"data_source_uuid=" + b.dsB + "&sort=-name", "cus_0004,cus_STRIPE_77"}, // cus_0004 holds B's legacy-42
			{"system=Stripe&q=bob&sort=mrr", "cus_STRIPE_77"},
			{"external_id=cus_0006&plan=" + b.gold + "&sort=-name", "cus_0006"},
			{"external_id=legacy-42&q=zoe", "cus_0004"},
			{"q=example&plan=plan_gold&country=CN&status=Active&data_source_uuid=" + b.dsA + "&system=Import+API&external_id=cus_0006&sort=mrr",
				"cus_0006"},
			{"q=smith&country=FR", ""},
		} {
			m := e.ok(200, "GET", "/v1/customers?"+c.query, nil)
			if got := listed(t, m); got != c.want {
				t.Errorf("?%s: %s, want %s", c.query, got, c.want)
			}
			if n := strings.Count(c.want, ",") + 1; c.want != "" && m["total_pages"] != float64(1) {
				t.Errorf("?%s: total_pages %v for %d customers", c.query, m["total_pages"], n)
			}
		}
		// The list shows the MRR it sorts by.
		m := e.ok(200, "GET", "/v1/customers?sort=-mrr&per_page=3", nil)
		var mrrs []string
		for _, c := range m["entries"].([]any) {
			mrrs = append(mrrs, fmt.Sprint(c.(map[string]any)["mrr"]))
		}
		if strings.Join(mrrs, ",") != "5000,5000,3000" {
			t.Errorf("sort=-mrr shows MRR %v", mrrs)
		}
	})
}

func TestCustomerSearchRefusesBadValues(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		newSearchBook(t, e)
		other := e.do(e.otherKey, "GET", "/v1/plans", nil).json(t)["plans"].([]any)[0].(map[string]any)["uuid"].(string)
		sorted := e.ok(200, "GET", "/v1/customers?sort=mrr&per_page=1", nil)["cursor"].(string)
		plain := e.ok(200, "GET", "/v1/customers?per_page=1", nil)["cursor"].(string)
		for _, c := range []struct{ query, param string }{
			{"q=ab", "q"}, // fewer than 3 characters
			{"q=+%C3%A9t+", "q"},
			{"q=" + strings.Repeat("x", 256), "q"},
			{"plan=plan_platinum", "plan"},
			{"plan=" + other, "plan"}, // another account's plan is as unknown as a made-up one
			{"country=XX", "country"},
			{"country=US,USA", "country"},
			{"sort=mrr_desc", "sort"},
			{"sort=MRR", "sort"},
			{"sort=name&cursor=" + url.QueryEscape(sorted), "cursor"}, // another order's cursor
			{"cursor=" + url.QueryEscape(sorted), "cursor"},           // a sorted list's cursor without its sort
			{"sort=mrr&cursor=" + url.QueryEscape(plain), "cursor"},   // creation order's cursor
			{"sort=mrr&cursor=bm9wZQ", "cursor"},
		} {
			r := e.do(e.key, "GET", "/v1/customers?"+c.query, nil)
			if r.status != 400 || r.json(t)["param"] != c.param {
				t.Errorf("?%s: %d %s, want 400 naming %s", c.query, r.status, r.body, c.param)
			}
		}
	})
}

// Paging a sorted list: page numbers and cursors both walk it without
// losing or repeating a customer, and the cursor keeps its place when the
// last customer it names is deleted.
func TestCustomerSearchPaging(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := newSearchBook(t, e)
		walk := func(query string) (pages []string) {
			t.Helper()
			path := "/v1/customers?" + query
			for range 10 {
				m := e.ok(200, "GET", path, nil)
				pages = append(pages, listed(t, m))
				if m["has_more"] != true {
					if m["cursor"] != nil {
						t.Fatalf("?%s: the last page has a cursor", query)
					}
					return pages
				}
				path = "/v1/customers?" + query + "&cursor=" + url.QueryEscape(m["cursor"].(string))
			}
			t.Fatalf("?%s: more than 10 pages", query)
			return nil
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"sort=mrr&per_page=2", []string{"cus_0003,cus_0004", "cus_0001,cus_STRIPE_77", "cus_0002,cus_0006"}},
			{"sort=-mrr&per_page=4", []string{"cus_0006,cus_0002,cus_STRIPE_77,cus_0001", "cus_0004,cus_0003"}},
			{"sort=name&per_page=5", []string{"cus_0001,cus_STRIPE_77,cus_0003,cus_0006,cus_0004", "cus_0002"}},
			{"sort=-name&per_page=1&q=example", []string{"cus_0004", "cus_0006", "cus_0001"}},
			{"sort=mrr&per_page=1&status=Active", []string{"cus_0001", "cus_STRIPE_77", "cus_0002", "cus_0006"}},
		} {
			if got := walk(c.query); strings.Join(got, " | ") != strings.Join(c.want, " | ") {
				t.Errorf("?%s: pages %q, want %q", c.query, got, c.want)
			}
			// The same pages by number, with the legacy fields.
			for i, want := range c.want {
				m := e.ok(200, "GET", fmt.Sprintf("/v1/customers?%s&page=%d", c.query, i+1), nil)
				if got := listed(t, m); got != want || m["current_page"] != float64(i+1) || m["total_pages"] != float64(len(c.want)) {
					t.Errorf("?%s&page=%d: %s (page %v of %v), want %s", c.query, i+1, got, m["current_page"], m["total_pages"], want)
				}
			}
		}
		// A cursor names the last customer's place, not the customer: the
		// next page holds even when that customer is gone.
		m := e.ok(200, "GET", "/v1/customers?sort=mrr&per_page=2", nil)
		e.ok(204, "DELETE", "/v1/customers/"+b.byExt["cus_0004"], nil)
		next := e.ok(200, "GET", "/v1/customers?sort=mrr&per_page=2&cursor="+url.QueryEscape(m["cursor"].(string)), nil)
		if got := listed(t, next); got != "cus_0001,cus_STRIPE_77" || next["current_page"] != float64(2) {
			t.Errorf("after deleting the cursor's customer: %s (page %v)", got, next["current_page"])
		}
	})
}

// Every parameter keeps to the account: the other account's look-alikes
// (a Smith in the US with MRR 8,250 on its own plan_bronze) never show,
// and each account finds its own.
func TestCustomerSearchAccountIsolation(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		newSearchBook(t, e)
		for _, c := range []struct{ key, query, want string }{
			{e.key, "q=smith&country=US&plan=plan_bronze&sort=-mrr", "cus_0001"},
			{e.key, "q=smithee", ""},
			{e.otherKey, "q=smith", "cus_0001"},
			{e.otherKey, "q=zola", ""},
			{e.otherKey, "country=FR", ""},
			{e.otherKey, "plan=plan_bronze&sort=mrr", "cus_0001"},
			{e.otherKey, "sort=-mrr", "cus_0001"},
		} {
			r := e.do(c.key, "GET", "/v1/customers?"+c.query, nil)
			if r.status != 200 {
				t.Fatalf("?%s: %d %s", c.query, r.status, r.body)
			}
			m := r.json(t)
			if got := listed(t, m); got != c.want {
				t.Errorf("?%s (%s): %s, want %s", c.query, map[bool]string{true: "acme", false: "globex"}[c.key == e.key], got, c.want)
			}
			if c.key == e.otherKey && c.want != "" && m["entries"].([]any)[0].(map[string]any)["name"] != "Adam Smithee" {
				t.Errorf("?%s: globex lists %v", c.query, m["entries"])
			}
		}
		if r := e.do(e.otherKey, "GET", "/v1/customers?plan=plan_gold", nil); r.status != 400 {
			t.Errorf("globex filters by acme's plan: %d", r.status)
		}
	})
}

// The stored MRR and current plans that the sort and the plan filter read
// follow time as the status does: the background pass works them out
// anew when their instant has come.
func TestCustomerSearchStoredStateIsRefreshed(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		newSearchBook(t, e)
		db := e.store.DB()
		// As if time had overtaken every stored state.
		for _, q := range []string{`UPDATE customers SET mrr = 0, status_until = 1`, `DELETE FROM customer_plans`} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := e.store.RefreshStatuses(context.Background(), time.Now()); err != nil || n != 7 {
			t.Fatalf("refresh: %d customers, want acme's 6 and globex's 1; %v", n, err)
		}
		if got := listed(t, e.ok(200, "GET", "/v1/customers?sort=-mrr&plan=plan_gold", nil)); got != "cus_0006,cus_0002,cus_STRIPE_77" {
			t.Errorf("after the refresh: %s", got)
		}
	})
}

// The search follows a customer's identities as they move: an unmerged
// external id leaves with its customer, and a deleted data source takes
// its external ids away from the customers that had merged them.
func TestCustomerSearchFollowsIdentities(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		b := newSearchBook(t, e)
		e.ok(202, "POST", "/v1/customers/unmerges", map[string]any{"customer_uuid": b.byExt["cus_0004"], "data_source_uuid": b.dsB,
			"external_id": "legacy-42"})
		for q, want := range map[string]string{"q=legacy": "legacy-42", "q=zoe&sort=name": "legacy-42,cus_0004"} {
			if got := listed(t, e.ok(200, "GET", "/v1/customers?"+q, nil)); got != want {
				t.Errorf("after the unmerge, ?%s: %s, want %s", q, got, want)
			}
		}
		e.ok(202, "POST", "/v1/customers/merges", map[string]any{"from": map[string]any{"data_source_uuid": b.dsB, "external_id": "legacy-42"},
			"into": map[string]any{"customer_uuid": b.byExt["cus_0004"]}})
		e.ok(204, "DELETE", "/v1/data_sources/"+b.dsB, nil)
		for q, want := range map[string]string{"q=legacy": "", "q=stripe": "", "q=zoe": "cus_0004", "q=cus_000&sort=-name": "cus_0002,cus_0004,cus_0006,cus_0003,cus_0001"} {
			if got := listed(t, e.ok(200, "GET", "/v1/customers?"+q, nil)); got != want {
				t.Errorf("after deleting data source B, ?%s: %s, want %s", q, got, want)
			}
		}
	})
}
