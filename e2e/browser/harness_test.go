package browser

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite docs/screenshots/*.png from this run")

// env is one run of the suite: the demo server and the browser.
type env struct {
	srv       *server
	br        *browser
	artifacts string
}

// server is the real tally binary serving the demo book on a SQLite file.
type server struct {
	bin, db, key string
	// base is http://127.0.0.1:PORT, without a trailing slash.
	base string
	cmd  *exec.Cmd
	done chan struct{}

	mu   sync.Mutex
	tail []string // the last lines of its log, shown when a test fails
}

// newKey is a key of the shape auth.NewKey makes: tly_ and 48 hex digits.
func newKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "tly_" + hex.EncodeToString(b)
}

// childEnv is our environment without TALLY_* settings, which could point
// the server at another database or address.
func childEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TALLY_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// startServer builds ./cmd/tally and runs `tally serve --demo` with a known
// bootstrap key, on a free loopback port it reports in its log.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{bin: filepath.Join(dir, "tally"), db: filepath.Join(dir, "tally.db"), key: newKey(), done: make(chan struct{})}
	build := exec.Command("go", "build", "-o", s.bin, "./cmd/tally")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tally: %v\n%s", err, out)
	}
	// The API's rate limit is off: the suite asks the API for every number
	// it compares, faster than a client would.
	s.cmd = exec.Command(s.bin, "serve", "--demo", "--db", s.db, "--addr", "127.0.0.1:0", "--rate-limit", "0")
	s.cmd.Env = childEnv("TALLY_API_KEY=" + s.key)
	s.cmd.Stdout = io.Discard
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="tally listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := re.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
			s.mu.Lock()
			if s.tail = append(s.tail, line); len(s.tail) > 100 {
				s.tail = s.tail[1:]
			}
			s.mu.Unlock()
		}
	}()
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("the server's last log lines:\n%s", strings.Join(s.tail, "\n"))
			s.mu.Unlock()
		}
	})
	select {
	case a := <-addr:
		s.base = "http://" + a
	case <-s.done:
		t.Fatalf("tally serve --demo exited before listening: %v\n%s", s.cmd.ProcessState, strings.Join(s.tail, "\n"))
	case <-time.After(2 * time.Minute):
		t.Fatal("tally serve --demo did not start listening in 2 minutes")
	}
	return s
}

// tally runs an admin command of the binary on the server's database and
// returns its trimmed output.
func (s *server) tally(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = childEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tally %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// call sends one API request with the bootstrap key.
func (s *server) call(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.key, "")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res.StatusCode, b
}

// must sends an API request, wants the status and decodes the answer with
// its numbers as the API wrote them.
func (s *server) must(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	status, b := s.call(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	var out map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return out
}

// get is a GET of the API answered 200.
func (s *server) get(t *testing.T, path string, q url.Values) map[string]any {
	t.Helper()
	if path == "/v1/metrics/mrr" {
		// As the dashboard asks: with Tally's net new MRR.
		q = maps.Clone(q)
		if q == nil {
			q = url.Values{}
		}
		q.Set("with_net_new", "true")
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return s.must(t, http.StatusOK, http.MethodGet, path, nil)
}

// entries is an answer's entries.
func entries(t *testing.T, answer map[string]any) []map[string]any {
	t.Helper()
	raw, ok := answer["entries"].([]any)
	if !ok {
		t.Fatalf("no entries in %v", answer)
	}
	out := make([]map[string]any, len(raw))
	for i, e := range raw {
		out[i] = e.(map[string]any)
	}
	return out
}

// text is a JSON value as the API wrote it: a number's digits, a
// string's text, "" for null or missing.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// browser is one headless chromium for the whole suite; tests open tabs in
// it, each in the default browser context (sharing its cookies) or in a
// fresh one (a visitor without a cookie).
type browser struct {
	ctx context.Context
}

// chromium finds the browser: TALLY_CHROMIUM (scripts/test.sh sets it),
// else chromium on the PATH. Missing, the suite fails: a browser suite
// that skips would let CI go green without it.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TALLY_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TALLY_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on the PATH and TALLY_CHROMIUM unset: install Debian's chromium package (scripts/test.sh does)")
	return ""
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("chromium did not start: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("chromium did not start in a minute")
	}
	return &browser{ctx: ctx}
}

// tab is one page of the browser, with the problems its scripts reported:
// uncaught exceptions, console.error calls and the browser's own error
// entries (a CSP refusal, a resource that failed to load).
type tab struct {
	name string
	ctx  context.Context

	mu       sync.Mutex
	problems []string
}

// newTab opens a tab; fresh gives it a browser context of its own, without
// the cookies of the others. It closes when t ends.
func (b *browser) newTab(t *testing.T, name string, fresh bool) *tab {
	t.Helper()
	var opts []chromedp.ContextOption
	if fresh {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	t.Cleanup(cancel)
	tb := &tab{name: name, ctx: ctx}
	if err := chromedp.Listen(ctx, tb.listen); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	return tb
}

func (tb *tab) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "uncaught exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		msg += fmt.Sprintf(" at %s:%d:%d", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var args []string
			for _, a := range ev.Args {
				if a.Description != "" {
					args = append(args, a.Description)
				} else {
					args = append(args, string(a.Value))
				}
			}
			msg = "console.error: " + strings.Join(args, " ")
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			msg = fmt.Sprintf("browser error (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	}
	if msg != "" {
		tb.mu.Lock()
		tb.problems = append(tb.problems, msg)
		tb.mu.Unlock()
	}
}

// takeProblems returns the problems reported since the last call.
func (tb *tab) takeProblems() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	p := tb.problems
	tb.problems = nil
	return p
}

// run runs one action in the tab, bounded in time.
func run[T any](t *testing.T, tb *tab, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := tabTimeout(tb)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("tab %s: %v", tb.name, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page, awaiting a promise.
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	return run(t, tb, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// navigate loads a URL and returns the document's HTTP status and the path
// the browser ended on (after redirects).
func (tb *tab) navigate(t *testing.T, u string) (int, string) {
	t.Helper()
	res := run(t, tb, chromedp.NavigateResponse(u))
	if res == nil {
		t.Fatalf("tab %s: no response for %s", tb.name, u)
	}
	return int(res.Status), eval[string](t, tb, `location.pathname`)
}

// tabTimeout bounds a step run on the tab.
func tabTimeout(tb *tab) (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, 30*time.Second)
}

// click clicks an element (a link, a form's button) and waits for the
// page it leads to; it returns its status and path.
func (tb *tab) click(t *testing.T, button string) (int, string) {
	t.Helper()
	ctx, cancel := tabTimeout(tb)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil || res == nil {
		t.Fatalf("tab %s: submit %s: %v", tb.name, button, err)
	}
	return int(res.Status), eval[string](t, tb, `location.pathname`)
}

// waitReady waits until every chart of the page has drawn (the dashboard's
// test contract: document.body.dataset.ready === "1").
func (tb *tab) waitReady(t *testing.T) {
	t.Helper()
	run(t, tb, chromedp.Poll[bool](`document.body !== null && document.body.dataset.ready === "1"`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
}

// open loads a page that must answer 200, draw its charts and report no
// problem at all.
func (tb *tab) open(t *testing.T, u string) {
	t.Helper()
	tb.takeProblems()
	status, path := tb.navigate(t, u)
	if status != http.StatusOK {
		t.Fatalf("%s: status %d (ended on %s)", u, status, path)
	}
	tb.waitReady(t)
	// How long the charts took to draw (app.js measures it): reported,
	// never asserted (speed is for benchmarks, not timed tests).
	t.Logf("%s: charts drawn in %s ms", u, eval[string](t, tb, `document.body.dataset.drawMs || ""`))
	if p := tb.takeProblems(); len(p) > 0 {
		t.Errorf("%s: the page reported problems:\n  %s", u, strings.Join(p, "\n  "))
	}
}

// screenshot saves the whole page, 1280 px wide, as a PNG.
func (tb *tab) screenshot(t *testing.T, path string) {
	t.Helper()
	png := run(t, tb, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// artifactDir is where the screenshots go: $TALLY_ARTIFACTS, else a new
// directory under the system's temporary one, kept after the run.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TALLY_ARTIFACTS")
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "browser-artifacts-")
	} else {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}
