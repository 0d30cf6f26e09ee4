// Package obfuscate hides the database's sequential ids behind a keyed,
// reversible permutation, so that the numbers a client sees say nothing
// about how many rows other accounts have created.
//
// The permutation of [1, 2^bits) is a balanced Feistel network over bits
// (rounded up to even) whose round function is AES-256 under a per-server
// secret, narrowed to the range by cycle-walking. 32 bits keep ids within
// the clients' 32-bit fields (chartmogul-go's customer id is a uint32);
// 53 bits is the most JavaScript's numbers hold exactly.
package obfuscate

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
)

const rounds = 8

// KeySize is the length of the secret New takes.
const KeySize = 32

// Perm is a keyed permutation of [1, Max()). Its zero value is not usable.
type Perm struct {
	block    cipher.Block
	bits     int
	halfBits int
	halfMask uint64
}

// New returns the permutation of [1, 2^bits) keyed by a KeySize-byte
// secret; bits is 8 to 62.
func New(key []byte, bits int) (*Perm, error) {
	if len(key) != KeySize {
		return nil, errors.New("obfuscate: the key must be 32 bytes")
	}
	if bits < 8 || bits > 62 {
		return nil, errors.New("obfuscate: bits must be 8 to 62")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	half := (bits + 1) / 2
	return &Perm{block: b, bits: bits, halfBits: half, halfMask: 1<<half - 1}, nil
}

// Max is one past the largest id, internal or public: 2^bits.
func (p *Perm) Max() int64 { return 1 << p.bits }

// f is the round function: AES of (width, round, half), cut to a half.
func (p *Perm) f(round int, half uint64) uint64 {
	var in, out [aes.BlockSize]byte
	in[0], in[1] = byte(p.bits), byte(round)
	binary.BigEndian.PutUint64(in[8:], half)
	p.block.Encrypt(out[:], in[:])
	return binary.BigEndian.Uint64(out[:8]) & p.halfMask
}

// feistel permutes [0, 2^(2·halfBits)).
func (p *Perm) feistel(x uint64) uint64 {
	l, r := x>>p.halfBits, x&p.halfMask
	for i := range rounds {
		l, r = r, l^p.f(i, r)
	}
	return l<<p.halfBits | r
}

// unfeistel is feistel's inverse.
func (p *Perm) unfeistel(x uint64) uint64 {
	l, r := x>>p.halfBits, x&p.halfMask
	for i := rounds - 1; i >= 0; i-- {
		l, r = r^p.f(i, l), l
	}
	return l<<p.halfBits | r
}

// walk applies step until the value falls in [0, Max()-1): a permutation
// of the larger set, restricted by cycle-walking, is one of the smaller.
func (p *Perm) walk(x uint64, step func(uint64) uint64) uint64 {
	for {
		x = step(x)
		if x < uint64(p.Max())-1 {
			return x
		}
	}
}

// Encode maps an internal id in [1, Max()) to its public id, also in
// [1, Max()). An id outside that range gives 0, never a public id.
func (p *Perm) Encode(id int64) int64 {
	if id < 1 || id >= p.Max() {
		return 0
	}
	return int64(p.walk(uint64(id-1), p.feistel)) + 1
}

// Decode is Encode's inverse; ok is false for a number that no internal
// id encodes to (anything outside [1, Max())).
func (p *Perm) Decode(public int64) (id int64, ok bool) {
	if public < 1 || public >= p.Max() {
		return 0, false
	}
	return int64(p.walk(uint64(public-1), p.unfeistel)) + 1, true
}
