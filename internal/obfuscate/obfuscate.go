// Package obfuscate hides the database's sequential ids behind a keyed,
// reversible permutation, so that the numbers a client sees say nothing
// about how many rows other accounts have created.
//
// The permutation is a balanced Feistel network over 54 bits (two halves
// of 27 bits) whose round function is AES-256 under a per-server secret,
// narrowed to [1, 2^53) by cycle-walking: the output stays an integer that
// JavaScript's numbers hold exactly.
package obfuscate

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
)

const (
	halfBits = 27
	halfMask = 1<<halfBits - 1
	rounds   = 8
	// Max is one past the largest id, internal or on the wire: 2^53.
	Max = 1 << 53
)

// KeySize is the length of the secret New takes.
const KeySize = 32

// Perm is a keyed permutation of [1, Max). Its zero value is not usable.
type Perm struct {
	block cipher.Block
}

// New returns the permutation keyed by a KeySize-byte secret.
func New(key []byte) (*Perm, error) {
	if len(key) != KeySize {
		return nil, errors.New("obfuscate: the key must be 32 bytes")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &Perm{block: b}, nil
}

// f is the round function: AES of (round, half), cut to 27 bits.
func (p *Perm) f(round int, half uint64) uint64 {
	var in, out [aes.BlockSize]byte
	in[0] = byte(round)
	binary.BigEndian.PutUint64(in[8:], half)
	p.block.Encrypt(out[:], in[:])
	return binary.BigEndian.Uint64(out[:8]) & halfMask
}

// feistel permutes [0, 2^54).
func (p *Perm) feistel(x uint64) uint64 {
	l, r := x>>halfBits, x&halfMask
	for i := range rounds {
		l, r = r, l^p.f(i, r)
	}
	return l<<halfBits | r
}

// unfeistel is feistel's inverse.
func (p *Perm) unfeistel(x uint64) uint64 {
	l, r := x>>halfBits, x&halfMask
	for i := rounds - 1; i >= 0; i-- {
		l, r = r^p.f(i, l), l
	}
	return l<<halfBits | r
}

// walk applies step until the value falls in [0, Max-1): a permutation of
// the larger set, restricted by cycle-walking, is one of the smaller set.
func walk(x uint64, step func(uint64) uint64) uint64 {
	for {
		x = step(x)
		if x < Max-1 {
			return x
		}
	}
}

// Encode maps an internal id in [1, Max) to its public id, also in
// [1, Max). An id outside that range (which no sequence reaches) gives 0,
// never a valid public id.
func (p *Perm) Encode(id int64) int64 {
	if id < 1 || id >= Max {
		return 0
	}
	return int64(walk(uint64(id-1), p.feistel)) + 1
}

// Decode is Encode's inverse; ok is false for a number that no internal
// id encodes to (anything outside [1, Max)).
func (p *Perm) Decode(public int64) (id int64, ok bool) {
	if public < 1 || public >= Max {
		return 0, false
	}
	return int64(walk(uint64(public-1), p.unfeistel)) + 1, true
}
