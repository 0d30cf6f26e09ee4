package api

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// raceOp is one request of the delete race and when it went out and came
// back, on one logical clock shared by every goroutine of the test.
type raceOp struct {
	kind     string // what the write made, for the check afterwards
	ref      string // the made object's UUID (or the customer a tag went on)
	extra    string // a tag, an event's external id, a cancellation date
	customer string // the customer it hangs under ("" for plans)
	status   int
	sent     int64
	answered int64
}

// Deletes of a data source (whole, /all, /dependent) and of a customer race
// imports, customer and plan creates, attributes, events and cancellations
// into it. Issue 10: on PostgreSQL this gave deadlocks and foreign-key
// violations answered 500, some after the write had committed. Every answer
// must be 2xx, 404 or 422, and every write answered 2xx must be stored,
// unless a delete that covers it was answered after the write went out.
func TestDeletesRacingWritesNeverFail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		// The log says why a request failed, if one does.
		e := newEnv(t, s, Options{Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))})
		var clock atomic.Int64
		send := func(method, path string, body any) (response, int64, int64) {
			sent := clock.Add(1)
			r := e.do(e.key, method, path, body)
			return r, sent, clock.Add(1)
		}
		deletes := []string{"source", "all", "dependent", "customer"}
		for round := range 8 {
			kind := deletes[round%len(deletes)]
			ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": fmt.Sprint("race ", round)})["uuid"].(string)
			c0 := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "base"})["uuid"].(string)
			pl := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "P", "interval_count": 1,
				"interval_unit": "month", "external_id": "p"})["uuid"].(string)
			e.ok(201, "POST", "/v1/import/customers/"+c0+"/invoices", invoices(seedInvoice("seed", pl, "s0")))
			sub := e.ok(200, "GET", "/v1/import/customers/"+c0+"/subscriptions", nil)["subscriptions"].([]any)[0].(map[string]any)["uuid"].(string)

			var mu sync.Mutex
			var ops []raceOp
			record := func(op raceOp) {
				mu.Lock()
				ops = append(ops, op)
				mu.Unlock()
			}
			started := make(chan struct{}, 64)
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := range 6 {
						n := fmt.Sprintf("r%dw%di%d", round, w, i)
						var op raceOp
						var r response
						switch i % 6 {
						case 0:
							r, op.sent, op.answered = send("POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": n})
							op.kind = "customer"
							if r.status == 201 {
								op.ref = r.json(t)["uuid"].(string)
								op.customer = op.ref
							}
						case 1:
							r, op.sent, op.answered = send("POST", "/v1/import/customers/"+c0+"/invoices", invoices(seedInvoice(n, pl, "s"+n)))
							op.kind, op.customer = "invoice", c0
							if r.status == 201 {
								op.ref = r.json(t)["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
							}
						case 2:
							r, op.sent, op.answered = send("POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": n,
								"interval_count": 1, "interval_unit": "month", "external_id": n})
							op.kind = "plan"
							if r.status == 201 {
								op.ref = r.json(t)["uuid"].(string)
							}
						case 3:
							r, op.sent, op.answered = send("POST", "/v1/customers/"+c0+"/attributes/tags", map[string]any{"tags": []string{n}})
							op.kind, op.customer, op.ref, op.extra = "tag", c0, c0, n
						case 4:
							r, op.sent, op.answered = send("POST", "/v1/subscription_events", event(ds, map[string]any{
								"customer_external_id": "base", "subscription_external_id": "s0", "event_type": "subscription_cancelled",
								"external_id": n, "effective_date": "2016-06-01"}))
							op.kind, op.customer, op.extra = "event", c0, n
						case 5:
							date := fmt.Sprintf("2016-%02d-%02d", 1+w, 1+i)
							r, op.sent, op.answered = send("PATCH", "/v1/import/subscriptions/"+sub, map[string]any{"cancelled_at": date})
							op.kind, op.customer, op.ref, op.extra = "cancellation", c0, c0, date+"T00:00:00.000Z"
						}
						op.status = r.status
						if r.status >= 500 || (r.status >= 300 && r.status != 404 && r.status != 422) {
							t.Errorf("round %d (%s) %s %s: %d %s", round, kind, op.kind, n, r.status, r.body)
						}
						record(op)
						started <- struct{}{}
					}
				})
			}
			// The delete goes out once a few writes are answered, while the
			// rest are still coming.
			for range 3 {
				<-started
			}
			path := map[string]string{"source": "/v1/data_sources/" + ds, "all": "/v1/data_sources/" + ds + "/all",
				"dependent": "/v1/data_sources/" + ds + "/dependent", "customer": "/v1/customers/" + c0}[kind]
			r, _, deleted := send("DELETE", path, nil)
			wg.Wait()
			if r.status != 204 && r.status != 202 && r.status != 200 {
				t.Fatalf("round %d: DELETE %s: %d %s", round, path, r.status, r.body)
			}

			// covered says whether the delete may have removed what op made.
			covered := func(op raceOp) bool {
				if deleted < op.sent {
					return false
				}
				switch kind {
				case "source", "all":
					return true
				case "dependent": // customers and their attributes stay
					return op.kind != "customer" && op.kind != "tag"
				default: // the customer, with all it has
					return op.customer == c0
				}
			}
			for _, op := range ops {
				if op.status/100 != 2 || covered(op) {
					continue
				}
				var ok bool
				switch op.kind {
				case "customer":
					ok = e.do(e.key, "GET", "/v1/customers/"+op.ref, nil).status == 200
				case "invoice":
					ok = e.do(e.key, "GET", "/v1/invoices/"+op.ref, nil).status == 200
				case "plan":
					ok = e.do(e.key, "GET", "/v1/plans/"+op.ref, nil).status == 200
				case "tag":
					r := e.do(e.key, "GET", "/v1/customers/"+op.ref+"/attributes", nil)
					ok = r.status == 200 && slices.Contains(r.json(t)["tags"].([]any), any(op.extra))
				case "event":
					r := e.do(e.key, "GET", "/v1/subscription_events?external_id="+url.QueryEscape(op.extra), nil)
					ok = r.status == 200 && len(r.json(t)["subscription_events"].([]any)) == 1
				case "cancellation":
					r := e.do(e.key, "GET", "/v1/import/customers/"+op.ref+"/subscriptions", nil)
					if r.status == 200 {
						for _, s := range r.json(t)["subscriptions"].([]any) {
							ok = ok || slices.Contains(s.(map[string]any)["cancellation_dates"].([]any), any(op.extra))
						}
					}
				}
				if !ok {
					t.Errorf("round %d (%s): %s %s %s answered %d (sent at %d, delete answered at %d) but is not stored",
						round, kind, op.kind, op.ref, op.extra, op.status, op.sent, deleted)
				}
			}
		}
	})
}
