package api

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Issue 13's metrics requirement for line items and transactions: editing,
// deleting or disabling one changes metrics/all, activities and cash flow
// exactly as deleting and re-importing the changed data would (each case
// compares its account with a second one imported already changed), and
// enabling it again restores the original answers byte for byte. Each
// case also checks one figure computed by hand, so that a comparison of
// two equally wrong answers cannot pass unseen.

// editBook is one customer's billing in an account of its own:
//
//	INV-1 2016-01-01  L1 S1 Gold 01-01..02-01 10000, LS one-time 2500;    T1 payment 01-01
//	INV-2 2016-02-01  L2 S1 Gold 02-01..03-01 12000;                      T2 payment 02-01
//	INV-3 2016-03-01  L3 S1 Gold 03-01..04-01 14000;                      T3 payment 03-01, T3R refund 2000 03-20
//	INV-R 2016-03-10  LR S1 Gold 03-01..04-01  4000;                      TR refund 03-10
//
//	E1, a subscription_cancellation_scheduled of S1 sent 2016-03-15, effective 2016-05-01
//
// MRR (metrics.md rules 1, 4, 5, 8): 10000 in January, 12000 from
// February 1st, 14000 from March 1st. INV-R has a refund and no payment:
// a refund document, so LR carries no MRR. INV-3 has a payment beside its
// refund, so L3 counts. Committed MRR (docs/committed-mrr.md) drops to 0
// on May 1st with E1.
type editBook struct {
	*cashBook
	cus, gold, annual string
}

func editInvoices(gold string) []map[string]any {
	sub := func(ext, sub, start, end string, amount int) map[string]any {
		l := subLine(gold, sub, start, end, amount)
		l["external_id"] = ext
		return l
	}
	tx := func(ext, typ, date string, amount ...int) map[string]any {
		t := txn(typ, "successful", date, amount...)
		t["external_id"] = ext
		return t
	}
	setup := oneTimeLine(2500)
	setup["external_id"] = "LS"
	inv := func(ext, date string, lines []any, txs ...any) map[string]any {
		return map[string]any{"external_id": ext, "date": date, "currency": "USD", "line_items": lines, "transactions": txs}
	}
	return []map[string]any{
		inv("INV-1", "2016-01-01", []any{sub("L1", "S1", "2016-01-01", "2016-02-01", 10000), setup}, tx("T1", "payment", "2016-01-01")),
		inv("INV-2", "2016-02-01", []any{sub("L2", "S1", "2016-02-01", "2016-03-01", 12000)}, tx("T2", "payment", "2016-02-01")),
		inv("INV-3", "2016-03-01", []any{sub("L3", "S1", "2016-03-01", "2016-04-01", 14000)},
			tx("T3", "payment", "2016-03-01"), tx("T3R", "refund", "2016-03-20", 2000)),
		inv("INV-R", "2016-03-10", []any{sub("LR", "S1", "2016-03-01", "2016-04-01", 4000)}, tx("TR", "refund", "2016-03-10")),
	}
}

// newEditBook imports the book, changed first by change when not nil.
func newEditBook(t *testing.T, e *env, account string, change func(invs []map[string]any, b *editBook)) *editBook {
	t.Helper()
	b := &editBook{cashBook: newCashBook(t, e, account)}
	b.cus = b.customer("cust", "US")
	plan := func(name, ext, unit string) string {
		return b.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": b.ds, "name": name, "external_id": ext,
			"interval_unit": unit, "interval_count": 1})["uuid"].(string)
	}
	b.gold, b.annual = plan("Gold", "gold", "month"), plan("Gold Annual", "gold-annual", "year")
	invs := editInvoices(b.gold)
	if change != nil {
		change(invs, b)
	}
	b.ok(201, "POST", "/v1/import/customers/"+b.cus+"/invoices", invoices(invs...))
	b.ok(201, "POST", "/v1/subscription_events", map[string]any{"subscription_event": map[string]any{"data_source_uuid": b.ds,
		"customer_external_id": "cust", "subscription_external_id": "S1", "event_type": "subscription_cancellation_scheduled",
		"event_date": "2016-03-15", "effective_date": "2016-05-01", "external_id": "E1"}})
	return b
}

