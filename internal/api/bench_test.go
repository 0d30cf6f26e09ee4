package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/tally-analytics/tally/internal/store/storetest"
)

// BenchmarkCreateCustomer measures POST /v1/customers through the whole
// HTTP stack (TCP, middleware, auth lookup, validation, one write
// transaction) on each backend. Run:
//
//	go test ./internal/api -run '^$' -bench CreateCustomer -benchtime 3s
func BenchmarkCreateCustomer(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			e := newEnv(b, storetest.Open(b, backend), Options{})
			ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "bench"})["uuid"].(string)
			client := e.srv.Client()
			i := 0
			for b.Loop() {
				i++
				body := fmt.Sprintf(`{"data_source_uuid":%q,"external_id":"c%d","name":"Customer %d","email":"c%d@example.com","country":"US","city":"New York"}`, ds, i, i, i)
				req, _ := http.NewRequest("POST", e.srv.URL+"/v1/customers", bytes.NewBufferString(body))
				req.SetBasicAuth(e.key, "")
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body) // drain so the connection is reused
				res.Body.Close()
				if res.StatusCode != 201 {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
