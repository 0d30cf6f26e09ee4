package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/config"
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