// line is the line of invs with external id ext.
func line(invs []map[string]any, ext string) map[string]any {
	for _, inv := range invs {
		for _, l := range inv["line_items"].([]any) {
			if l := l.(map[string]any); l["external_id"] == ext {
				return l
			}
		}
	}
	panic("no line " + ext)
}

// transaction is the transaction of invs with external id ext.
func transaction(invs []map[string]any, ext string) map[string]any {
	for _, inv := range invs {
		for _, t := range inv["transactions"].([]any) {
			if t := t.(map[string]any); t["external_id"] == ext {
				return t
			}
		}
	}
	panic("no transaction " + ext)
}

// without returns list without the element of external id ext.
func without(list []any, ext string) []any {
	return slices.DeleteFunc(slices.Clone(list), func(x any) bool { return x.(map[string]any)["external_id"] == ext })
}

func (b *editBook) byExternalID(kind, ext string) string {
	return "/v1/" + kind + "?data_source_uuid=" + b.ds + "&external_id=" + url.QueryEscape(ext)
}

const editRange = "start-date=2016-01-01&end-date=2016-04-30"

// cmrrPath is committed MRR over the book and the two months after it.
const cmrrPath = "/v1/metrics/cmrr?start-date=2016-01-01&end-date=2016-06-30&interval=month"

