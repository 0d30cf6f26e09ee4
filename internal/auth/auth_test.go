package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	a, b := NewKey(), NewKey()
	if a == b || !strings.HasPrefix(a, "tly_") || len(a) != 52 {
		t.Fatalf("keys %q %q", a, b)
	}
	if Hash(a) != Hash(strings.Clone(a)) || Hash(a) == Hash(b) || strings.Contains(Hash(a), a) || len(Hash(a)) != 64 {
		t.Fatal("hash")
	}
	if Prefix(a) != a[:12] {
		t.Fatalf("prefix %q", Prefix(a))
	}
}

// A dashboard token is 64 hex digits (256 random bits), never shaped like
// a key, so it is not taken for one nor shown by a prefix of itself.
func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || len(a) != 64 || !isHex(a, 64) || strings.HasPrefix(a, "tly_") {
		t.Fatalf("tokens %q %q", a, b)
	}
	if Prefix(a) != "sha256:"+Hash(a)[:8] {
		t.Fatalf("a token's prefix shows part of it: %q", Prefix(a))
	}
}

// A key not made by NewKey (TALLY_API_KEY) is shown by a fingerprint of
// its hash: no part of the secret, however short, is ever shown again.
func TestPrefixOfOtherKeys(t *testing.T) {
	for _, k := range []string{"short", "a", "0123456789abcdef0123456789abcdef", "tly_" + strings.Repeat("x", 48), "tly_0123456789"} {
		p := Prefix(k)
		if p != "sha256:"+Hash(k)[:8] {
			t.Errorf("Prefix(%q) = %q", k, p)
		}
	}
}

// Bootstrap keys (TALLY_API_KEY) must be as hard to guess as a made one.
func TestCheckBootstrapKey(t *testing.T) {
	for _, k := range []string{NewKey(), "0123456789abcdef0123456789abcdef", "correct-horse-battery-staple-2024!"} {
		if err := CheckBootstrapKey(k); err != nil {
			t.Errorf("%q refused: %v", k, err)
		}
	}
	for k, want := range map[string]string{
		"a":                                 "1 characters; a key needs at least 32",
		strings.Repeat("ab1", 10):           "30 characters",
		strings.Repeat("abcd", 10):          "only 4 different characters",
		"0123456789abcdef 0123456789abcdef": "spaces, control characters or ':'",
		"0123456789abcdef:0123456789abcdef": "spaces, control characters or ':'",
	} {
		err := CheckBootstrapKey(k)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", k, err, want)
		}
	}
}

func TestFromRequest(t *testing.T) {
	cases := []struct {
		user, pass string
		basic      bool
		want       string
		ok         bool
	}{
		{"k1", "", true, "k1", true},
		{"k1", "k1", true, "k1", true},
		{"k1", "other", true, "", false},
		{"", "", true, "", false},
		{"", "", false, "", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/v1/ping", nil)
		if c.basic {
			r.SetBasicAuth(c.user, c.pass)
		}
		got, ok := FromRequest(r)
		if got != c.want || ok != c.ok {
			t.Errorf("%+v: got %q %v", c, got, ok)
		}
	}
}

func TestShown(t *testing.T) {
	k := NewKey()
	for prefix, want := range map[string]string{Prefix(k): Prefix(k), Prefix("some other key"): Prefix("some other key"),
		"a": "(hidden)", "short": "(hidden)", "my-own-key-1": "(hidden)", "tly_ABCDEF12": "(hidden)"} {
		if got := Shown(prefix); got != want {
			t.Errorf("Shown(%q) = %q, want %q", prefix, got, want)
		}
	}
}
