package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/store/storetest"
)

// node is one `tally serve` process of a cluster on one PostgreSQL.
type node struct {
	cmd  *exec.Cmd
	base string // http://host:port
}

// cluster runs tally servers on one database, as a load balancer would
// see them: a server takes requests only while it is up.
type cluster struct {
	t      *testing.T
	bin    string
	db     string
	key    string
	client *http.Client

	mu       sync.Mutex
	nodes    []*node
	up       []bool
	inFlight []int
}

func (c *cluster) start(i int) {
	c.t.Helper()
	if err := c.launch(i); err != nil {
		c.t.Fatal(err)
	}
}

// launch starts server i and returns once its /readyz says ready.
func (c *cluster) launch(i int) error {
	cmd, base, err := serveProcess(c.bin, c.db, c.key, "--max-in-flight", "64")
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.nodes[i] = &node{cmd: cmd} // for stopAll, whatever happens next
	c.mu.Unlock()
	n := &node{cmd: cmd, base: base}
	// As a load balancer does: no traffic before /readyz says so.
	for deadline := time.Now().Add(60 * time.Second); ; {
		res, err := c.client.Get(n.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %d never became ready", i)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.mu.Lock()
	c.nodes[i], c.up[i] = n, true
	c.mu.Unlock()
	return nil
}

// restart takes server i out of the rotation, lets its requests finish,
// stops it with SIGTERM (a graceful shutdown), and starts a new one.
func (c *cluster) restart(i int) {
	c.t.Helper()
	c.mu.Lock()
	c.up[i] = false
	c.mu.Unlock()
	for {
		c.mu.Lock()
		busy := c.inFlight[i]
		c.mu.Unlock()
		if busy == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	n := c.nodes[i]
	_ = n.cmd.Process.Signal(os.Interrupt)
	if err := n.cmd.Wait(); err != nil {
		c.t.Errorf("server %d did not stop cleanly: %v", i, err)
	}
	c.start(i)
}

func (c *cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n != nil {
			_ = n.cmd.Process.Signal(os.Interrupt)
			_ = n.cmd.Wait()
		}
	}
}

// pick chooses an up server other than not (-1: any) and counts a request
// on it; done uncounts it.
func (c *cluster) pick(rng *rand.Rand, not int) (int, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ups []int
	for i, u := range c.up {
		if u && i != not {
			ups = append(ups, i)
		}
	}
	if len(ups) == 0 {
		return -1, func() {}
	}
	i := ups[rng.IntN(len(ups))]
	c.inFlight[i]++
	return i, func() { c.mu.Lock(); c.inFlight[i]--; c.mu.Unlock() }
}

func (c *cluster) do(i int, method, path string, body any) (int, map[string]any, error) {
	c.mu.Lock()
	base := c.nodes[i].base
	c.mu.Unlock()
	return callJSON(c.client, c.key, method, base+"/v1"+path, body)
}

func (c *cluster) must(i, want int, method, path string, body any) map[string]any {
	c.t.Helper()
	status, out, err := c.do(i, method, path, body)
	if err != nil || status != want {
		c.t.Fatalf("server %d: %s %s: %d %v %v", i, method, path, status, out, err)
	}
	return out
}

// invoice is a month of customer ext's subscription at price cents.
func invoice(ext, ds, plan, invExt string, month time.Month, cents int) map[string]any {
	start := time.Date(2024, month, 1, 0, 0, 0, 0, time.UTC)
	return map[string]any{"external_id": invExt, "date": start.Format(time.DateOnly), "currency": "USD",
		"customer_external_id": ext, "data_source_uuid": ds,
		"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": ext + "-sub", "plan_uuid": plan,
			"service_period_start": start.Format(time.DateOnly), "service_period_end": start.AddDate(0, 1, 0).Format(time.DateOnly),
			"amount_in_cents": cents, "quantity": 1}},
		"transactions": []any{map[string]any{"type": "payment", "result": "successful", "date": start.Format(time.DateOnly)}}}
}

// mrrAt is the MRR entry of metrics/all for the month ending on date.
func mrrAt(out map[string]any, date string) float64 {
	for _, e := range out["entries"].([]any) {
		if m := e.(map[string]any); m["date"] == date {
			return m["mrr"].(float64)
		}
	}
	return -1
}

