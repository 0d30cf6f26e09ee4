package main

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestJSONImportCrash is issue 13's kill -9 promise for bulk imports
// (docs/api.md "Bulk imports"): the real binary takes bulk imports from two
// clients and is killed with SIGKILL at a random instant; restarted on the
// same database, every import is there whole (its record, every customer
// and invoice of its valid groups, none of its refused group) or not at all
// (no record, none of its customers or invoices), every import answered
// 200 before the kill is there, and every customer reconciles.
// TALLY_CRASH_TRIALS sets the trials per store (3 in the suite).
func TestJSONImportCrash(t *testing.T) {
	trials := crashTrials(t)
	bin := binary(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			c := &bulkCrash{crashClient: crashClient{t: t, bin: bin, db: storetest.DSN(t, backend), key: "tly_crash_" + fmt.Sprintf("%040x", seed)}}
			c.start()
			c.ds = c.must(201, "POST", "/data_sources", map[string]any{"name": "bulk crash"})["uuid"].(string)
			c.must(200, "POST", "/data_sources/"+c.ds+"/json_imports", map[string]any{"external_id": "plans",
				"plans": []any{map[string]any{"name": "Monthly", "external_id": "monthly", "interval_count": 1, "interval_unit": "month"}}})
			c.sent, c.ok = map[int]bool{}, map[int]bool{}
			for trial := range trials {
				c.load(time.Duration(50+rng.IntN(1500)) * time.Millisecond)
				c.start()
				c.check(trial)
			}
			c.kill()
		})
	}
}

type bulkCrash struct {
	crashClient
	mu       sync.Mutex
	next     int
	sent, ok map[int]bool // imports sent, and answered 200
}

// Each import has bulkCustomers good customers of bulkInvoices invoices
// each, and one refused customer (an invoice in no currency).
const (
	bulkCustomers = 40
	bulkInvoices  = 6
)

func bulkCustomer(n, k int) string   { return fmt.Sprintf("i%d-c%d", n, k) }
func bulkInvoice(n, k, i int) string { return fmt.Sprintf("i%d-c%d-inv%d", n, k, i) }

func bulkBody(n int) map[string]any {
	var customers, invoices, lines, txs []any
	for k := range bulkCustomers + 1 {
		cus := bulkCustomer(n, k)
		customers = append(customers, map[string]any{"external_id": cus, "name": cus})
		for i := range bulkInvoices {
			month := time.Date(2020, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC)
			ext := bulkInvoice(n, k, i)
			currency := "USD"
			if k == bulkCustomers {
				currency = "" // the refused group
			}
			invoices = append(invoices, map[string]any{"external_id": ext, "date": month.Format(time.DateTime), "currency": currency,
				"customer_external_id": cus})
			lines = append(lines, map[string]any{"invoice_external_id": ext, "type": "subscription", "subscription_external_id": cus + "-sub",
				"plan_external_id": "monthly", "service_period_start": month.Format(time.DateOnly),
				"service_period_end": month.AddDate(0, 1, 0).Format(time.DateOnly), "amount_in_cents": 1000 * (1 + k%5)})
			txs = append(txs, map[string]any{"invoice_external_id": ext, "type": "payment", "result": "successful", "date": month.Format(time.DateTime)})
		}
	}
	return map[string]any{"external_id": fmt.Sprintf("import-%d", n), "customers": customers, "invoices": invoices,
		"line_items": lines, "transactions": txs}
}

// load sends imports from two clients for about d, then kills the server.
func (c *bulkCrash) load(d time.Duration) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				c.mu.Lock()
				n := c.next
				c.next++
				c.sent[n] = true
				c.mu.Unlock()
				status, out, err := c.do("POST", "/data_sources/"+c.ds+"/json_imports", bulkBody(n))
				if err == nil && status == 200 {
					if out["status"] != "partially_completed" {
						c.t.Errorf("import %d: %v", n, out["status"])
					}
					c.mu.Lock()
					c.ok[n] = true
					c.mu.Unlock()
				}
			}
		})
	}
	time.Sleep(d)
	c.kill()
	wg.Wait()
}

// list reads every page of a list, handing each entry to fn.
func (c *bulkCrash) list(path, key string, fn func(map[string]any)) {
	c.t.Helper()
	cursor := ""
	for {
		page := c.must(200, "GET", path+"&per_page=200"+cursor, nil)
		for _, e := range page[key].([]any) {
			fn(e.(map[string]any))
		}
		if page["has_more"] != true {
			return
		}
		cursor = "&cursor=" + page["cursor"].(string)
	}
}

func (c *bulkCrash) check(trial int) {
	c.t.Helper()
	customers, invoices := map[string]string{}, map[string]bool{}
	c.list("/customers?data_source_uuid="+c.ds, "entries", func(e map[string]any) {
		customers[e["external_id"].(string)] = e["uuid"].(string)
	})
	c.list("/invoices?data_source_uuid="+c.ds, "invoices", func(e map[string]any) { invoices[e["external_id"].(string)] = true })
	whole := 0
	for n := range c.sent {
		status, rec, err := c.do("GET", fmt.Sprintf("/data_sources/%s/json_imports/import-%d", c.ds, n), nil)
		if err != nil {
			c.t.Fatal(err)
		}
		stored := status == 200
		switch {
		case status != 200 && status != 404:
			c.t.Fatalf("trial %d: import %d: %d %v", trial, n, status, rec)
		case c.ok[n] && !stored:
			c.t.Fatalf("trial %d: import %d was answered 200 but its record is gone after the restart", trial, n)
		case stored && rec["status"] != "partially_completed":
			c.t.Fatalf("trial %d: import %d: %v", trial, n, rec)
		}
		for k := range bulkCustomers + 1 {
			want := stored && k < bulkCustomers
			if _, ok := customers[bulkCustomer(n, k)]; ok != want {
				c.t.Fatalf("trial %d: import %d (record stored: %v): customer %s stored: %v", trial, n, stored, bulkCustomer(n, k), ok)
			}
			for i := range bulkInvoices {
				if invoices[bulkInvoice(n, k, i)] != want {
					c.t.Fatalf("trial %d: import %d (record stored: %v): invoice %s stored: %v", trial, n, stored, bulkInvoice(n, k, i), !want)
				}
			}
		}
		if stored {
			whole++
		}
	}
	for ext, uuid := range customers {
		rec := c.must(200, "GET", "/customers/"+uuid+"/reconciliation", nil)
		if rec["consistent"] != true {
			c.t.Fatalf("trial %d: customer %s does not reconcile after the restart: %v", trial, ext, rec)
		}
	}
	c.t.Logf("trial %d: %d imports sent, %d stored whole, %d answered", trial, len(c.sent), whole, len(c.ok))
}