// answers are the account's metrics/all, committed MRR and cash flow by
// day and its activities, as answered but for the activities' row ids
// (written anew by every recomputation).
func (b *editBook) answers() (all, cash, acts string) {
	b.e.t.Helper()
	get := func(path string) []byte {
		r := b.e.do(b.key, "GET", path, nil)
		if r.status != 200 {
			b.e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		return r.body
	}
	var list struct {
		Entries []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(get("/v1/activities?"+editRange+"&per_page=200"), &list); err != nil {
		b.e.t.Fatal(err)
	}
	for _, a := range list.Entries {
		delete(a, "id")
	}
	return string(get("/v1/metrics/all?"+editRange+"&interval=day")) + string(get(cmrrPath)),
		string(get("/v1/metrics/cash-flow?" + editRange + "&interval=day")), mustJSON(list.Entries)
}

// numbers are the answers as two accounts with the same billing give them
// alike: activities without what names their account's rows (uuid, the
// sources' and customer's ids), in a fixed order, and committed MRR
// without the events' and customer's ids.
func (b *editBook) numbers() string {
	_, cash, acts := b.answers()
	var cmrr map[string]any
	if err := json.Unmarshal(b.e.do(b.key, "GET", cmrrPath, nil).body, &cmrr); err != nil {
		b.e.t.Fatal(err)
	}
	for _, m := range cmrr["scheduled"].([]any) {
		delete(m.(map[string]any), "subscription-event-ids")
		delete(m.(map[string]any), "customer-uuid")
	}
	all := string(b.e.do(b.key, "GET", "/v1/metrics/all?"+editRange+"&interval=day", nil).body) + mustJSON(cmrr)
	var entries []map[string]any
	if err := json.Unmarshal([]byte(acts), &entries); err != nil {
		b.e.t.Fatal(err)
	}
	rows := make([]string, len(entries))
	for i, a := range entries {
		for _, k := range []string{"uuid", "sources", "customer-uuid", "billing-connector-uuid"} {
			delete(a, k)
		}
		rows[i] = mustJSON(a)
	}
	slices.Sort(rows)
	if len(rows) == 0 {
		b.e.t.Fatal("no activities: the book did not import")
	}
	return all + "\n" + cash + "\n" + strings.Join(rows, "\n")
}

// mrr is the MRR on day (the metrics/all entry of that day).
func (b *editBook) mrr(day string) float64 {
	t := b.e.t.(*testing.T)
	t.Helper()
	return entryAt(t, b.ok(200, "GET", "/v1/metrics/all?"+editRange+"&interval=day", nil), day)["mrr"].(float64)
}

// cashMonth is the cash-flow row of month (as cashRows writes it).
func (b *editBook) cashMonth(end string) string {
	t := b.e.t.(*testing.T)
	t.Helper()
	rows := cashRows(t, b.ok(200, "GET", "/v1/metrics/cash-flow?start-date="+end[:8]+"01&end-date="+end+"&interval=month", nil))
	if len(rows) != 1 {
		b.e.t.Fatalf("cash flow of %s: %v", end, rows)
	}
	return rows[0]
}

// An edit case: what it does through the API, the same change made to the
// book before it is imported, and a figure of the edited account computed
// by hand.
type editCase struct {
	name string
	// prepare, when not nil, changes the book before the answers that
	// enabling must restore are taken.
	prepare func(b *editBook)
	edit    func(b *editBook)
	change  func(invs []map[string]any, b *editBook)
	check   func(t *testing.T, b *editBook)
	// enable, for a disabling edit: enabling again must restore the
	// original answers byte for byte.
	enable func(b *editBook)
}

func runEditCases(t *testing.T, cases []editCase) {
	eachEnv(t, func(t *testing.T, e *env) {
		base := newEditBook(t, e, "base", nil)
		// The book as imported, by hand.
		for day, want := range map[string]float64{"2016-01-15": 10000, "2016-02-15": 12000, "2016-03-15": 14000, "2016-04-30": 14000} {
			if got := base.mrr(day); got != want {
				t.Fatalf("base MRR on %s: %v, want %v", day, got, want)
			}
		}
		// January: T1 is the whole invoice, 10000 + 2500 (2500 of it
		// one-time). March: T3 is 14000; refunds T3R 2000 and TR (the
		// whole of INV-R) 4000; net 14000 − 6000.
		// E1 takes S1's 14000 out of committed MRR from May.
		for i, x := range base.ok(200, "GET", cmrrPath, nil)["entries"].([]any) {
			want := [][2]float64{{10000, 10000}, {12000, 12000}, {14000, 14000}, {14000, 14000}, {0, 14000}, {0, 14000}}[i]
			if m := x.(map[string]any); m["cmrr"] != want[0] || m["mrr"] != want[1] {
				t.Fatalf("base committed MRR, %s: %v, want cmrr %v mrr %v", m["date"], m, want[0], want[1])
			}
		}
		for month, want := range map[string]string{"2016-01-31": "2016-01-31 12500 12500 2500 0 0 0 1",
			"2016-02-29": "2016-02-29 12000 12000 0 0 0 0 1", "2016-03-31": "2016-03-31 14000 8000 0 6000 0 0 1"} {
			if got := base.cashMonth(month); got != want {
				t.Fatalf("base cash flow: %s, want %s", got, want)
			}
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.in(t)
				edited := newEditBook(t, e, "edit-"+c.name, nil)
				if c.prepare != nil {
					c.prepare(edited)
				}
				all, cash, acts := edited.answers()
				c.edit(edited)
				c.check(t, edited)
				re := newEditBook(t, e, "re-"+c.name, c.change)
				if got, want := edited.numbers(), re.numbers(); got != want {
					t.Errorf("edited in place:\n%s\nimported changed:\n%s", got, want)
				}
				if c.enable == nil {
					return
				}
				c.enable(edited)
				all2, cash2, acts2 := edited.answers()
				if all2 != all || cash2 != cash || acts2 != acts {
					t.Errorf("enabled again, the answers differ:\n%s\n%s\n%s\nwant\n%s\n%s\n%s", all2, cash2, acts2, all, cash, acts)
				}
			})
		}
	})
}

// in is the environment for a subtest: its failures are t's.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func wantMRR(t *testing.T, b *editBook, days map[string]float64) {
	t.Helper()
	for day, want := range days {
		if got := b.mrr(day); got != want {
			t.Errorf("MRR on %s: %v, want %v", day, got, want)
		}
	}
}