// TestSeveralServersOnePostgres is issue 14's cluster test: three `tally
// serve` processes on one PostgreSQL. Every write is sent to one server
// and read back from another, which must answer it at once (read-your-
// writes across servers: each server checks the database's results
// version before answering). Then each server in turn is taken out of
// the rotation, stopped with SIGTERM and started again while four
// clients write and read through the others: no request fails or is
// answered 5xx, every write answered 2xx is there at the end, and the
// three servers answer the same numbers.
func TestSeveralServersOnePostgres(t *testing.T) {
	if !slices.Contains(storetest.Backends(), "postgres") {
		t.Skip("several servers share a PostgreSQL database; TALLY_TEST_BACKENDS leaves it out")
	}
	c := &cluster{t: t, bin: binary(t), db: storetest.DSN(t, "postgres"), key: "tly_cluster_" + fmt.Sprintf("%040x", rand.Uint64()),
		client: &http.Client{Timeout: 60 * time.Second}, nodes: make([]*node, 3), up: make([]bool, 3), inFlight: make([]int, 3)}
	defer c.stopAll()
	// Started together on an empty database: one migrates it while the
	// others wait for its lock.
	errs := make(chan error, 3)
	for i := range 3 {
		go func() { errs <- c.launch(i) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ds := c.must(0, 201, "POST", "/data_sources", map[string]any{"name": "Billing"})["uuid"].(string)
	plan := c.must(1, 201, "POST", "/plans", map[string]any{"data_source_uuid": ds, "name": "Pro",
		"interval_count": 1, "interval_unit": "month", "external_id": "pro"})["uuid"].(string)

	// Read-your-writes: customer k (price 1,000 + 100·k cents) is created on
	// server k%3, its invoices imported on (k+1)%3, and the MRR read on
	// (k+2)%3 must already count it. After customers 0..k the MRR of March
	// 2024 is Σ (1000 + 100·j) = 1000·(k+1) + 50·k·(k+1) cents, e.g. 2,100
	// after two customers (1,000 + 1,100); the Metrics API answers cents.
	var customers []string
	for k := range 12 {
		ext := fmt.Sprintf("c%02d", k)
		uuid := c.must(k%3, 201, "POST", "/customers", map[string]any{"data_source_uuid": ds, "external_id": ext, "name": ext})["uuid"].(string)
		customers = append(customers, uuid)
		c.must((k+1)%3, 201, "POST", "/import/customers/"+uuid+"/invoices", map[string]any{"invoices": []any{
			invoice(ext, ds, plan, ext+"-1", time.March, 1000+100*k)}})
		got := mrrAt(c.must((k+2)%3, 200, "GET", "/metrics/all?start-date=2024-03-01&end-date=2024-03-31&interval=month", nil), "2024-03-31")
		want := float64(1000*(k+1) + 50*k*(k+1))
		if got != want {
			t.Fatalf("after customer %d, server %d answers MRR %v; want %v (written on servers %d and %d)", k, (k+2)%3, got, want, k%3, (k+1)%3)
		}
	}

	// The rolling restart under load.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var (
		amu      sync.Mutex
		answered []string // invoice external ids answered 201
		failures []string
		next     atomic.Int64
	)
	fail := func(f string, args ...any) {
		amu.Lock()
		failures = append(failures, fmt.Sprintf(f, args...))
		amu.Unlock()
	}
	for w := range 4 {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		wg.Go(func() {
			for !stop.Load() {
				k := rng.IntN(len(customers))
				n := next.Add(1)
				ext := fmt.Sprintf("c%02d", k)
				invExt := fmt.Sprintf("%s-load-%d", ext, n)
				i, done := c.pick(rng, -1)
				if i < 0 {
					continue
				}
				status, out, err := c.do(i, "POST", "/import/customers/"+customers[k]+"/invoices", map[string]any{"invoices": []any{
					invoice(ext, ds, plan, invExt, time.Month(4+n%6), 1000+100*k)}})
				done()
				if err != nil || status != 201 {
					fail("write %s on server %d: %d %v %v", invExt, i, status, out, err)
					continue
				}
				amu.Lock()
				answered = append(answered, invExt)
				amu.Unlock()
				uuid := out["invoices"].([]any)[0].(map[string]any)["uuid"].(string)
				j, done := c.pick(rng, i)
				if j < 0 {
					continue
				}
				status, out, err = c.do(j, "GET", "/invoices/"+uuid, nil)
				done()
				if err != nil || status != 200 || out["external_id"] != invExt {
					fail("read of %s (written on %d) on server %d: %d %v %v", invExt, i, j, status, out, err)
				}
			}
		})
	}
	for i := range 3 {
		time.Sleep(300 * time.Millisecond)
		c.restart(i)
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during the rolling restart; first: %s", len(failures), failures[0])
	}
	if len(answered) < 20 {
		t.Fatalf("only %d writes during the restarts: the load did not run", len(answered))
	}

	stored := map[string]bool{}
	for cursor := ""; ; {
		page := c.must(0, 200, "GET", "/invoices?per_page=200"+cursor, nil)
		for _, inv := range page["invoices"].([]any) {
			stored[inv.(map[string]any)["external_id"].(string)] = true
		}
		if page["has_more"] != true {
			break
		}
		cursor = "&cursor=" + page["cursor"].(string)
	}
	for _, ext := range answered {
		if !stored[ext] {
			t.Fatalf("invoice %s was answered 201 during the restarts and is gone", ext)
		}
	}
	var first []byte
	for i := range 3 {
		out := c.must(i, 200, "GET", "/metrics/all?start-date=2024-01-01&end-date=2024-12-31&interval=month", nil)
		b, _ := json.Marshal(out)
		if i == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("server %d answers other numbers than server 0:\n%s\n%s", i, b, first)
		}
	}
	t.Logf("%d writes and their reads across three servers restarted one by one", len(answered))
}
