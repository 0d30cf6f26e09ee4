package obfuscate

import (
	"bytes"
	"testing"
)

func perm(t *testing.T, seed byte, bits int) *Perm {
	t.Helper()
	p, err := New(bytes.Repeat([]byte{seed}, KeySize), bits)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTripStaysInRange(t *testing.T) {
	for _, bits := range []int{32, 53} {
		p := perm(t, 1, bits)
		max := int64(1) << bits
		check := func(id int64) {
			pub := p.Encode(id)
			if pub < 1 || pub >= max {
				t.Fatalf("%d bits: Encode(%d) = %d, outside [1, 2^%d)", bits, id, pub, bits)
			}
			back, ok := p.Decode(pub)
			if !ok || back != id {
				t.Fatalf("%d bits: Decode(Encode(%d)) = %d, %v", bits, id, back, ok)
			}
		}
		for id := int64(1); id <= 20000; id++ {
			check(id)
		}
		for _, id := range []int64{1<<31 - 1, 1 << 31, max - 2, max - 1} {
			check(id)
		}
		for x := int64(12345); x < max; x = x*3 + 7 {
			check(x)
		}
	}
}

// On a small range the whole permutation can be seen: every id of
// [1, 2^bits) has its own public id, and all of them are taken.
func TestBijectionOnSmallRanges(t *testing.T) {
	for _, bits := range []int{8, 9, 16} {
		p := perm(t, 2, bits)
		n := int64(1) << bits
		seen := make([]bool, n)
		for id := int64(1); id < n; id++ {
			pub := p.Encode(id)
			if pub < 1 || pub >= n || seen[pub] {
				t.Fatalf("%d bits: Encode(%d) = %d, out of range or taken", bits, id, pub)
			}
			seen[pub] = true
			if back, ok := p.Decode(pub); !ok || back != id {
				t.Fatalf("%d bits: Decode(%d) = %d, %v; want %d", bits, pub, back, ok, id)
			}
		}
	}
}

func TestSequentialIDsLookUnrelated(t *testing.T) {
	p := perm(t, 3, 32)
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

func TestKeysAndWidthsDiffer(t *testing.T) {
	p, q, r := perm(t, 4, 32), perm(t, 5, 32), perm(t, 4, 33)
	same := 0
	for id := int64(1); id <= 1000; id++ {
		if p.Encode(id) == q.Encode(id) || p.Encode(id) == r.Encode(id) {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("%d of 1000 ids encode alike under two keys or widths", same)
	}
}

func TestOutOfRange(t *testing.T) {
	p := perm(t, 6, 32)
	for _, v := range []int64{0, -1, 1 << 32, 1<<32 + 1, -1 << 32, 1<<63 - 1, -1 << 63} {
		if got := p.Encode(v); got != 0 {
			t.Errorf("Encode(%d) = %d, want 0", v, got)
		}
		if id, ok := p.Decode(v); ok {
			t.Errorf("Decode(%d) = %d, true; want false", v, id)
		}
	}
	if _, err := New(make([]byte, 16), 32); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if _, err := New(make([]byte, KeySize), 63); err == nil {
		t.Error("63 bits were accepted")
	}
}
