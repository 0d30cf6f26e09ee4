package server

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/store"
)

// LoginTokenTTL is how long a sign-in link works (issue 11: ten minutes),
// once.
const LoginTokenTTL = 10 * time.Minute

// BaseURL is the dashboard's address as a browser reaches it, without a
// trailing slash: publicURL (--public-url, TALLY_PUBLIC_URL) when set,
// else http:// and the listening address, with an unspecified host
// (":8080", "0.0.0.0", "[::]") shown as localhost, which reaches it.
func BaseURL(publicURL, addr string) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// SignInLink makes a one-time sign-in token for the live key keyID, valid
// for LoginTokenTTL, and returns the dashboard URL that spends it:
// base/login/TOKEN. The token itself is stored only as its hash.
func SignInLink(ctx context.Context, s *store.Store, keyID int64, base string) (string, error) {
	tok := auth.NewToken()
	if err := s.CreateLoginToken(ctx, keyID, auth.Hash(tok), time.Now().Add(LoginTokenTTL)); err != nil {
		return "", fmt.Errorf("sign-in link: %w", err)
	}
	return strings.TrimRight(base, "/") + "/login/" + tok, nil
}
