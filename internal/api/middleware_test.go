package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// A panic is logged with the request id and answered with a generic 500
// that leaks nothing of it.
func TestPanicIsAGeneric500(t *testing.T) {
	var logs bytes.Buffer
	a := newAPI(nil, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := a.edge(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret: database password is hunter2")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/ping", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	id := rec.Header().Get("X-Request-Id")
	body := rec.Body.String()
	if strings.Contains(body, "hunter2") || strings.Contains(body, "secret") {
		t.Fatalf("500 body leaks the panic: %s", body)
	}
	jsonEqual(t, rec.Body.Bytes(), `{"code":500,"message":"Internal server error (request `+id+`).","param":null}`)
	if !strings.Contains(logs.String(), "request_id="+id) || !strings.Contains(logs.String(), "hunter2") {
		t.Fatalf("log lacks the request id or the panic:\n%s", logs.String())
	}
}

func TestBodyLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{MaxBodyBytes: 1024})
		before := storetest.Snapshot(t, s)
		r := e.do(e.key, "POST", "/v1/data_sources", `{"name":"`+strings.Repeat("x", 2000)+`"}`)
		if r.status != 413 {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		jsonEqual(t, r.body, `{"code":413,"message":"The request body is larger than the limit of 1 KiB.","param":null}`)
		if storetest.Snapshot(t, s) != before {
			t.Fatal("an oversized request changed the database")
		}
		// Just under the limit (names are at most 255 characters; unknown
		// fields are ignored).
		e.ok(201, "POST", "/v1/data_sources", map[string]any{"name": strings.Repeat("x", 200), "note": strings.Repeat("y", 700)})
	})
}

func TestRateLimitPerKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{RateLimit: 0.001, RateBurst: 2})
		for range 2 {
			e.ok(200, "GET", "/v1/ping", nil)
		}
		r := e.do(e.key, "GET", "/v1/ping", nil)
		if r.status != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("third request: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		jsonEqual(t, r.body, `{"code":429,"message":"Your request rate has exceeded our rate limit.","param":null}`)
		// Buckets are per key: another key is not slowed down.
		if r := e.do(e.readKey, "GET", "/v1/ping", nil); r.status != 200 {
			t.Fatalf("other key: %d", r.status)
		}
	})
}

func TestKeys(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		// The read key reads but never writes.
		if r := e.do(e.readKey, "GET", "/v1/customers", nil); r.status != 200 {
			t.Fatalf("read key GET: %d", r.status)
		}
		if r := e.do(e.readKey, "PATCH", "/v1/plans/pl_x", map[string]any{}); r.status != 403 {
			t.Fatalf("read key PATCH: %d", r.status)
		}
		// Password equal to the key is accepted; any other password is not.
		for pass, want := range map[string]int{e.key: 200, "wrong": 401} {
			req, _ := http.NewRequest("GET", e.srv.URL+"/v1/ping", nil)
			req.SetBasicAuth(e.key, pass)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != want {
				t.Errorf("password %q: %d, want %d", pass, res.StatusCode, want)
			}
		}
		// Revocation takes effect on the next request.
		if err := e.store.RevokeAPIKeyByHash(context.Background(), auth.Hash(e.key)); err != nil {
			t.Fatal(err)
		}
		if r := e.do(e.key, "GET", "/v1/ping", nil); r.status != 401 {
			t.Fatalf("revoked key: %d", r.status)
		}
	})
}

func TestMuxErrorsAreJSON(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		r := e.do(e.key, "DELETE", "/v1/ping", nil)
		if r.status != 405 || !strings.Contains(r.header.Get("Allow"), "GET") {
			t.Fatalf("405: %d Allow=%q", r.status, r.header.Get("Allow"))
		}
		jsonEqual(t, r.body, `{"code":405,"message":"Method DELETE is not allowed on this resource.","param":null}`)
		jsonEqual(t, e.do(e.key, "GET", "/v1/unknown", nil).body,
			`{"code":404,"message":"The requested resource /v1/unknown does not exist.","param":null}`)
		// GET bodies are ignored (some clients send {}).
		if r := e.do(e.key, "GET", "/v1/ping", "{}"); r.status != 200 {
			t.Fatalf("GET with a body: %d", r.status)
		}
	})
}

// A body that cannot be encoded is a server bug: a logged 500, never a
// 200 with an empty or cut body.
func TestUnencodableBodyIsA500(t *testing.T) {
	a := newAPI(nil, Options{})
	h := a.edge(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"per_page": func() {}})
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/activities", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "Internal server error") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}
