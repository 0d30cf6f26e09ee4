package api

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// newEnvAPI is newEnv that also returns the API behind the server.
func newEnvAPI(t testing.TB, s *store.Store, opts Options) (*env, *API) {
	t.Helper()
	e := &env{t: t, store: s}
	e.key = e.newKey("acme", billing.AccessFull)
	e.readKey = e.newKey("acme", billing.AccessRead)
	e.otherKey = e.newKey("globex", billing.AccessFull)
	a := newAPI(s, opts)
	e.srv = httptest.NewServer(a.handler())
	t.Cleanup(e.srv.Close)
	return e, a
}

// metricsPaths are every Metrics API endpoint: the nine of
// /v1/metrics/{name} and Tally's own three.
var metricsPaths = []string{"mrr", "arr", "arpa", "asp", "customer-count", "customer-churn-rate", "mrr-churn-rate", "ltv", "all",
	"cash-flow", "retention", "cmrr"}

// TestMetricsEntryCap: a series longer than --max-entries is a 400 that
// names the limit, on every metrics endpoint, before anything is built;
// one at the cap is answered. The request (a daily series over
// 274 years) is refused by default.
func TestMetricsEntryCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{MaxEntries: 10})
		syncalytics(t, e)
		def := newEnv(t, s, Options{})
		for _, name := range metricsPaths {
			// 2024-01-01..2024-01-10 is ten days: at the cap.
			r := e.do(e.readKey, "GET", "/v1/metrics/"+name+"?start-date=2024-01-01&end-date=2024-01-10&interval=day", nil)
			if r.status != 200 {
				t.Errorf("%s at the cap: status %d, want 200; %s", name, r.status, r.body)
			} else if n := len(r.json(t)["entries"].([]any)); n != 10 {
				t.Errorf("%s at the cap: %d entries, want 10", name, n)
			}
			r = e.do(e.readKey, "GET", "/v1/metrics/"+name+"?start-date=2024-01-01&end-date=2024-01-11&interval=day", nil)
			if r.status != 400 {
				t.Errorf("%s over the cap: status %d, want 400; %s", name, r.status, r.body)
				continue
			}
			jsonEqual(t, r.body, `{"code":400,"param":"interval","message":"This request asks for more than 10 entries, the most one answer holds (--max-entries): use a longer interval or a shorter range."}`)

			r = def.do(def.readKey, "GET", "/v1/metrics/"+name+"?start-date=1970-01-01&end-date=2073-10-01&interval=day", nil)
			if r.status != 400 || !strings.Contains(string(r.body), "more than 5000 entries") {
				t.Errorf("%s daily over 104 years by default: status %d, want 400 naming 5000; %s", name, r.status, r.body)
			}
		}
	})
}

// TestMetricsDateRange: dates outside the stored range, 1970-01-01 to
// 2999-12-31, are a 400 naming the parameter, so a yearly series over
// millennia is not built either.
func TestMetricsDateRange(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		cases := []struct{ query, param string }{
			{"start-date=1800-01-01&end-date=2024-01-01&interval=year", "start-date"},
			{"start-date=0001-01-01&end-date=2024-01-01&interval=year", "start-date"},
			{"start-date=2024-01-01&end-date=9999-12-31&interval=year", "end-date"},
			{"start-date=1969-12-31&end-date=2024-01-01&interval=year", "start-date"},
			{"start-date=2024-01-01&end-date=3000-01-01&interval=year", "end-date"},
			{"start-date=2024-01-01&end-date=2024-02-01&as-of=0001-01-01", "as-of"},
		}
		for _, name := range metricsPaths {
			for _, c := range cases {
				r := e.do(e.key, "GET", "/v1/metrics/"+name+"?"+c.query, nil)
				if r.status != 400 || r.json(t)["param"] != c.param {
					t.Errorf("%s?%s: status %d, want 400 naming %s; %s", name, c.query, r.status, c.param, r.body)
				}
			}
			r := e.do(e.key, "GET", "/v1/metrics/"+name+"?start-date=1970-01-01&end-date=2999-12-31&interval=year", nil)
			if r.status != 200 {
				t.Errorf("%s over the whole range by year: status %d, want 200; %s", name, r.status, r.body)
			}
		}
	})
}

