// Package auth makes and checks API keys: a key is 24 random bytes shown
// once to its owner; the server keeps only its SHA-256 and a short prefix
// for people to recognise it by. It also carries the authenticated account
// through a request's context. It does no I/O.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
)

// keyPrefix marks Tally keys so they are easy to spot in a leaked file.
const keyPrefix = "tly_"

// PrefixLen is how much of a key `apikey list` shows.
const PrefixLen = len(keyPrefix) + 8

// NewKey returns a new random API key.
func NewKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return keyPrefix + hex.EncodeToString(b)
}

// Hash is what the store keeps of a key.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Prefix is the part of a key that may be shown again.
func Prefix(key string) string {
	if len(key) <= PrefixLen {
		return key
	}
	return key[:PrefixLen]
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
