package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// Issue 10, finding 1: a customer whose history the engine refuses must
// not poison its account. Its write is committed, so it is answered 2xx;
// every other write of the account is too, and their customers' metrics
// are current; the refused customer keeps its previous results and its
// reconciliation says why, until the history is mended.
func TestOneBadCustomerDoesNotPoisonItsAccount(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, bad, pl := e.fixture()
		good := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0002"})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+bad+"/invoices", invoices(seedInvoice("A-1", pl, "s-bad")))
		mrr := func() float64 {
			return entryAt(t, e.ok(200, "GET", "/v1/metrics/mrr?start-date=2015-12-01&end-date=2015-12-31", nil), "2015-12-31")["mrr"].(float64)
		}
		if v := mrr(); v != 4100 { // 5000 − 900 tax
			t.Fatalf("MRR before: %v", v)
		}
		// A history the engine refuses, as no validated write can make one
		// any more: the invoice in a currency with no exchange rate.
		if _, err := e.store.DB().Exec(`UPDATE invoices SET currency = 'JPY'`); err != nil {
			t.Fatal(err)
		}
		// A write on the bad customer: committed, so 201.
		e.ok(201, "POST", "/v1/import/customers/"+bad+"/invoices", invoices(seedInvoice("A-2", pl, "s-bad-2")))
		rec := e.ok(200, "GET", "/v1/customers/"+bad+"/reconciliation?date=2015-12-31", nil)
		state := rec["recomputation"].(map[string]any)
		if rec["consistent"] != false || state["pending"] != true || state["attempts"] != 1.0 ||
			state["error"] != "no JPY→USD exchange rate for 2015-11-01" || state["retry_at"] == nil {
			t.Fatalf("reconciliation of the refused customer: %v", rec)
		}
		// Its previous results stand: 4100, not 0 and not half of A-2.
		if v := mrr(); v != 4100 {
			t.Fatalf("MRR with the refused customer: %v", v)
		}
		// Another customer's writes are answered and counted at once.
		e.ok(201, "POST", "/v1/import/customers/"+good+"/invoices", invoices(seedInvoice("B-1", pl, "s-good")))
		if v := mrr(); v != 8200 { // 4100 (bad, as before) + 4100 (good)
			t.Fatalf("MRR after the other customer's import: %v", v)
		}
		e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Another"})
		// The refused customer is not tried again by every write: once is
		// enough until its retry is due.
		rec = e.ok(200, "GET", "/v1/customers/"+bad+"/reconciliation?date=2015-12-31", nil)
		if n := rec["recomputation"].(map[string]any)["attempts"]; n != 1.0 {
			t.Fatalf("attempts after other writes: %v", n)
		}
		// Mended, the background pass's retry (due an hour from now here)
		// brings it back.
		if _, err := e.store.DB().Exec(`UPDATE invoices SET currency = 'USD'`); err != nil {
			t.Fatal(err)
		}
		acct, err := e.store.AccountByName(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := e.store.RecomputeDirty(context.Background(), acct.ID, store.PendingDue, time.Now().Add(time.Hour),
			func(a billing.Account) store.Compute {
				return recompute.Engine(recompute.Settings(a), recompute.NewStoreRates(context.Background(), e.store))
			})
		if err != nil || rep.Recomputed != 1 || len(rep.Failed) != 0 {
			t.Fatalf("retry: %+v %v", rep, err)
		}
		rec = e.ok(200, "GET", "/v1/customers/"+bad+"/reconciliation?date=2015-12-31", nil)
		if rec["consistent"] != true || rec["recomputation"].(map[string]any)["pending"] != false || rec["mrr"] != 8200.0 {
			t.Fatalf("reconciliation after the retry: %v", rec)
		}
		if v := mrr(); v != 12300 { // bad: 4100 × 2 subscriptions; good: 4100
			t.Fatalf("MRR after the retry: %v", v)
		}
	})
}

// Issue 10, finding 1: a prorated line over half a second panicked the
// engine (a division by whole seconds). A period under a second is now
// refused at import, and nothing the import accepted is lost.
func TestSubSecondServicePeriodIsRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		inv := seedInvoice("SLIVER", pl, "s1")
		line := inv["line_items"].([]any)[0].(map[string]any)
		line["prorated"] = true
		line["service_period_start"] = "2024-01-01T00:00:00.000Z"
		line["service_period_end"] = "2024-01-01T00:00:00.500Z"
		r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(inv))
		if r.status != 422 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		// The account is unharmed: the next import is answered and counted.
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("OK", pl, "s2")))
		if v := entryAt(t, e.ok(200, "GET", "/v1/metrics/mrr?start-date=2015-11-01&end-date=2015-11-30", nil), "2015-11-30")["mrr"]; v != 4100.0 {
			t.Fatalf("MRR: %v", v)
		}
	})
}

