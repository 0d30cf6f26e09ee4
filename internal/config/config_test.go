package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func load(args []string, env map[string]string) (Config, error) {
	return Load("serve", args, func(k string) string { return env[k] }, io.Discard)
}

// The resource bounds have their documented defaults, take flags, and
// refuse non-positive values; the public URL comes from the flag or
// TALLY_PUBLIC_URL and must be an http(s) URL.
func TestLimitsAndPublicURL(t *testing.T) {
	c, err := load(nil, nil)
	if err != nil || c.MaxEntries != 5000 || c.MaxInFlight != 4 || c.BodyTimeout != time.Minute || c.WriteTimeout != time.Minute ||
		c.MaxConns != 1000 || c.PublicURL != "" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = load([]string{"--max-entries", "100", "--max-in-flight", "2", "--body-timeout", "5s", "--write-timeout", "7s", "--max-conns", "9"}, nil)
	if err != nil || c.MaxEntries != 100 || c.MaxInFlight != 2 || c.BodyTimeout != 5*time.Second || c.WriteTimeout != 7*time.Second || c.MaxConns != 9 {
		t.Fatalf("flags: %+v %v", c, err)
	}
	for _, flag := range []string{"--max-entries", "--max-in-flight", "--max-conns", "--body-timeout", "--write-timeout"} {
		v := "0"
		if strings.HasSuffix(flag, "timeout") {
			v = "0s"
		}
		if _, err := load([]string{flag, v}, nil); err == nil || !strings.Contains(err.Error(), flag[1:]+" must be positive") {
			t.Errorf("%s 0: %v", flag, err)
		}
	}
	if c, err := load(nil, map[string]string{"TALLY_PUBLIC_URL": "https://tally.example.com"}); err != nil || c.PublicURL != "https://tally.example.com" {
		t.Fatalf("TALLY_PUBLIC_URL: %+v %v", c, err)
	}
	for _, bad := range []string{"tally.example.com", "ftp://x", "https://", "https://x/?a=1"} {
		if _, err := load([]string{"--public-url", bad}, nil); err == nil {
			t.Errorf("--public-url %q accepted", bad)
		}
	}
}
