// Package auth makes and checks API keys: a key is 24 random bytes shown
// once to its owner; the server keeps only its SHA-256 and a short prefix
// for people to recognise it by (for a key it did not make, a fingerprint
// of the hash instead: nothing of such a secret is shown again). It makes
// the dashboard's tokens the same way. It also carries the authenticated
// account through a request's context. It does no I/O.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/billing"
)

// keyPrefix marks Tally keys so they are easy to spot in a leaked file.
const keyPrefix = "tly_"

// PrefixLen is how much of a made key `apikey list` shows: "tly_" and 32
// of its 192 random bits.
const PrefixLen = len(keyPrefix) + 8

// MinKeyLen is the shortest key TALLY_API_KEY may name.
const MinKeyLen = 32

// NewKey returns a new random API key.
func NewKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return keyPrefix + hex.EncodeToString(b)
}

// NewToken returns a new random token for a dashboard session, a
// one-time sign-in link or a share link: 32 random bytes in hex. It has no
// "tly_" prefix, so it is never mistaken for an API key (nor accepted as
// one); like a key, it is stored only as its Hash.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// Hash is what the store keeps of a key or a token.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Prefix is what may be shown of a key again: the first PrefixLen
// characters of a key NewKey made, "sha256:" and the start of the hash of
// any other, so a short or guessable secret never reappears whole or in
// part.
func Prefix(key string) string {
	if isMade(key) {
		return key[:PrefixLen]
	}
	return "sha256:" + Hash(key)[:8]
}

// Shown is what `apikey list` prints of a stored prefix: a prefix that
// Prefix makes as is; anything else is a row stored before fingerprints,
// whose prefix may be a short key whole, and is hidden.
func Shown(prefix string) string {
	rest, made := strings.CutPrefix(prefix, keyPrefix)
	fp, hashed := strings.CutPrefix(prefix, "sha256:")
	if (made && isHex(rest, 8)) || (hashed && isHex(fp, 8)) {
		return prefix
	}
	return "(hidden)"
}

func isHex(s string, n int) bool {
	_, err := hex.DecodeString(s)
	return len(s) == n && err == nil && strings.ToLower(s) == s
}

// isMade reports whether key has NewKey's form, "tly_" and 48 hex digits.
func isMade(key string) bool {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	return ok && isHex(rest, 48)
}

// CheckBootstrapKey refuses a TALLY_API_KEY weaker than a made key could
// be guessed: shorter than MinKeyLen, of fewer than 8 different
// characters, or one Basic auth cannot carry as a user name.
func CheckBootstrapKey(key string) error {
	if n := utf8.RuneCountInString(key); n < MinKeyLen {
		return fmt.Errorf("TALLY_API_KEY is %d characters; a key needs at least %d (make one with `tally apikey create`, or `openssl rand -hex 24`)", n, MinKeyLen)
	}
	if strings.ContainsFunc(key, func(r rune) bool { return r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errors.New("TALLY_API_KEY holds spaces, control characters or ':', which HTTP Basic auth cannot carry in a user name")
	}
	seen := map[rune]bool{}
	for _, r := range key {
		seen[r] = true
	}
	if len(seen) < 8 {
		return fmt.Errorf("TALLY_API_KEY has only %d different characters; a key needs at least 8", len(seen))
	}
	return nil
}

// FromRequest reads the key from HTTP Basic auth (api.md rule 2): the key is
// the user name and the password is empty or the key again.
func FromRequest(r *http.Request) (string, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" {
		return "", false
	}
	if pass != "" && pass != user {
		return "", false
	}
	return strings.TrimSpace(user), true
}

// Principal is who a request acts as.
type Principal struct {
	Key     billing.APIKey
	Account billing.Account
}

// CanWrite reports whether the key may change data.
func (p Principal) CanWrite() bool { return p.Key.Access == billing.AccessFull }

type ctxKey struct{}

// With returns a context carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal of an authenticated request.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
