package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/demo"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// snapshotPaths are the answers a snapshot must leave byte for byte as
// the rows give them: every kind of metric, unfiltered and filtered.
var snapshotPaths = []string{
	"/v1/metrics/all?start-date=2023-01-01&end-date=2025-12-31&interval=month",
	"/v1/metrics/all?start-date=2023-01-01&end-date=2025-12-31&interval=week&geo=DE,FR",
	"/v1/metrics/mrr?start-date=2024-01-01&end-date=2025-12-31&interval=quarter&plans=demo-pro-monthly",
	"/v1/metrics/all?start-date=2023-01-01&end-date=2025-12-31&interval=month&filters=" +
		"tags~ANY~'vip'",
	"/v1/metrics/all?start-date=2023-01-01&end-date=2025-12-31&interval=month&filters=custom.tier~ANY~'gold'",
	"/v1/metrics/cash-flow?start-date=2023-01-01&end-date=2025-12-31&interval=month",
	"/v1/metrics/cash-flow?start-date=2023-01-01&end-date=2025-12-31&interval=month&geo=DE",
	"/v1/metrics/cash-flow?start-date=2023-01-01&end-date=2025-12-31&interval=month&filters=custom.seats~GT~3",
	"/v1/metrics/retention?start-date=2023-01-01&end-date=2025-12-31&interval=month",
	"/v1/metrics/cmrr?start-date=2025-06-01&end-date=2026-12-31&interval=month",
	"/v1/customers?per_page=200&sort=-mrr",
}

// snapshotServer is an API over s, with snapshots from min customers.
type snapshotServer struct {
	api *api.API
	srv *httptest.Server
}

func newSnapshotServer(t *testing.T, s *store.Store, min int) *snapshotServer {
	a := api.NewServer(s, api.Options{SnapshotMinCustomers: min})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &snapshotServer{a, srv}
}

func (ss *snapshotServer) call(t *testing.T, key, method, path, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, ss.srv.URL+path, strings.NewReader(body))
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := ss.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return string(b)
}

// answers are ss's answers to snapshotPaths.
func (ss *snapshotServer) answers(t *testing.T, key string) []string {
	var out []string
	for _, p := range snapshotPaths {
		out = append(out, ss.call(t, key, http.MethodGet, p, ""))
	}
	return out
}

