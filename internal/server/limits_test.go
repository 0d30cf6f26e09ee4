package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/config"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestLimitListener: past n open connections Accept waits, and a closed
// connection (closed twice, even) gives back exactly one place.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitConns(inner, 1)
	defer l.Close()
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	select {
	case <-accepted:
		t.Fatal("a second connection was accepted while the one place was taken")
	case <-time.After(200 * time.Millisecond): // cannot pass wrongly, only miss a fault
	}
	first.Close()
	first.Close()
	second := <-accepted
	select {
	case <-accepted:
		t.Fatal("closing one connection twice gave back two places")
	case <-time.After(200 * time.Millisecond):
	}
	second.Close()
	<-accepted
	l.Close()
	if _, open := <-accepted; open {
		t.Fatal("Accept still works after Close")
	}
}

// TestSlowUnauthenticatedBodiesDoNotBlock is the repro on the
// real server: more unauthenticated requests declaring a body they never
// send than there are connections to hold them; each is answered 401 and
// closed at once, and a real request still gets through.
func TestSlowUnauthenticatedBodiesDoNotBlock(t *testing.T) {
	key := auth.NewKey()
	addr, _, _ := startConfig(t, config.Config{Addr: "127.0.0.1:0", DB: storetest.DSN(t, "sqlite"), BootstrapKey: key,
		MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second, MaxConns: 4, BodyTimeout: time.Minute, WriteTimeout: time.Minute})
	for i := range 12 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, _ = io.WriteString(c, "POST /v1/customers HTTP/1.1\r\nHost: tally\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("slow request %d: no answer: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != 401 || !res.Close {
			t.Fatalf("slow request %d: %d, close %v", i, res.StatusCode, res.Close)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("slow request %d: connection left open: %v", i, err)
		}
	}
	if got := ping(t, addr, key); got != 200 {
		t.Fatalf("ping after the slow requests: %d", got)
	}
}

// TestRevokedBootstrapKeyStaysRevoked: a key revoked with `apikey revoke`
// while TALLY_API_KEY still names it does not come back at the next
// start: the start is refused, saying why, and the key stays dead.
func TestRevokedBootstrapKeyStaysRevoked(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, b)
			s, err := OpenStore(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			key := auth.NewKey()
			if _, err := Bootstrap(ctx, s, key); err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeAPIKeyByHash(ctx, auth.Hash(key)); err != nil {
				t.Fatal(err)
			}
			_, err = Bootstrap(ctx, s, key)
			if err == nil || !strings.Contains(err.Error(), "TALLY_API_KEY names a revoked key") {
				t.Fatalf("bootstrap with a revoked key: %v", err)
			}
			if _, _, err := s.KeyByHash(ctx, auth.Hash(key)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the revoked key came back: %v", err)
			}
		})
	}
}

// TestWeakBootstrapKeyIsRefused: TALLY_API_KEY=a does not start a server,
// and a weak key an earlier version let in is revoked.
func TestWeakBootstrapKeyIsRefused(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(ctx, storetest.DSN(t, "sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct, _, err := s.EnsureAccount(ctx, DefaultAccount)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, acct.ID, "a", auth.Hash("a"), billing.AccessFull); err != nil { // as before this change
		t.Fatal(err)
	}
	_, err = Bootstrap(ctx, s, "a")
	if err == nil || !strings.Contains(err.Error(), "at least 32") || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("bootstrap with TALLY_API_KEY=a: %v", err)
	}
	if _, _, err := s.KeyByHash(ctx, auth.Hash("a")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the weak key still works: %v", err)
	}
	_, err = Bootstrap(ctx, s, "b")
	if err == nil || strings.Contains(err.Error(), "revoked") {
		t.Fatalf("bootstrap with a weak key never stored: %v", err)
	}
}
