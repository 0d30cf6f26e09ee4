package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestCrashRecovery is issue 10's crash test: the real binary takes
// imports, cancellations and settings changes from several clients and is
// killed with SIGKILL at a random instant; restarted on the same database,
// without a further write, every customer reconciles (stored results =
// a fresh computation, nothing pending) and every write answered 2xx before
// the kill is there. TALLY_CRASH_TRIALS sets the trials per store (3 in the
// suite; the figure is N=100, run by hand).
func TestCrashRecovery(t *testing.T) {
	trials := crashTrials(t)
	bin := binary(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			c := &crashClient{t: t, bin: bin, db: storetest.DSN(t, backend), key: "tly_crash_" + fmt.Sprintf("%040x", seed)}
			c.start()
			c.setup()
			for trial := range trials {
				c.load(time.Duration(20+rng.IntN(400))*time.Millisecond, rng.Uint64())
				c.kill()
				c.start()
				c.check(trial)
			}
			c.kill()
		})
	}
}

type crashClient struct {
	t        *testing.T
	bin, db  string
	key      string
	cmd      *exec.Cmd
	base     string
	ds, plan string
	cus      []string
	next     int // invoice numbers
	mu       sync.Mutex
	answered map[string]string // invoice external id → customer uuid, for every 201
}

func (c *crashClient) start() {
	c.t.Helper()
	cmd, base, err := serveProcess(c.bin, c.db, c.key)
	if err != nil {
		c.t.Fatal(err)
	}
	c.cmd, c.base = cmd, base+"/v1"
}

func (c *crashClient) kill() {
	_ = c.cmd.Process.Signal(os.Kill)
	_ = c.cmd.Wait()
}

func (c *crashClient) do(method, path string, body any) (int, map[string]any, error) {
	return callJSON(http.DefaultClient, c.key, method, c.base+path, body)
}

func (c *crashClient) must(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	status, out, err := c.do(method, path, body)
	if err != nil || status != want {
		c.t.Fatalf("%s %s: %d %v %v", method, path, status, out, err)
	}
	return out
}

func (c *crashClient) setup() {
	c.answered = map[string]string{}
	c.ds = c.must(201, "POST", "/data_sources", map[string]any{"name": "crash"})["uuid"].(string)
	c.plan = c.must(201, "POST", "/plans", map[string]any{"data_source_uuid": c.ds, "name": "Monthly",
		"interval_count": 1, "interval_unit": "month", "external_id": "monthly"})["uuid"].(string)
	for i := range 12 {
		c.cus = append(c.cus, c.must(201, "POST", "/customers", map[string]any{"data_source_uuid": c.ds,
			"external_id": fmt.Sprintf("c%02d", i), "name": fmt.Sprintf("Customer %d", i)})["uuid"].(string))
	}
}

// load runs four clients for about d: imports of a month's invoice (a
// renewal, sometimes a different price), cancellations, and settings
// changes that recompute the whole account. The kill comes while they run.
func (c *crashClient) load(d time.Duration, seed uint64) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range 4 {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for time.Now().Before(deadline) {
				cus := c.cus[rng.IntN(len(c.cus))]
				switch r := rng.IntN(10); {
				case r == 0 && w == 0:
					mode := []string{"immediate", "end_of_period"}[rng.IntN(2)]
					_, _, _ = c.do("PATCH", "/account/settings", map[string]any{"churn_recognition": mode})
				case r == 1:
					_, _, _ = c.do("PATCH", "/import/subscriptions/"+c.firstSubscription(cus),
						map[string]any{"cancelled_at": "2021-06-15 00:00:00"})
				default:
					c.mu.Lock()
					c.next++
					n := c.next
					c.mu.Unlock()
					month := time.Date(2020, time.Month(1+n%18), 1, 0, 0, 0, 0, time.UTC)
					ext := fmt.Sprintf("inv-%d", n)
					status, _, err := c.do("POST", "/import/customers/"+cus+"/invoices", map[string]any{"invoices": []any{map[string]any{
						"external_id": ext, "date": month.Format(time.DateTime), "currency": "USD",
						"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": "sub-" + cus[len(cus)-6:],
							"plan_uuid": c.plan, "service_period_start": month.Format(time.DateOnly),
							"service_period_end": month.AddDate(0, 1, 0).Format(time.DateOnly),
							"amount_in_cents":    1000 * (1 + rng.IntN(5)), "quantity": 1}},
						"transactions": []any{map[string]any{"date": month.Format(time.DateTime), "type": "payment", "result": "successful"}},
					}}})
					if err == nil && status == 201 {
						c.mu.Lock()
						c.answered[ext] = cus
						c.mu.Unlock()
					}
				}
			}
		})
	}
	time.Sleep(d)
	c.kill()
	wg.Wait()
}

func (c *crashClient) firstSubscription(cus string) string {
	_, out, err := c.do("GET", "/import/customers/"+cus+"/subscriptions", nil)
	if err != nil || out == nil {
		return "none"
	}
	if subs, _ := out["subscriptions"].([]any); len(subs) > 0 {
		return subs[0].(map[string]any)["uuid"].(string)
	}
	return "none"
}

func (c *crashClient) check(trial int) {
	c.t.Helper()
	stored := map[string]bool{}
	for _, cus := range c.cus {
		rec := c.must(200, "GET", "/customers/"+cus+"/reconciliation", nil)
		if rec["consistent"] != true {
			c.t.Fatalf("trial %d: customer %s does not reconcile after the restart: %v", trial, cus, rec)
		}
		cursor := ""
		for {
			page := c.must(200, "GET", "/import/customers/"+cus+"/invoices?per_page=200"+cursor, nil)
			for _, inv := range page["invoices"].([]any) {
				stored[inv.(map[string]any)["external_id"].(string)] = true
			}
			if page["has_more"] != true {
				break
			}
			cursor = "&cursor=" + page["cursor"].(string)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for ext, cus := range c.answered {
		if !stored[ext] {
			c.t.Fatalf("trial %d: invoice %s of %s was answered 201 but is gone after the restart", trial, ext, cus)
		}
	}
}