// Issue 10, finding 2: marks a crash left between a write's commit and its
// recomputation are recomputed by the next write of the account, even one
// that is refused (the client's retry of the same import, a duplicate).
func TestARefusedRetryFindsItsCustomersCurrent(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV-1", pl, "s1")))
		// What kill -9 after the commit leaves: the customer marked, its
		// results not yet written.
		for _, q := range []string{`DELETE FROM mrr_points`, `DELETE FROM activities`, `DELETE FROM subscription_steps`,
			`INSERT INTO dirty_customers (customer_id, account_id) SELECT id, account_id FROM customers`} {
			if _, err := e.store.DB().Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if rec := e.ok(200, "GET", "/v1/customers/"+cus+"/reconciliation?date=2015-11-30", nil); rec["consistent"] != false {
			t.Fatalf("before the retry: %v", rec)
		}
		if r := e.do(e.key, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV-1", pl, "s1"))); r.status != 422 {
			t.Fatalf("the retry: %d %s", r.status, r.body)
		}
		rec := e.ok(200, "GET", "/v1/customers/"+cus+"/reconciliation?date=2015-11-30", nil)
		if rec["consistent"] != true || rec["stored-mrr"] != 4100.0 {
			t.Fatalf("after the refused retry: %v", rec)
		}
	})
}

// Issue 10, finding 1: an import checked against the account currency it
// read at authentication is refused, not stored unconvertible, when a
// currency change commits in between; the change itself checks the rates
// with the account locked.
func TestImportRacingACurrencyChangeIsRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, _ := e.fixture()
		acct, err := e.store.AccountByName(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"currency": "EUR"}) // no invoices yet: nothing to convert
		err = e.store.ImportInvoices(context.Background(), acct.ID, cus, "USD", []billing.Invoice{{ExternalID: "RACE",
			Date: time.Date(2015, 11, 1, 0, 0, 0, 0, time.UTC), Currency: "USD"}})
		if !errors.Is(err, store.ErrCurrencyChanged) {
			t.Fatalf("import checked against USD after the switch to EUR: %v", err)
		}
		if n := len(e.ok(200, "GET", "/v1/import/customers/"+cus+"/invoices", nil)["invoices"].([]any)); n != 0 {
			t.Fatalf("%d invoices stored", n)
		}
	})
}

// Customer ids past 2^31 still recompute: PostgreSQL's per-customer lock
// cast the id to int4 and failed there.
func TestCustomerIDsPastInt32(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, pl := e.fixture()
		q := `SELECT setval(pg_get_serial_sequence('customers', 'id'), 3000000000)`
		if e.store.Dialect() == store.SQLite {
			q = `SELECT 1` // SQLite's ids and locks are 64-bit throughout
		}
		if _, err := e.store.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
		cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "big-id"})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("BIG", pl, "s1")))
		if rec := e.ok(200, "GET", "/v1/customers/"+cus+"/reconciliation?date=2015-11-30", nil); rec["consistent"] != true || rec["stored-mrr"] != 4100.0 {
			t.Fatalf("reconciliation: %v", rec)
		}
	})
}

// Issue 10: activities', subscriptions' and cancellations' numeric ids come
// from sequences shared by every account; the wire shows them permuted.
func TestRowIDsArePermuted(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV-1", pl, "s1")))
		act := e.ok(200, "GET", "/v1/activities", nil)["entries"].([]any)[0].(map[string]any)
		var raw int64
		if err := e.store.DB().QueryRow(`SELECT id FROM activities WHERE uuid = $1`, act["uuid"]).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if act["id"] == float64(raw) {
			t.Fatalf("activity id %v is the row id", act["id"])
		}
		sub := e.ok(200, "GET", "/v1/customers/"+cus+"/subscriptions", nil)["entries"].([]any)[0].(map[string]any)
		if err := e.store.DB().QueryRow(`SELECT id FROM subscriptions WHERE external_id = 's1'`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if sub["id"] == float64(raw) {
			t.Fatalf("subscription id %v is the row id", sub["id"])
		}
	})
}

