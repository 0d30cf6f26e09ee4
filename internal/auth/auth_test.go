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
	if Prefix(a) != a[:12] || Prefix("short") != "short" {
		t.Fatalf("prefix %q", Prefix(a))
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