// TestCacheSnapshots: on the demo book (movements of every kind, EUR
// customers at ECB rates, refunds, failed payments, scheduled events)
// with tags and custom attributes of every type, a server that starts
// from the snapshots another wrote answers every metric byte for byte as
// one that reads the rows, after writes made since the snapshot too; a
// snapshot from before a customer's removal, or a damaged one, is not
// used.
func TestCacheSnapshots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, err := demo.Install(ctx, s, "acme", demo.Options{Seed: 1, Anchor: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Customers: 150})
		if err != nil {
			t.Fatal(err)
		}
		acct := res.Account.ID
		key := auth.NewKey()
		if err := s.CreateAPIKey(ctx, acct, auth.Prefix(key), auth.Hash(key), billing.AccessFull); err != nil {
			t.Fatal(err)
		}
		first := newSnapshotServer(t, s, 1)
		var list struct {
			Entries []struct {
				UUID string `json:"uuid"`
			} `json:"entries"`
		}
		if err := json.Unmarshal([]byte(first.call(t, key, http.MethodGet, "/v1/customers?per_page=10", "")), &list); err != nil {
			t.Fatal(err)
		}
		cus := list.Entries
		// Facts of every kind the codec writes: tags, and custom
		// attributes of each JSON type.
		first.call(t, key, http.MethodPost, "/v1/customers/"+cus[0].UUID+"/attributes/tags", `{"tags":["vip","eu"]}`)
		first.call(t, key, http.MethodPost, "/v1/customers/"+cus[1].UUID+"/attributes/custom",
			`{"custom":[{"type":"String","key":"tier","value":"gold"},{"type":"Integer","key":"seats","value":12},`+
				`{"type":"Boolean","key":"trial","value":true},{"type":"Decimal","key":"score","value":0.5}]}`)
		first.call(t, key, http.MethodPost, "/v1/customers/"+cus[2].UUID+"/attributes/custom",
			`{"custom":[{"type":"Integer","key":"seats","value":2,"source":"crm"}]}`)

		rows := newSnapshotServer(t, s, -1) // never a snapshot: the rows
		want := rows.answers(t, key)
		if got := first.answers(t, key); !reflect.DeepEqual(got, want) {
			t.Fatalf("the first server's answers differ from the rows'")
		}
		first.api.WaitSnapshots()
		for _, kind := range []string{"results", "cash"} {
			sn, err := s.CacheSnapshot(ctx, acct, kind)
			if err != nil {
				t.Fatalf("%s snapshot: %v", kind, err)
			}
			if ok, err := api.SnapshotHoldsBooks(kind, sn.Data, res.Account.Currency); !ok || err != nil {
				t.Fatalf("the %s snapshot holds no book (%v)", kind, err)
			}
		}
		if err := api.SameCache(first.api, rows.api, acct); err != nil {
			t.Fatal(err)
		}

		// A new server loads both snapshots and reads no row of results
		// or transactions.
		second := newSnapshotServer(t, s, 1)
		if got := second.answers(t, key); !reflect.DeepEqual(got, want) {
			diffAnswers(t, got, want)
		}
		if r, c := second.api.ChangedSinceSnapshot(acct); r != 0 || c != 0 {
			t.Fatalf("loaded from the snapshots, yet %d customers' results and %d customers' transactions were read", r, c)
		}
		if err := api.SameCache(second.api, rows.api, acct); err != nil {
			t.Fatal(err)
		}

		// A server warmed at start has both loaded before any request.
		warmed := newSnapshotServer(t, s, 1)
		if err := warmed.api.Warm(ctx); err != nil {
			t.Fatal(err)
		}
		if r, c := warmed.api.CacheLoaded(acct); !r || !c {
			t.Fatalf("after Warm: results loaded %v, cash book %v", r, c)
		}
		if got := warmed.answers(t, key); !reflect.DeepEqual(got, want) {
			diffAnswers(t, got, want)
		}

		// Writes after the snapshots: a new invoice and a tag. A server
		// starting now reads those two customers from the rows.
		first.call(t, key, http.MethodPost, "/v1/import/customers/"+cus[3].UUID+"/invoices", `{"invoices":[{"external_id":"snap-1",`+
			`"date":"2025-11-05T00:00:00Z","currency":"USD","line_items":[{"type":"one_time","amount_in_cents":12345,"quantity":1}],`+
			`"transactions":[{"type":"payment","result":"successful","date":"2025-11-05T01:00:00Z"}]}]}`)
		first.call(t, key, http.MethodPost, "/v1/customers/"+cus[4].UUID+"/attributes/tags", `{"tags":["vip"]}`)
		want = rows.answers(t, key)
		third := newSnapshotServer(t, s, 1)
		if got := third.answers(t, key); !reflect.DeepEqual(got, want) {
			diffAnswers(t, got, want)
		}
		if r, c := third.api.ChangedSinceSnapshot(acct); r != 2 || c != 2 {
			t.Fatalf("after two customers' writes, %d customers' results and %d customers' transactions were read; want 2 and 2", r, c)
		}
		if err := api.SameCache(third.api, rows.api, acct); err != nil {
			t.Fatal(err)
		}

		// A removal makes the snapshots unusable: the next server reads
		// the rows, and writes new snapshots.
		first.call(t, key, http.MethodDelete, "/v1/customers/"+cus[5].UUID, "")
		want = rows.answers(t, key)
		fourth := newSnapshotServer(t, s, 1)
		if got := fourth.answers(t, key); !reflect.DeepEqual(got, want) {
			diffAnswers(t, got, want)
		}
		// It wrote snapshots as of the removal.
		fourth.api.WaitSnapshots()
		_, resets, err := s.ResultsState(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"results", "cash"} {
			if sn, err := s.CacheSnapshot(ctx, acct, kind); err != nil || sn.Resets != resets {
				t.Fatalf("%s snapshot after the removal: %d resets (%v), want %d", kind, sn.Resets, err, resets)
			}
		}

		// A damaged snapshot is read as none.
		for _, data := range []string{"", "TR", "TR\x01\x05", "TR\x09", "garbage"} {
			if _, err := s.DB().ExecContext(ctx, `UPDATE cache_snapshots SET data = $1`, []byte(data)); err != nil {
				t.Fatal(err)
			}
			// From 1,000,000 customers: it reads snapshots, and writes
			// none for this book.
			reader := newSnapshotServer(t, s, 1_000_000)
			if got := reader.answers(t, key); !reflect.DeepEqual(got, want) {
				diffAnswers(t, got, want)
			}
		}
	})
}

func diffAnswers(t *testing.T, got, want []string) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("GET %s:\n%.600s\nwant\n%.600s", snapshotPaths[i], got[i], want[i])
		}
	}
}
