package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

var built struct {
	once sync.Once
	dir  string
	err  error
}

// crashTrials is the trials per store of a crash test: TALLY_CRASH_TRIALS,
// 3 by default (the suite's).
func crashTrials(t *testing.T) int {
	t.Helper()
	v := os.Getenv("TALLY_CRASH_TRIALS")
	if v == "" {
		return 3
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("TALLY_CRASH_TRIALS=%q: want a positive number", v)
	}
	return n
}

// binary is the tally binary built from this package once per test
// process, for the tests that run it as users do (kill -9, several servers).
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "tally-bin-")
		if built.err == nil {
			var out []byte
			if out, built.err = exec.Command("go", "build", "-o", filepath.Join(built.dir, "tally"), ".").CombinedOutput(); built.err != nil {
				built.err = errors.Join(built.err, errors.New(string(out)))
			}
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, "tally")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// serveProcess starts `tally serve` on db with key bootstrapped and extra
// flags, and returns it with its base URL (http://host:port) once it
// listens.
func serveProcess(bin, db, key string, extra ...string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--rate-limit", "0"}, extra...)...)
	cmd.Env = append(os.Environ(), "TALLY_API_KEY="+key)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="tally listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, "http://" + a, nil
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", errors.New("tally did not start listening")
	}
}

// callJSON sends body (nil: none) as JSON with the key and decodes the
// JSON answer.
func callJSON(client *http.Client, key, method, url string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	err = json.NewDecoder(res.Body).Decode(&out)
	var syntax *json.SyntaxError
	var kind *json.UnmarshalTypeError
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &syntax) && !errors.As(err, &kind) {
		// A body cut short (a server killed while writing it): the
		// client never got the answer. Other bodies (none, not JSON, not
		// an object) leave out nil.
		return res.StatusCode, nil, err
	}
	return res.StatusCode, out, nil
}
