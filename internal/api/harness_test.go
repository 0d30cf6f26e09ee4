package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// env is one running API over one store, with keys of two accounts.
type env struct {
	t        testing.TB
	store    *store.Store
	srv      *httptest.Server
	key      string // full access, account "acme"
	readKey  string // read-only, account "acme"
	otherKey string // full access, account "globex"
}

func newEnv(t testing.TB, s *store.Store, opts Options) *env {
	t.Helper()
	e := &env{t: t, store: s}
	e.key = e.newKey("acme", billing.AccessFull)
	e.readKey = e.newKey("acme", billing.AccessRead)
	e.otherKey = e.newKey("globex", billing.AccessFull)
	e.srv = httptest.NewServer(New(s, opts))
	t.Cleanup(e.srv.Close)
	// The first authenticated request makes the public ids' secret; make
	// it now, so that tests comparing snapshots see a settled database.
	if _, err := s.IDSecret(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// eachEnv runs fn on a fresh environment per backend.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fn(t, newEnv(t, s, Options{}))
	})
}

func (e *env) newKey(account string, access billing.Access) string {
	e.t.Helper()
	ctx := context.Background()
	acct, _, err := e.store.EnsureAccount(ctx, account)
	if err != nil {
		e.t.Fatal(err)
	}
	k := auth.NewKey()
	if err := e.store.CreateAPIKey(ctx, acct.ID, auth.Prefix(k), auth.Hash(k), access); err != nil {
		e.t.Fatal(err)
	}
	return k
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value for assertions.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object (status %d): %q", r.status, r.body)
	}
	return m
}

// do sends a request with key as the Basic-auth user ("" sends none).
// body may be a string (sent as is) or any value (sent as JSON).
func (e *env) do(key, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// ok sends with the full key and fails unless the status is want; it
// returns the decoded body (nil for an empty one).
func (e *env) ok(want int, method, path string, body any) map[string]any {
	e.t.Helper()
	r := e.do(e.key, method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(e.t)
}

// fixture creates a data source, a customer and a plan for account acme.
func (e *env) fixture() (ds, cus, pl string) {
	e.t.Helper()
	ds = e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": "In-house billing"})["uuid"].(string)
	cus = e.ok(201, "POST", "/v1/customers", map[string]any{"data_source_uuid": ds, "external_id": "cus_0001",
		"name": "Adam Smith", "email": "adam@example.com", "country": "US", "city": "New York"})["uuid"].(string)
	pl = e.ok(201, "POST", "/v1/plans", map[string]any{"data_source_uuid": ds, "name": "Bronze Plan",
		"interval_count": 1, "interval_unit": "month", "external_id": "plan_0001"})["uuid"].(string)
	return ds, cus, pl
}

// jsonEqual compares a body with the JSON text want, ignoring key order.
func jsonEqual(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %q", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("body\n got %s\nwant %s", gb, wb)
	}
}
