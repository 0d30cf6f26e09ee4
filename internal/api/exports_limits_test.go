package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// exportRows downloads an export's file and returns its rows, header
// first.
func exportRows(t *testing.T, e *env, id string) [][]string {
	t.Helper()
	r := e.do(e.key, "GET", "/v1/activities_export/"+id+"/file", nil)
	if r.status != 200 {
		t.Fatalf("download: %d %s", r.status, r.body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatalf("the file is not CSV: %v\n%s", err, r.body)
	}
	return rows
}

// TestExportNeutralisesFormulas: text cells that a spreadsheet would run
// as formulas get a leading quote; negative amounts stay numbers.
func TestExportNeutralisesFormulas(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Hostile billing"})["uuid"].(string)
		cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "+cmd|' /C calc'!A0",
			"name": `=HYPERLINK("http://evil.example","x")`})["uuid"].(string)
		pl := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Plan", "interval_count": 1,
			"interval_unit": "month", "external_id": "@SUM(1+1)"})["uuid"].(string)
		e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(map[string]any{"external_id": "I1", "date": "2024-01-01",
			"currency": "USD", "line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": "-2+3",
				"plan_uuid": pl, "service_period_start": "2024-01-01", "service_period_end": "2024-02-01", "amount_in_cents": 1000,
				"cancelled_at": "2024-01-15"}}}))
		x := e.ok(200, "POST", "/v1/activities_export", map[string]any{})["id"].(string)
		rows := exportRows(t, e, x)
		if len(rows) != 3 {
			t.Fatalf("want a header, a new_biz and a churn row: %q", rows)
		}
		for _, row := range rows[1:] {
			for col, want := range map[int]string{3: "'+cmd|' /C calc'!A0", 4: `'=HYPERLINK("http://evil.example","x")`,
				10: "'-2+3", 11: "'@SUM(1+1)"} {
				if row[col] != want {
					t.Errorf("%s %s = %q, want %q", row[1], rows[0][col], row[col], want)
				}
			}
		}
		if churn := rows[2]; churn[1] != "churn" || churn[6] != "-1000" || churn[7] != "0" {
			t.Errorf("churn row %q: mrr_movement must stay the number -1000", churn)
		}
	})
}

// TestExportCompleteUnderWrites: recomputes rewriting every customer's
// activities while the file is read, page by page, neither cut the file
// short nor repeat a row (the issue: 20 of 20 downloads stopped at the
// first page with a 200).
func TestExportCompleteUnderWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e, a := newEnvAPI(t, s, Options{})
		a.exportPage = 3
		ds := e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "Busy billing"})["uuid"].(string)
		pl := e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Plan", "interval_count": 1,
			"interval_unit": "month"})["uuid"].(string)
		for c := range 5 {
			cus := e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": fmt.Sprint("c", c)})["uuid"].(string)
			var invs []map[string]any
			for m, amount := range []int{1000, 2000, 1500} {
				from := fmt.Sprintf("2024-%02d-01", m+1)
				to := fmt.Sprintf("2024-%02d-01", m+2)
				invs = append(invs, map[string]any{"external_id": fmt.Sprint("i", c, m), "date": from, "currency": "USD",
					"line_items": []any{map[string]any{"type": "subscription", "subscription_external_id": fmt.Sprint("s", c),
						"plan_uuid": pl, "service_period_start": from, "service_period_end": to, "amount_in_cents": amount + c}}})
			}
			e.ok(201, "POST", "/v1/import/customers/"+cus+"/invoices", invoices(invs...))
		}
		x := e.ok(200, "POST", "/v1/activities_export", map[string]any{})["id"].(string)
		want := exportRows(t, e, x)
		if len(want) < 16 { // a header and at least 3 movements of each of 5 customers
			t.Fatalf("too few activities to page through: %d rows", len(want))
		}
		acct, err := s.AccountByName(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			rates := recompute.NewStoreRates(ctx, s)
			for ctx.Err() == nil {
				if _, err := recompute.All(ctx, s, acct.ID, rates); err != nil && ctx.Err() == nil {
					t.Errorf("recompute: %v", err)
					return
				}
			}
		})
		for i := range 20 {
			got := exportRows(t, e, x)
			if strings.Join(flat(got), "|") != strings.Join(flat(want), "|") {
				t.Errorf("download %d under writes: %d rows, want %d", i, len(got), len(want))
			}
		}
		stop()
		wg.Wait()
	})
}

func flat(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, ",")
	}
	return out
}

// TestExportFileURL: --public-url wins over anything the request says;
// without it the request's Host, over https behind a TLS proxy.
func TestExportFileURL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, c := range []struct {
			public, proto, want string
		}{
			{"", "", "http://tally.internal:8080"},
			{"", "https", "https://tally.internal:8080"},
			{"https://metrics.example.com/tally/", "http", "https://metrics.example.com/tally"},
		} {
			e := newEnv(t, s, Options{PublicURL: c.public})
			req, _ := http.NewRequest("POST", e.srv.URL+"/v1/activities_export", strings.NewReader("{}"))
			req.Host = "tally.internal:8080"
			req.SetBasicAuth(e.key, "")
			if c.proto != "" {
				req.Header.Set("X-Forwarded-Proto", c.proto)
			}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				ID      string `json:"id"`
				FileURL string `json:"file_url"`
			}
			decodeJSON(t, res, &body)
			if want := c.want + "/v1/activities_export/" + body.ID + "/file"; body.FileURL != want {
				t.Errorf("public %q, proto %q: file_url %q, want %q", c.public, c.proto, body.FileURL, want)
			}
		}
	})
}

func decodeJSON(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
