package obfuscate

import (
	"bytes"
	"testing"
)

func perm(t *testing.T, seed byte) *Perm {
	t.Helper()
	p, err := New(bytes.Repeat([]byte{seed}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTripStaysInRange(t *testing.T) {
	p := perm(t, 1)
	check := func(id int64) {
		pub := p.Encode(id)
		if pub < 1 || pub >= Max {
			t.Fatalf("Encode(%d) = %d, outside [1, 2^53)", id, pub)
		}
		back, ok := p.Decode(pub)
		if !ok || back != id {
			t.Fatalf("Decode(Encode(%d)) = %d, %v", id, back, ok)
		}
	}
	for id := int64(1); id <= 20000; id++ {
		check(id)
	}
	for _, id := range []int64{1 << 31, 1<<31 + 1, 1 << 40, Max - 2, Max - 1} {
		check(id)
	}
	for x := int64(12345); x < Max; x = x*3 + 7 {
		check(x)
	}
}

// Encode is a bijection: on a block of inputs no two outputs collide, and
// Decode maps every output back (so it is onto the decoded set too).
func TestNoCollisions(t *testing.T) {
	p := perm(t, 2)
	seen := map[int64]int64{}
	for id := int64(1); id <= 1<<16; id++ {
		pub := p.Encode(id)
		if prev, dup := seen[pub]; dup {
			t.Fatalf("Encode(%d) = Encode(%d) = %d", id, prev, pub)
		}
		seen[pub] = id
	}
	// Decoding any number in range gives an id that encodes back to it.
	for pub := int64(1); pub <= 1<<12; pub++ {
		id, ok := p.Decode(pub)
		if !ok || id < 1 || id >= Max || p.Encode(id) != pub {
			t.Fatalf("Decode(%d) = %d, %v; re-encoded %d", pub, id, ok, p.Encode(id))
		}
	}
}

func TestSequentialIDsLookUnrelated(t *testing.T) {
	p := perm(t, 3)
	consecutive, increasing := 0, 0
	for id := int64(1); id < 1000; id++ {
		a, b := p.Encode(id), p.Encode(id+1)
		if b-a == 1 || a-b == 1 {
			consecutive++
		}
		if b > a {
			increasing++
		}
	}
	if consecutive > 0 || increasing < 400 || increasing > 600 {
		t.Fatalf("neighbours: %d consecutive, %d of 999 increasing", consecutive, increasing)
	}
}

func TestKeysDiffer(t *testing.T) {
	p, q := perm(t, 4), perm(t, 5)
	same := 0
	for id := int64(1); id <= 1000; id++ {
		if p.Encode(id) == q.Encode(id) {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("%d of 1000 ids encode alike under two keys", same)
	}
}

func TestOutOfRange(t *testing.T) {
	p := perm(t, 6)
	for _, v := range []int64{0, -1, Max, Max + 1, -Max, 1<<63 - 1, -1 << 63} {
		if got := p.Encode(v); got != 0 {
			t.Errorf("Encode(%d) = %d, want 0", v, got)
		}
		if id, ok := p.Decode(v); ok {
			t.Errorf("Decode(%d) = %d, true; want false", v, id)
		}
	}
	if _, err := New(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}