// TestInFlightPerKey: a key may have --max-in-flight requests to an
// expensive endpoint at once; the next is a 429 with Retry-After, while
// another key and a cheap endpoint go through. A finished request frees
// its place.
func TestInFlightPerKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a := newAPI(s, Options{MaxInFlight: 2})
		e := &env{t: t, store: s}
		e.key = e.newKey("acme", billing.AccessFull)
		e.readKey = e.newKey("acme", billing.AccessRead)
		entered, release := make(chan struct{}), make(chan struct{})
		block := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("hold") {
				entered <- struct{}{}
				<-release
			}
			w.WriteHeader(204)
		})
		e.srv = httptest.NewServer(a.edge(a.authenticate(a.expensive(block))))
		defer e.srv.Close()
		defer close(release) // first: no held handler outlives a failure
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if r := e.do(e.key, "GET", "/v1/metrics/all?hold", nil); r.status != 204 {
					t.Errorf("held request: %d %s", r.status, r.body)
				}
			})
			<-entered
		}
		r := e.do(e.key, "GET", "/v1/metrics/all", nil)
		if r.status != 429 || r.header.Get("Retry-After") != "1" {
			t.Errorf("third request: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		jsonEqualNow(t, r.body, `{"code":429,"message":"This API key already has 2 requests in flight, the most it may have (--max-in-flight): retry when one has finished.","param":null}`)
		// Another key has places of its own.
		if r := e.do(e.readKey, "GET", "/v1/metrics/all", nil); r.status != 204 {
			t.Errorf("another key: %d %s", r.status, r.body)
		}
		release <- struct{}{}
		release <- struct{}{}
		wg.Wait()
		if r := e.do(e.key, "GET", "/v1/metrics/all", nil); r.status != 204 {
			t.Errorf("after the held requests finished: %d %s", r.status, r.body)
		}
	})
}

// TestExpensiveRoutesAreLimited: metrics, activities and exports count
// against --max-in-flight; other routes do not.
func TestExpensiveRoutesAreLimited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e, a := newEnvAPI(t, s, Options{MaxInFlight: 1})
		_, cus, _ := e.fixture()
		x := e.ok(200, "POST", "/v1/activities_export", map[string]any{})["id"].(string)
		k, _, err := s.KeyByHash(t.Context(), auth.Hash(e.key))
		if err != nil {
			t.Fatal(err)
		}
		if !a.inFlight.acquire(k.ID, 1) { // the key's one place is taken
			t.Fatal("could not take the key's place")
		}
		defer a.inFlight.release(k.ID)
		q := "?start-date=2024-01-01&end-date=2024-01-31"
		limited := []struct{ method, path string }{{"POST", "/v1/activities_export"}, {"GET", "/v1/activities_export/" + x + "/file"},
			{"GET", "/v1/activities"}, {"GET", "/v1/customers/" + cus + "/activities"}}
		for _, name := range metricsPaths {
			limited = append(limited, struct{ method, path string }{"GET", "/v1/metrics/" + name + q})
		}
		for _, c := range limited {
			if r := e.do(e.key, c.method, c.path, map[string]any{}); r.status != 429 {
				t.Errorf("%s %s with no place left: %d, want 429", c.method, c.path, r.status)
			}
		}
		for _, p := range []string{"/v1/ping", "/v1/customers", "/v1/activities_export/" + x, "/v1/customers/" + cus} {
			if r := e.do(e.key, "GET", p, nil); r.status != 200 {
				t.Errorf("GET %s: %d, want 200", p, r.status)
			}
		}
	})
}

