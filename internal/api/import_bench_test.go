package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/tally-analytics/tally/internal/store/storetest"
)

// invoiceBatch builds one import request of n invoices, each with two
// subscription lines and one payment, numbered from first.
func invoiceBatch(first, n int, plan string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"invoices":[`)
	for i := first; i < first+n; i++ {
		if i > first {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_id":"inv-%d","date":"2024-01-01T00:00:00Z","currency":"USD","line_items":[`+
			`{"type":"subscription","subscription_external_id":"sub-%d-a","plan_uuid":%q,"service_period_start":"2024-01-01","service_period_end":"2024-02-01","amount_in_cents":5000,"quantity":1,"external_id":"li-%d-a"},`+
			`{"type":"subscription","subscription_external_id":"sub-%d-b","plan_uuid":%q,"service_period_start":"2024-01-01","service_period_end":"2024-02-01","amount_in_cents":1500,"quantity":3,"tax_amount_in_cents":300}],`+
			`"transactions":[{"type":"payment","result":"successful","date":"2024-01-02T10:00:00Z","external_id":"tr-%d"}]}`,
			i, i%50, plan, i, i%50, plan, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkImportInvoices measures bulk import through the whole HTTP stack:
// 1,000 invoices per request, each with two subscription lines and one
// payment (issue 4's target: 10,000 invoices/s on SQLite). Run:
//
//	go test ./internal/api -run '^$' -bench ImportInvoices -benchtime 20x
func BenchmarkImportInvoices(b *testing.B) {
	const perRequest = 1000
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			e := newEnv(b, storetest.Open(b, backend), Options{})
			_, cus, plan := e.fixture()
			client := e.srv.Client()
			n := 0
			for b.Loop() {
				b.StopTimer()
				body := invoiceBatch(n*perRequest, perRequest, plan)
				b.StartTimer()
				req, _ := http.NewRequest("POST", e.srv.URL+"/v1/import/customers/"+cus+"/invoices", bytes.NewReader(body))
				req.SetBasicAuth(e.key, "")
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				out, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					var m map[string]any
					_ = json.Unmarshal(out, &m)
					b.Fatalf("status %d: %.500s", res.StatusCode, out)
				}
				n++
			}
			b.ReportMetric(float64(n*perRequest)/b.Elapsed().Seconds(), "invoices/s")
		})
	}
}
