package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/config"
	"github.com/tally-analytics/tally/internal/demo"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

func ping(t *testing.T, addr, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/ping", nil)
	req.SetBasicAuth(key, "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// start runs the server until the test ends and returns its address and
// what it printed.
func start(t *testing.T, dsn, bootstrapKey string) (addr string, out *bytes.Buffer, stop func() error) {
	t.Helper()
	return startConfig(t, config.Config{Addr: "127.0.0.1:0", DB: dsn, BootstrapKey: bootstrapKey, MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second})
}

func startConfig(t *testing.T, cfg config.Config) (addr string, out *bytes.Buffer, stop func() error) {
	t.Helper()
	out = &bytes.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, out, slog.New(slog.NewTextHandler(io.Discard, nil)), func(a string) { ready <- a })
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server stopped: %v", err)
	}
	var stopped bool
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return addr, out, stop
}

var (
	keyPattern  = regexp.MustCompile(`tly_[0-9a-f]{48}`)
	linkPattern = regexp.MustCompile(`(https?://\S+)/login/([0-9a-f]{64})\n`)
)

func TestFirstStartPrintsAKeyOnce(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			dsn := storetest.DSN(t, b)
			addr, out, stop := start(t, dsn, "")
			key := keyPattern.FindString(out.String())
			if key == "" || !bytes.Contains(out.Bytes(), []byte("curl -u "+key+": http://"+addr+"/v1/ping")) {
				t.Fatalf("first start printed:\n%s", out)
			}
			if got := ping(t, addr, key); got != 200 {
				t.Fatalf("ping with the printed key: %d", got)
			}
			// Beside the key, a sign-in link bound to it; then the dashboard.
			link := linkPattern.FindStringSubmatch(out.String())
			if link == nil || link[1] != "http://"+addr || !strings.Contains(out.String(), "\nDashboard: http://"+addr+"/\n") {
				t.Fatalf("first start printed no sign-in link or dashboard address:\n%s", out)
			}
			if err := stop(); err != nil {
				t.Fatalf("graceful stop: %v", err)
			}
			s, err := OpenStore(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want, _, _ := s.KeyByHash(context.Background(), auth.Hash(key))
			k, _, err := s.UseLoginToken(context.Background(), auth.Hash(link[2]), time.Now())
			if err != nil || k.ID != want.ID || k.Access != billing.AccessFull {
				t.Fatalf("the printed link signs in as %+v (%v), want the printed key %+v", k, err, want)
			}
			// The second start on the same database prints no key and no
			// link, and the dashboard's address again.
			addr2, out2, _ := start(t, dsn, "")
			if keyPattern.MatchString(out2.String()) || strings.Contains(out2.String(), "/login/") ||
				!strings.Contains(out2.String(), "Dashboard: http://"+addr2+"/\n") {
				t.Fatalf("second start printed:\n%s", out2)
			}
		})
	}
}

func TestBootstrapKeyFromEnvironment(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			key := auth.NewKey()
			addr, out, _ := start(t, storetest.DSN(t, b), key)
			if keyPattern.MatchString(out.String()) || strings.Contains(out.String(), "/login/") {
				t.Fatalf("with TALLY_API_KEY set, serve printed a key or a sign-in link:\n%s", out)
			}
			if got := ping(t, addr, key); got != 200 {
				t.Fatalf("ping with TALLY_API_KEY: %d", got)
			}
			if got := ping(t, addr, auth.NewKey()); got != 401 {
				t.Fatalf("ping with another key: %d", got)
			}
		})
	}
}

// Shutdown lets a request in flight finish.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	key := auth.NewKey()
	addr, _, stop := start(t, storetest.DSN(t, "sqlite"), key)
	// A slow request: a body that arrives in two parts.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/data_sources", pr)
	req.SetBasicAuth(key, "")
	got := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- -1
			return
		}
		res.Body.Close()
		got <- res.StatusCode
	}()
	_, _ = pw.Write([]byte(`{"name":`))
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(100 * time.Millisecond)
	_, _ = pw.Write([]byte(`"late"}`))
	pw.Close()
	if code := <-got; code != 201 {
		t.Fatalf("request in flight during shutdown: %d", code)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// serve --demo loads the sample business on an empty database before
// serving, and leaves it alone on the next start.
func TestServeDemo(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			cfg := config.Config{Addr: "127.0.0.1:0", DB: storetest.DSN(t, b), MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second, Demo: true}
			addr, out, stop := startConfig(t, cfg)
			key := keyPattern.FindString(out.String())
			if key == "" || !strings.Contains(out.String(), "Loaded the demo business") {
				t.Fatalf("serve --demo printed:\n%s", out)
			}
			req, _ := http.NewRequest("GET", "http://"+addr+"/v1/data_sources?name="+url.QueryEscape(demo.DataSourceName), nil)
			req.SetBasicAuth(key, "")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !strings.Contains(string(body), demo.DataSourceName) {
				t.Fatalf("data sources: %d %s", res.StatusCode, body)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			_, out2, _ := startConfig(t, cfg)
			if strings.Contains(out2.String(), "Loaded") {
				t.Fatalf("the second serve --demo loaded again:\n%s", out2)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for _, c := range []struct{ public, addr, want string }{
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", "[::1]:8080", "http://[::1]:8080"},
		{"", ":8080", "http://localhost:8080"},
		{"", "0.0.0.0:8080", "http://localhost:8080"},
		{"", "[::]:8080", "http://localhost:8080"},
		{"", "tally.internal:80", "http://tally.internal:80"},
		{"https://tally.example.com/", "127.0.0.1:8080", "https://tally.example.com"},
		{"https://example.com/tally", "127.0.0.1:8080", "https://example.com/tally"},
	} {
		if got := BaseURL(c.public, c.addr); got != c.want {
			t.Errorf("BaseURL(%q, %q) = %q, want %q", c.public, c.addr, got, c.want)
		}
	}
}

// Behind a proxy the links name the public address.
func TestSignInLinkUsesThePublicURL(t *testing.T) {
	cfg := config.Config{Addr: "127.0.0.1:0", DB: storetest.DSN(t, "sqlite"), MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second,
		PublicURL: "https://tally.example.com"}
	_, out, _ := startConfig(t, cfg)
	link := linkPattern.FindStringSubmatch(out.String())
	if link == nil || link[1] != "https://tally.example.com" || !strings.Contains(out.String(), "Dashboard: https://tally.example.com/\n") {
		t.Fatalf("printed:\n%s", out)
	}
}
