// Package wire reads the varint encodings of Tally's cache snapshots
// (the engine's Book and CashBook, the API's results and transactions):
// a Reader notes the first fault, after which it reads zeros, so that a
// decoder checks once at the end rather than after every field.
package wire

import "encoding/binary"

// Reader reads B from its start.
type Reader struct {
	B   []byte
	Bad bool // a read went past the end or met a malformed varint
}

// Uint reads an unsigned varint.
func (r *Reader) Uint() uint64 {
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Int reads a signed (zig-zag) varint.
func (r *Reader) Int() int64 {
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Count reads a length of elements of at least per bytes each, at most
// what is left to read allows, so that damaged data asks for no huge
// allocation.
func (r *Reader) Count(per int) int {
	n := r.Uint()
	if n > uint64(len(r.B)/max(1, per)) {
		r.Fail()
		return 0
	}
	return int(n)
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.B) == 0 {
		r.Fail()
		return 0
	}
	v := r.B[0]
	r.B = r.B[1:]
	return v
}

// Fail notes a fault: every later read gives zero.
func (r *Reader) Fail() { r.Bad, r.B = true, nil }