func TestLineItemEditsMatchReimport(t *testing.T) {
	patch := func(ext string, body map[string]any) func(b *editBook) {
		return func(b *editBook) { b.ok(200, "PATCH", b.byExternalID("line_items", ext), body) }
	}
	set := func(ext string, body map[string]any) func(invs []map[string]any, b *editBook) {
		return func(invs []map[string]any, _ *editBook) {
			for k, v := range body {
				line(invs, ext)[k] = v
			}
		}
	}
	runEditCases(t, []editCase{
		{name: "amount", edit: patch("L2", map[string]any{"amount_in_cents": 15000}), change: set("L2", map[string]any{"amount_in_cents": 15000}),
			// February is L2's 15000; March L3's 14000 again.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-02-15": 15000, "2016-03-15": 14000})
			}},
		{name: "quantity", edit: patch("L2", map[string]any{"quantity": 3}), change: set("L2", map[string]any{"quantity": 3}),
			// Rule 3: quantity is never read; February stays 12000.
			check: func(t *testing.T, b *editBook) { wantMRR(t, b, map[string]float64{"2016-02-15": 12000}) }},
		{name: "period",
			edit:   patch("L2", map[string]any{"service_period_start": "2016-02-20", "service_period_end": "2016-03-20"}),
			change: set("L2", map[string]any{"service_period_start": "2016-02-20", "service_period_end": "2016-03-20"}),
			// L2 now applies from February 20th (rule 4): L1's 10000 until then.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-02-15": 10000, "2016-02-25": 12000})
			}},
		{name: "plan",
			edit: func(b *editBook) {
				b.ok(200, "PATCH", b.byExternalID("line_items", "L2"), map[string]any{"plan_uuid": b.annual, "amount_in_cents": 240000,
					"service_period_end": "2017-02-01"})
			},
			change: func(invs []map[string]any, b *editBook) {
				l := line(invs, "L2")
				l["plan_uuid"], l["amount_in_cents"], l["service_period_end"] = b.annual, 240000, "2017-02-01"
			},
			// Rule 2: 240000 a year is 240000 / 12 = 20000 a month.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-02-15": 20000, "2016-03-15": 14000})
			}},
		{name: "subscription",
			edit: patch("L3", map[string]any{"subscription_external_id": "S2"}), change: set("L3", map[string]any{"subscription_external_id": "S2"}),
			// S2 starts at 14000 on March 1st beside S1, which keeps
			// L2's 12000 (rule 8: good faith): 26000.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-02-15": 12000, "2016-03-15": 26000})
				if n := len(b.ok(200, "GET", "/v1/import/customers/"+b.cus+"/subscriptions", nil)["subscriptions"].([]any)); n != 2 {
					t.Errorf("subscriptions: %d", n)
				}
			}},
		{name: "subscription-back",
			// Moved to S2 and back: S2, left without lines, is dropped as
			// DeleteInvoice drops it, and the book is the original.
			edit: func(b *editBook) {
				patch("L3", map[string]any{"subscription_external_id": "S2"})(b)
				patch("L3", map[string]any{"subscription_external_id": "S1"})(b)
			},
			change: func([]map[string]any, *editBook) {},
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-03-15": 14000})
				if n := len(b.ok(200, "GET", "/v1/import/customers/"+b.cus+"/subscriptions", nil)["subscriptions"].([]any)); n != 1 {
					t.Errorf("subscriptions: %d", n)
				}
			}},
		{name: "cancelled",
			edit: patch("L2", map[string]any{"cancelled_at": "2016-02-15"}), change: set("L2", map[string]any{"cancelled_at": "2016-02-15"}),
			// Rule 9: 0 from February 15th; L3 brings S1 back on March 1st.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-02-10": 12000, "2016-02-20": 0, "2016-03-15": 14000})
			}},
		{name: "uncancelled",
			// A line's cancellation goes when the line no longer says it.
			edit: func(b *editBook) {
				patch("L2", map[string]any{"cancelled_at": "2016-02-15"})(b)
				patch("L2", map[string]any{"cancelled_at": nil})(b)
			},
			change: func([]map[string]any, *editBook) {},
			check:  func(t *testing.T, b *editBook) { wantMRR(t, b, map[string]float64{"2016-02-20": 12000}) }},
		{name: "one-time",
			edit: patch("L3", map[string]any{"type": "one_time"}), change: set("L3", map[string]any{"type": "one_time"}),
			// L3 carries no MRR (rule 3): S1 keeps L2's 12000; March's
			// payment is now all one-time (14000 non-recurring).
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-03-15": 12000})
				if got := b.cashMonth("2016-03-31"); got != "2016-03-31 14000 8000 14000 6000 0 0 1" {
					t.Errorf("March cash flow: %s", got)
				}
			}},
		{name: "added",
			edit: func(b *editBook) {
				inv := b.ok(200, "GET", "/v1/invoices?data_source_uuid="+b.ds+"&external_id=INV-2", nil)["invoices"].([]any)[0].(map[string]any)
				l := subLine(b.gold, "S3", "2016-02-01", "2016-03-01", 3000)
				l["external_id"] = "LA"
				b.ok(201, "POST", "/v1/import/invoices/"+inv["uuid"].(string)+"/line_items", l)
			},
			change: func(invs []map[string]any, b *editBook) {
				l := subLine(b.gold, "S3", "2016-02-01", "2016-03-01", 3000)
				l["external_id"] = "LA"
				invs[1]["line_items"] = append(invs[1]["line_items"].([]any), l)
			},
			// S3's 3000 beside S1: 12000 + 3000 in February; 14000 + 3000
			// in March (S3 in good faith). T2, the whole invoice, is
			// 15000 now.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-02-15": 15000, "2016-03-15": 17000})
				if got := b.cashMonth("2016-02-29"); got != "2016-02-29 15000 15000 0 0 0 0 1" {
					t.Errorf("February cash flow: %s", got)
				}
			}},
		{name: "deleted",
			// An invoice keeps a line (its last one cannot go): a 0
			// one-time line, which counts for nothing, is added to INV-2
			// first, and the comparison book has it in L2's place.
			edit: func(b *editBook) {
				inv := b.ok(200, "GET", "/v1/invoices?data_source_uuid="+b.ds+"&external_id=INV-2", nil)["invoices"].([]any)[0].(map[string]any)
				b.ok(201, "POST", "/v1/import/invoices/"+inv["uuid"].(string)+"/line_items", oneTimeLine(0))
				b.ok(204, "DELETE", b.byExternalID("line_items", "L2"), nil)
			},
			change: func(invs []map[string]any, _ *editBook) {
				invs[1]["line_items"] = append(without(invs[1]["line_items"].([]any), "L2"), oneTimeLine(0))
			},
			// Without L2, L1's 10000 lasts until March.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-02-15": 10000, "2016-03-15": 14000})
			},
		},
		{name: "deleted-one-time",
			edit: func(b *editBook) { b.ok(204, "DELETE", b.byExternalID("line_items", "LS"), nil) },
			change: func(invs []map[string]any, _ *editBook) {
				invs[0]["line_items"] = without(invs[0]["line_items"].([]any), "LS")
			},
			// T1 is the whole invoice: 10000 now, none of it one-time.
			check: func(t *testing.T, b *editBook) {
				if got := b.cashMonth("2016-01-31"); got != "2016-01-31 10000 10000 0 0 0 0 1" {
					t.Errorf("January cash flow: %s", got)
				}
			}},
		{name: "disabled",
			edit: func(b *editBook) {
				b.ok(200, "PATCH", "/v1/line_items/disabled_state?data_source_uuid="+b.ds+"&external_id=L2", map[string]any{"disabled": true})
			},
			change: func(invs []map[string]any, _ *editBook) {
				invs[1]["line_items"] = append(without(invs[1]["line_items"].([]any), "L2"), oneTimeLine(0))
			},
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-02-15": 10000, "2016-03-15": 14000})
			},
			enable: func(b *editBook) {
				b.ok(200, "PATCH", "/v1/line_items/disabled_state?data_source_uuid="+b.ds+"&external_id=L2", map[string]any{"disabled": false})
			}},
		{name: "disabled-one-time",
			edit: func(b *editBook) {
				b.ok(200, "PATCH", "/v1/line_items/disabled_state?data_source_uuid="+b.ds+"&external_id=LS", map[string]any{"disabled": true})
			},
			change: func(invs []map[string]any, _ *editBook) {
				invs[0]["line_items"] = without(invs[0]["line_items"].([]any), "LS")
			},
			check: func(t *testing.T, b *editBook) {
				if got := b.cashMonth("2016-01-31"); got != "2016-01-31 10000 10000 0 0 0 0 1" {
					t.Errorf("January cash flow: %s", got)
				}
			},
			enable: func(b *editBook) {
				b.ok(200, "PATCH", "/v1/line_items/disabled_state?data_source_uuid="+b.ds+"&external_id=LS", map[string]any{"disabled": false})
			}},
		{name: "cancelled-after-schedule",
			edit: patch("L3", map[string]any{"cancelled_at": "2016-03-20"}), change: set("L3", map[string]any{"cancelled_at": "2016-03-20"}),
			// 0 from March 20th; the cancellation, after E1 was sent,
			// supersedes it: committed MRR is MRR, 0 in May.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-03-25": 0})
				m := b.ok(200, "GET", cmrrPath, nil)["entries"].([]any)[4].(map[string]any)
				if m["cmrr"] != 0.0 || m["mrr"] != 0.0 {
					t.Errorf("May: %v", m)
				}
			}},
		{name: "disabled-cancelled-after-schedule",
			// Disabled, the line's cancellation is gone from committed MRR
			// too: E1 counts again.
			prepare: patch("L3", map[string]any{"cancelled_at": "2016-03-20"}),
			edit: func(b *editBook) {
				b.ok(200, "PATCH", "/v1/line_items/disabled_state?data_source_uuid="+b.ds+"&external_id=L3", map[string]any{"disabled": true})
			},
			change: func(invs []map[string]any, _ *editBook) {
				invs[2]["line_items"] = append(without(invs[2]["line_items"].([]any), "L3"), oneTimeLine(0))
			},
			// S1 keeps L2's 12000 (LR is a refund document); E1 takes it
			// out of committed MRR in May.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-03-25": 12000})
				m := b.ok(200, "GET", cmrrPath, nil)["entries"].([]any)[4].(map[string]any)
				if m["cmrr"] != 0.0 || m["mrr"] != 12000.0 {
					t.Errorf("May: %v", m)
				}
			},
			enable: func(b *editBook) {
				b.ok(200, "PATCH", "/v1/line_items/disabled_state?data_source_uuid="+b.ds+"&external_id=L3", map[string]any{"disabled": false})
			}},
		{name: "disabled-cancelling",
			// A disabled line's cancelled_at counts for nothing either.
			edit: func(b *editBook) {
				patch("L2", map[string]any{"cancelled_at": "2016-02-15"})(b)
				b.ok(200, "PATCH", "/v1/line_items/disabled_state?data_source_uuid="+b.ds+"&external_id=L2", map[string]any{"disabled": true})
			},
			change: func(invs []map[string]any, _ *editBook) {
				invs[1]["line_items"] = append(without(invs[1]["line_items"].([]any), "L2"), oneTimeLine(0))
			},
			check: func(t *testing.T, b *editBook) { wantMRR(t, b, map[string]float64{"2016-02-20": 10000}) },
		},
	})
}

