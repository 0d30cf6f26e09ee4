package metrics

import (
	"math"
	"math/bits"
)

// Set is a set of customer keys, with a membership test fast enough to
// run once per element of a Book: a bitmap over the range of its keys.
// Keys spread too thinly for a bitmap (a range over 64 times the number
// of keys, plus some) are kept in a map instead. A Set is never changed
// after it is made, so it may be shared; the nil *Set is empty.
type Set struct {
	lo     int64
	bits   []uint64
	sparse map[int64]bool // instead of bits, when they would be mostly empty
	n      int
}

// NewSet is the set of ids.
func NewSet(ids ...int64) *Set {
	return newSet(len(ids), func(yield func(int64) bool) {
		for _, id := range ids {
			if !yield(id) {
				return
			}
		}
	})
}

// SetOf is the set of m's keys, whatever their values.
func SetOf[V any](m map[int64]V) *Set {
	return newSet(len(m), func(yield func(int64) bool) {
		for id := range m {
			if !yield(id) {
				return
			}
		}
	})
}

func newSet(n int, ids func(func(int64) bool)) *Set {
	s := &Set{}
	if n == 0 {
		return s
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for id := range ids {
		lo, hi = min(lo, id), max(hi, id)
	}
	s.lo = lo
	// uint64 holds any int64 range; a bitmap up to 64 bits a key (one
	// word a key: as much memory as the map would take at its best).
	if span := uint64(hi) - uint64(lo); span/64 > uint64(n)+1024 {
		s.sparse = make(map[int64]bool, n)
		for id := range ids {
			s.sparse[id] = true
		}
		s.n = len(s.sparse)
		return s
	}
	s.bits = make([]uint64, (uint64(hi)-uint64(lo))/64+1)
	for id := range ids {
		off := uint64(id) - uint64(lo)
		s.bits[off/64] |= 1 << (off % 64)
	}
	for _, w := range s.bits {
		s.n += bits.OnesCount64(w)
	}
	return s
}

// Has tells whether id is in the set.
func (s *Set) Has(id int64) bool {
	if s == nil || id < s.lo {
		return false
	}
	if s.sparse != nil {
		return s.sparse[id]
	}
	off := uint64(id) - uint64(s.lo)
	return off/64 < uint64(len(s.bits)) && s.bits[off/64]&(1<<(off%64)) != 0
}

// Len is the number of keys in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// SetOfBits is the set holding lo+i for every bit i set in words (bit
// i%64 of word i/64). words is kept, not copied: the caller must never
// change it afterwards.
func SetOfBits(lo int64, words []uint64) *Set {
	s := &Set{lo: lo, bits: words}
	for _, w := range words {
		s.n += bits.OnesCount64(w)
	}
	return s
}