// An error means nothing changed: adding tags by e-mail to two customers,
// one of whom would pass the tag limit, changes neither (the second
// customer's refusal used to come after the first was saved).
func TestTagsByEmailAreAllOrNothing(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, _ := e.fixture()
		var full []string
		for i := range billing.MaxTags {
			full = append(full, fmt.Sprintf("t%d", i))
		}
		first := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "a", "email": "twin@example.com"})["uuid"].(string)
		second := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "b", "email": "twin@example.com",
			"attributes": map[string]any{"tags": full}})["uuid"].(string)
		r := e.do(e.key, "POST", "/v1/customers/attributes/tags", map[string]any{"email": "twin@example.com", "tags": []string{"new"}})
		if r.status != 422 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		for uuid, want := range map[string]int{first: 0, second: billing.MaxTags} {
			tags, _ := e.ok(200, "GET", "/v1/customers/"+uuid+"/attributes", nil)["tags"].([]any)
			if len(tags) != want {
				t.Fatalf("customer %s has %d tags after the refused request, want %d", uuid, len(tags), want)
			}
		}
	})
}

// Issue 10 (exports cut short, and the lists alike): a client paging
// activities while recomputations write them anew gets every activity
// exactly once. Here every page is followed by a settings change that
// recomputes the whole account (new row ids, the same movements): thirty
// customers' new business, all on 2015-11-01, and one customer's six
// months of expansions.
func TestActivityPagesSurviveRecomputation(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, cus, pl := e.fixture()
		for i := range 30 {
			c := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": fmt.Sprintf("p%d", i)})["uuid"].(string)
			e.ok(201, "POST", "/v1/import/customers/"+c+"/invoices", invoices(seedInvoice(fmt.Sprintf("P%d", i), pl, fmt.Sprintf("ps%d", i))))
		}
		months := growingMonths(pl, 6)
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(months...))
		modes := []string{"end_of_period", "immediate"}
		collect := func(first string, next func(body map[string]any) string) []string {
			var uuids []string
			path := first
			for page := 0; path != ""; page++ {
				body := e.ok(200, "GET", path, nil)
				for _, x := range body["entries"].([]any) {
					uuids = append(uuids, x.(map[string]any)["uuid"].(string))
				}
				e.ok(200, "PATCH", "/v1/account/settings", map[string]any{"churn_recognition": modes[page%2]})
				path = next(body)
			}
			return uuids
		}
		check := func(what string, got []string, want int) {
			t.Helper()
			seen := map[string]bool{}
			for _, u := range got {
				if seen[u] {
					t.Fatalf("%s: activity %s twice in %v", what, u, got)
				}
				seen[u] = true
			}
			if len(got) != want {
				t.Fatalf("%s: %d activities, want %d", what, len(got), want)
			}
		}
		all := collect("/v1/activities?per_page=4", func(b map[string]any) string {
			if b["has_more"] != true {
				return ""
			}
			return "/v1/activities?per_page=4&cursor=" + b["cursor"].(string)
		})
		check("/v1/activities", all, 30+1+5) // 30 new_biz; the fixture customer's new_biz and 5 expansions
		mine := collect("/v1/customers/"+cus+"/activities?per_page=2", func(b map[string]any) string {
			if b["has_more"] != true {
				return ""
			}
			return "/v1/customers/" + cus + "/activities?per_page=2&cursor=" + b["cursor"].(string)
		})
		check("customer activities", mine, 6)
	})
}