func TestTransactionEditsMatchReimport(t *testing.T) {
	patch := func(ext string, body map[string]any) func(b *editBook) {
		return func(b *editBook) { b.ok(200, "PATCH", b.byExternalID("transactions", ext), body) }
	}
	set := func(ext string, body map[string]any) func(invs []map[string]any, b *editBook) {
		return func(invs []map[string]any, _ *editBook) {
			for k, v := range body {
				transaction(invs, ext)[k] = v
			}
		}
	}
	drop := func(inv int, ext string) func(invs []map[string]any, b *editBook) {
		return func(invs []map[string]any, _ *editBook) {
			invs[inv]["transactions"] = without(invs[inv]["transactions"].([]any), ext)
		}
	}
	disable := func(ext string, disabled bool) func(b *editBook) {
		return func(b *editBook) {
			b.ok(200, "PATCH", "/v1/transactions/disabled_state?data_source_uuid="+b.ds+"&external_id="+ext, map[string]any{"disabled": disabled})
		}
	}
	runEditCases(t, []editCase{
		{name: "payment-amount", edit: patch("T2", map[string]any{"amount_in_cents": 5000}), change: set("T2", map[string]any{"amount_in_cents": 5000}),
			check: func(t *testing.T, b *editBook) {
				if got := b.cashMonth("2016-02-29"); got != "2016-02-29 5000 5000 0 0 0 0 1" {
					t.Errorf("February cash flow: %s", got)
				}
			}},
		{name: "payment-date", edit: patch("T2", map[string]any{"date": "2016-03-05"}), change: set("T2", map[string]any{"date": "2016-03-05"}),
			// February's 12000 comes in March: 12000 + 14000 gross, net
			// 26000 − 6000, two payments.
			check: func(t *testing.T, b *editBook) {
				if got := b.cashMonth("2016-02-29"); got != "2016-02-29 0 0 0 0 0 0 0" {
					t.Errorf("February cash flow: %s", got)
				}
				if got := b.cashMonth("2016-03-31"); got != "2016-03-31 26000 20000 0 6000 0 0 2" {
					t.Errorf("March cash flow: %s", got)
				}
			}},
		{name: "payment-failed", edit: patch("T2", map[string]any{"result": "failed"}), change: set("T2", map[string]any{"result": "failed"}),
			// A failed charge of the whole 12000 (rule 21); MRR unchanged
			// (rule 5: transactions date no MRR).
			check: func(t *testing.T, b *editBook) {
				if got := b.cashMonth("2016-02-29"); got != "2016-02-29 0 0 0 0 12000 1 0" {
					t.Errorf("February cash flow: %s", got)
				}
				wantMRR(t, b, map[string]float64{"2016-02-15": 12000})
			}},
		{name: "payment-deleted", edit: func(b *editBook) { b.ok(204, "DELETE", b.byExternalID("transactions", "T2"), nil) }, change: drop(1, "T2"),
			check: func(t *testing.T, b *editBook) {
				if got := b.cashMonth("2016-02-29"); got != "2016-02-29 0 0 0 0 0 0 0" {
					t.Errorf("February cash flow: %s", got)
				}
			}},
		{name: "payment-disabled", edit: disable("T2", true), change: drop(1, "T2"), enable: disable("T2", false),
			check: func(t *testing.T, b *editBook) {
				if got := b.cashMonth("2016-02-29"); got != "2016-02-29 0 0 0 0 0 0 0" {
					t.Errorf("February cash flow: %s", got)
				}
			}},
		{name: "payment-disabled-refund-document", edit: disable("T3", true), change: drop(2, "T3"), enable: disable("T3", false),
			// INV-3 is left with its refund alone: a refund document
			// (rule 5), so L3 carries no MRR and S1 keeps L2's 12000.
			check: func(t *testing.T, b *editBook) { wantMRR(t, b, map[string]float64{"2016-03-15": 12000}) }},
		{name: "refund-failed", edit: patch("TR", map[string]any{"result": "failed"}), change: set("TR", map[string]any{"result": "failed"}),
			// A failed refund documents nothing (rule 5): LR counts, and
			// starting with L3 on March 1st it applies after it (arrival
			// order, rule 4): 4000. March refunds: T3R's 2000 alone; the
			// failed refund moves no money but is a failed transaction.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-03-15": 4000})
				if got := b.cashMonth("2016-03-31"); got != "2016-03-31 14000 12000 0 2000 0 1 1" {
					t.Errorf("March cash flow: %s", got)
				}
			}},
		{name: "refund-payment", edit: patch("TR", map[string]any{"type": "payment"}), change: set("TR", map[string]any{"type": "payment"}),
			// INV-R paid: LR's 4000 counts, and comes in as cash.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-03-15": 4000})
				if got := b.cashMonth("2016-03-31"); got != "2016-03-31 18000 16000 0 2000 0 0 2" {
					t.Errorf("March cash flow: %s", got)
				}
			}},
		{name: "refund-amount", edit: patch("TR", map[string]any{"amount_in_cents": 1000}), change: set("TR", map[string]any{"amount_in_cents": 1000}),
			// Still a refund document; refunds 2000 + 1000.
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-03-15": 14000})
				if got := b.cashMonth("2016-03-31"); got != "2016-03-31 14000 11000 0 3000 0 0 1" {
					t.Errorf("March cash flow: %s", got)
				}
			}},
		{name: "refund-deleted", edit: func(b *editBook) { b.ok(204, "DELETE", b.byExternalID("transactions", "TR"), nil) }, change: drop(3, "TR"),
			check: func(t *testing.T, b *editBook) { wantMRR(t, b, map[string]float64{"2016-03-15": 4000}) }},
		{name: "refund-disabled", edit: disable("TR", true), change: drop(3, "TR"), enable: disable("TR", false),
			check: func(t *testing.T, b *editBook) {
				wantMRR(t, b, map[string]float64{"2016-03-15": 4000})
				if got := b.cashMonth("2016-03-31"); got != "2016-03-31 14000 12000 0 2000 0 0 1" {
					t.Errorf("March cash flow: %s", got)
				}
			}},
	})
}