// jsonEqualNow is jsonEqual reporting with Errorf, for tests that must
// carry on to release what they hold.
func jsonEqualNow(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	_ = json.Unmarshal(got, &g)
	_ = json.Unmarshal([]byte(want), &w)
	if gb, wb := mustJSON(g), mustJSON(w); gb != wb {
		t.Errorf("body\n got %s\nwant %s", gb, wb)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// rawConn opens a connection to the test server and sends text as is.
// Reads on it give up after 30 seconds, so a test fails instead of hanging.
func rawConn(t *testing.T, e *env, text string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, text); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

func basic(key string) string { return base64.StdEncoding.EncodeToString([]byte(key + ":")) }

// TestUnreadBodyClosesTheConnection: a request answered without reading
// its body (no key, a read key writing, a wrong route) gets its answer at
// once with Connection: close, and the connection is closed, instead of
// the server draining a body the client may never send (the issue: 600
// such connections held for the 5-minute read timeout each). A body read
// to its end keeps the connection alive.
func TestUnreadBodyClosesTheConnection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{})
		for name, auth := range map[string]string{"no key": "", "wrong key": "Authorization: Basic " + basic("tly_nope") + "\r\n",
			"read key": "Authorization: Basic " + basic(e.readKey) + "\r\n"} {
			_, br := rawConn(t, e, "POST /v1/data_sources HTTP/1.1\r\nHost: tally\r\n"+auth+"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Errorf("%s: no answer before the body: %v", name, err)
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			if want := map[string]int{"read key": 403}[name]; want == 0 && res.StatusCode != 401 || want != 0 && res.StatusCode != want {
				t.Errorf("%s: status %d", name, res.StatusCode)
			}
			if !res.Close {
				t.Errorf("%s: answer without Connection: close", name)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("%s: connection not closed after the answer: %v", name, err)
			}
		}
		// A body read to its end: the connection stays open for the next request.
		body := `{"name":"Kept alive"}`
		c, br := rawConn(t, e, "POST /v1/data_sources HTTP/1.1\r\nHost: tally\r\nAuthorization: Basic "+basic(e.key)+
			"\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != 201 || res.Close {
			t.Fatalf("read body: %v %+v", err, res)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_, _ = io.WriteString(c, "GET /v1/ping HTTP/1.1\r\nHost: tally\r\nAuthorization: Basic "+basic(e.key)+"\r\n\r\n")
		if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != 200 {
			t.Fatalf("second request on the connection: %v %+v", err, res)
		}
	})
}

// TestBodyTimeout: a body that stops arriving is given up after
// --body-timeout (400), not after the server's whole read timeout.
func TestBodyTimeout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{BodyTimeout: 200 * time.Millisecond})
		_, br := rawConn(t, e, "POST /v1/data_sources HTTP/1.1\r\nHost: tally\r\nAuthorization: Basic "+basic(e.key)+
			"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":")
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer to a stalled body: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 400 || !res.Close {
			t.Fatalf("stalled body: %d (close %v) %s", res.StatusCode, res.Close, b)
		}
		jsonEqual(t, b, `{"code":400,"message":"The request body could not be read.","param":null}`)
		if r := e.do(e.key, "GET", "/v1/data_sources", nil); len(r.json(t)["data_sources"].([]any)) != 0 {
			t.Fatalf("a stalled body stored something: %s", r.body)
		}
	})
}

// TestWriteTimeout: a client that never reads its answer is cut off after
// --write-timeout, so the handler returns and its memory is freed; before,
// the handler blocked in Write for as long as the client kept the
// connection open.
func TestWriteTimeout(t *testing.T) {
	a := newAPI(nil, Options{WriteTimeout: 200 * time.Millisecond})
	failed := make(chan error, 1)
	chunk := make([]byte, 1<<20)
	srv := httptest.NewServer(a.edge(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 1 << 10 { // up to 1 GiB, far more than the socket buffers hold
			if _, err := w.Write(chunk); err != nil {
				failed <- err
				return
			}
		}
		failed <- nil
	})))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /big HTTP/1.1\r\nHost: tally\r\n\r\n") // and never read
	select {
	case err := <-failed:
		if err == nil {
			t.Fatal("a gigabyte was written to a client that reads nothing")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the handler is still writing to a client that reads nothing")
	}
}