// A recomputation that read the account's settings before a settings
// change committed saves nothing: its batch is done again with the new
// settings (the review found results computed with the old churn
// recognition saved and their marks cleared). Here the change comes
// between the reading of the settings and the saving, and the churn must
// land where end_of_period puts it: 2015-12-01, not 2015-11-15.
func TestRecomputationRacingASettingsChange(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV-1", pl, "s1")))
		sub := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)[0].(map[string]any)["uuid"].(string)
		e.ok(202, "PATCH", "/v1/import/subscriptions/"+sub, map[string]any{"cancelled_at": "2015-11-15"})
		ctx := context.Background()
		acct, err := e.store.AccountByName(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.DB().Exec(`INSERT INTO dirty_customers (customer_id, account_id, seq) SELECT id, account_id, 7 FROM customers`); err != nil {
			t.Fatal(err)
		}
		calls := 0
		_, err = e.store.RecomputeDirty(ctx, acct.ID, store.PendingAll, time.Now(), func(a billing.Account) store.Compute {
			calls++
			if calls == 1 { // the change commits while this batch computes with the settings it read
				if _, err := e.store.UpdateAccountSettings(ctx, acct.ID, func(a *billing.Account, _ store.ForeignDays) error {
					a.ChurnRecognition = "end_of_period"
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			return recompute.Engine(recompute.Settings(a), recompute.NewStoreRates(ctx, e.store))
		})
		if err != nil || calls < 2 {
			t.Fatalf("recompute: %v after %d batches", err, calls)
		}
		var churns []string
		for _, x := range e.ok(200, "GET", "/v1/customers/"+cus+"/activities", nil)["entries"].([]any) {
			if m := x.(map[string]any); m["type"] == "churn" {
				churns = append(churns, m["date"].(string))
			}
		}
		if len(churns) != 1 || churns[0] != "2015-12-01T00:00:00+00:00" {
			t.Fatalf("churn after the change: %v", churns)
		}
	})
}

// A cursor holds its place when the activity it names is gone by the next
// page (the movement changed with a deleted invoice): the list goes on
// after that date instead of stopping or refusing the cursor.
func TestActivityCursorOutlivesItsActivity(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		months := growingMonths(pl, 4)
		imported := e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(months...))["invoices"].([]any)
		for _, path := range []string{"/v1/customers/" + cus + "/activities?per_page=2", "/v1/activities?per_page=2"} {
			first := e.ok(200, "GET", path, nil)
			if n := len(first["entries"].([]any)); n != 2 || first["has_more"] != true {
				t.Fatalf("%s: first page %v", path, first)
			}
			// February's expansion (the cursor's activity) goes with its invoice.
			feb := imported[1].(map[string]any)["uuid"].(string)
			e.ok(204, "DELETE", "/v1/invoices/"+feb, nil)
			next := e.ok(200, "GET", path+"&cursor="+first["cursor"].(string), nil)["entries"].([]any)
			var dates []string
			for _, x := range next {
				dates = append(dates, x.(map[string]any)["date"].(string)[:10])
			}
			if len(dates) != 2 || dates[0] != "2016-03-01" || dates[1] != "2016-04-01" {
				t.Fatalf("%s: the page after the deleted February: %v", path, dates)
			}
			// Put February back for the second list.
			e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(months[1]))
			imported[1] = e.ok(200, "GET", "/v1/invoices?external_id=M1", nil)["invoices"].([]any)[0]
		}
	})
}

// A request without a valid key is answered with the connection closed:
// kept alive, 1,000 idle ones held the whole connection cap for the idle
// timeout (found by review).
func TestUnauthorizedClosesTheConnection(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		for _, key := range []string{"", "tly_not_a_key_of_this_server_0000000000000000"} {
			req, _ := http.NewRequest("GET", e.srv.URL+"/v1/ping", nil)
			if key != "" {
				req.SetBasicAuth(key, "")
			}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 401 || !res.Close {
				t.Fatalf("key %q: status %d, connection closed %v", key, res.StatusCode, res.Close)
			}
		}
	})
}

// The Activities API's sources name cancellations by the same permuted id
// that /v1/activities/{uuid}/sources shows (they showed the row id).
func TestSourceIDsArePermuted(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV-1", pl, "s1")))
		sub := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)[0].(map[string]any)["uuid"].(string)
		e.ok(202, "PATCH", "/v1/import/subscriptions/"+sub, map[string]any{"cancelled_at": "2015-11-15"})
		var churn map[string]any
		for _, x := range e.ok(200, "GET", "/v1/activities", nil)["entries"].([]any) {
			if m := x.(map[string]any); m["type"] == "churn" {
				churn = m
			}
		}
		ref := churn["sources"].([]any)[0].(map[string]any)
		full := e.ok(200, "GET", "/v1/activities/"+churn["uuid"].(string)+"/sources", nil)["sources"].([]any)[0].(map[string]any)
		var raw int64
		if err := e.store.DB().QueryRow(`SELECT id FROM cancellations`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if ref["type"] != "cancellation" || ref["id"] == fmt.Sprint(raw) || ref["id"] != fmt.Sprintf("%.0f", full["cancellation"].(map[string]any)["id"]) {
			t.Fatalf("the churn's source %v, /sources %v, row id %d", ref, full, raw)
		}
	})
}

// A currency switch needs a rate for every priced subscription event too
// (committed MRR converts them): refused at the switch, it no longer
// leaves /v1/metrics/cmrr answering 422 for the whole account; and an
// event whose rate was checked against a currency changed since is
// refused, not stored (found by review).
func TestCurrencySwitchChecksEvents(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds, _, _ := e.fixture()
		e.ok(201, "POST", "/v1/subscription_events", event(ds, map[string]any{"event_type": "subscription_start_scheduled",
			"plan_external_id": "plan_0001", "currency": "USD", "amount_in_cents": 1000, "quantity": 1}))
		r := e.do(e.key, "PATCH", "/v1/account/settings", map[string]any{"currency": "EUR"})
		if r.status != 422 || !strings.Contains(string(r.body), "USD→EUR") {
			t.Fatalf("switch to EUR with a USD event and no rates: %d %s", r.status, r.body)
		}
		e.ok(200, "GET", "/v1/metrics/cmrr?start-date=2022-01-01&end-date=2022-12-31", nil)

		acct, err := e.store.AccountByName(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		ev := billing.SubscriptionEvent{DataSourceUUID: ds, CustomerExternalID: "cus_0001", SubscriptionExternalID: "sub_0002",
			EventType: "subscription_cancelled", EventDate: time.Date(2022, 3, 30, 0, 0, 0, 0, time.UTC), EffectiveDate: time.Date(2022, 4, 1, 0, 0, 0, 0, time.UTC)}
		if err := e.store.CreateEvent(context.Background(), acct.ID, "GBP", &ev); !errors.Is(err, store.ErrCurrencyChanged) {
			t.Fatalf("an event checked against GBP in a USD account: %v", err)
		}
	})
}

// growingMonths is n monthly invoices of subscription "grow" from January
// 2016, $10 more each month, no tax: a new_biz then n−1 expansions.
func growingMonths(pl string, n int) []map[string]any {
	var months []map[string]any
	for m := range n {
		start := time.Date(2016, time.Month(1+m), 1, 0, 0, 0, 0, time.UTC)
		inv := seedInvoice(fmt.Sprintf("M%d", m), pl, "grow")
		inv["date"] = start.Format(time.DateTime)
		line := inv["line_items"].([]any)[0].(map[string]any)
		line["service_period_start"], line["service_period_end"] = start.Format(time.DateOnly), start.AddDate(0, 1, 0).Format(time.DateOnly)
		line["amount_in_cents"], line["tax_amount_in_cents"], line["discount_amount_in_cents"] = 1000*(m+1), 0, 0
		inv["transactions"].([]any)[0].(map[string]any)["date"] = start.Format(time.DateTime)
		months = append(months, inv)
	}
	return months
}

// Issue 10 (every list filter through an index): the customer list's
// status filter reads the status stored beside the customer, which the
// recomputation writes and the background pass refreshes when time alone
// changes it; the answer is the same as working it out from the timeline.
func TestStatusFilterReadsTheStoredStatus(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		_, cus, pl := e.fixture()
		listed := func(status string) int {
			return len(e.ok(200, "GET", "/v1/customers?status="+status, nil)["entries"].([]any))
		}
		if n := listed("New+Lead"); n != 1 {
			t.Fatalf("a customer without invoices under New Lead: %d", n)
		}
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(seedInvoice("INV-1", pl, "s1")))
		if a, l := listed("Active"), listed("New+Lead"); a != 1 || l != 0 {
			t.Fatalf("after the import: %d active, %d leads", a, l)
		}
		sub := e.ok(200, "GET", "/v1/import/customers/"+cus+"/subscriptions", nil)["subscriptions"].([]any)[0].(map[string]any)["uuid"].(string)
		e.ok(202, "PATCH", "/v1/import/subscriptions/"+sub, map[string]any{"cancelled_at": "2016-01-15"})
		if a, c := listed("Active"), listed("Cancelled"); a != 0 || c != 1 {
			t.Fatalf("after the cancellation: %d active, %d cancelled", a, c)
		}
		// A stored status that time has overtaken (as a cancellation at a
		// period's end does) is refreshed by the background pass.
		if _, err := e.store.DB().Exec(`UPDATE customers SET status = 'Active', status_until = 1`); err != nil {
			t.Fatal(err)
		}
		if n, err := e.store.RefreshStatuses(context.Background(), time.Now()); err != nil || n != 1 {
			t.Fatalf("refresh: %d %v", n, err)
		}
		if c := listed("Cancelled"); c != 1 {
			t.Fatalf("after the refresh: %d cancelled", c)
		}
	})
}
