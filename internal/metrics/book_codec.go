package metrics

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// A Book's encoding lets a server that starts up take an account's Book
// as another server built it, rather than build it again from every
// customer's history (the cost grows with the book: n log n to sort its
// elements). It is the layers as they are, varints throughout, each time
// relative to the previous element's; a customer is written as its index
// in its layer's keys, which the layer holds once.

var errBookEncoding = errors.New("book: not a Book's encoding, or damaged")

// AppendBinary appends the Book's encoding to dst.
func (b *Book) AppendBinary(dst []byte) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(b.levels)))
	for _, l := range b.levels {
		dst = binary.AppendUvarint(dst, uint64(len(l.keys)))
		var prev int64
		for _, k := range l.keys {
			dst = binary.AppendVarint(dst, k-prev)
			prev = k
		}
		if l.dropped == nil {
			dst = binary.AppendUvarint(dst, 0)
		} else {
			dst = binary.AppendUvarint(dst, uint64(len(l.dropped)))
			for _, w := range l.dropped {
				dst = binary.LittleEndian.AppendUint64(dst, w)
			}
		}
		dst = binary.AppendUvarint(dst, uint64(len(l.changes)))
		prev = 0
		for _, c := range l.changes {
			dst = binary.AppendVarint(dst, c.at-prev)
			prev = c.at
			dst = binary.AppendUvarint(dst, uint64(c.idx))
			dst = binary.AppendVarint(dst, c.mrr)
			dst = binary.AppendVarint(dst, c.fx)
			dst = binary.AppendVarint(dst, int64(c.active))
			if c.active < 0 {
				dst = binary.AppendVarint(dst, c.prevFlip)
				dst = binary.AppendVarint(dst, c.nextFlip)
			}
		}
		dst = binary.AppendUvarint(dst, uint64(len(l.moves)))
		prev = 0
		for _, m := range l.moves {
			dst = binary.AppendVarint(dst, m.at-prev)
			prev = m.at
			dst = binary.AppendUvarint(dst, uint64(m.idx))
			dst = binary.AppendVarint(dst, m.amount)
			dst = append(dst, m.kind)
		}
	}
	return dst, nil
}

// bookReader reads a Book's encoding, noting the first fault.
type bookReader struct {
	b   []byte
	bad bool
}

func (r *bookReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *bookReader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count is a length, at most what is left to read over per (the least
// bytes an element takes), so that damaged data asks for no huge slice.
func (r *bookReader) count(per int) int {
	n := r.uint()
	if n > uint64(len(r.b)/per) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *bookReader) fail() { r.bad, r.b = true, nil }

// DecodeBook reads a Book that AppendBinary encoded at the start of
// data, and returns what follows it.
func DecodeBook(data []byte) (*Book, []byte, error) {
	r := &bookReader{b: data}
	b := &Book{}
	if n := r.count(1); n > 0 {
		b.levels = make([]level, n)
	}
	for i := range b.levels {
		l := &layer{keys: make([]int64, r.count(1))}
		var prev int64
		for j := range l.keys {
			prev += r.int()
			l.keys[j] = prev
		}
		lv := level{layer: l}
		if n := r.count(8); n > 0 {
			if n != (len(l.keys)+63)/64 {
				r.fail()
				break
			}
			lv.dropped = make([]uint64, n)
			for j := range lv.dropped {
				lv.dropped[j] = binary.LittleEndian.Uint64(r.b)
				r.b = r.b[8:]
				lv.nDropped += bits.OnesCount64(lv.dropped[j])
			}
		}
		l.changes = make([]change, r.count(5))
		prev = 0
		for j := range l.changes {
			prev += r.int()
			c := change{at: prev, idx: r.index(len(l.keys)), mrr: r.int(), fx: r.int(), active: int8(r.int())}
			if c.active < 0 {
				c.prevFlip, c.nextFlip = r.int(), r.int()
			}
			if r.bad {
				break
			}
			c.customer = l.keys[c.idx]
			l.changes[j] = c
		}
		l.moves = make([]move, r.count(4))
		prev = 0
		for j := range l.moves {
			prev += r.int()
			m := move{at: prev, idx: r.index(len(l.keys)), amount: r.int()}
			if r.bad || len(r.b) == 0 {
				r.fail()
				break
			}
			m.kind, r.b = r.b[0], r.b[1:]
			m.customer = l.keys[m.idx]
			l.moves[j] = m
		}
		b.levels[i] = lv
	}
	if r.bad {
		return nil, nil, errBookEncoding
	}
	return b, r.b, nil
}

// index reads a customer's index in a layer of n keys.
func (r *bookReader) index(n int) int32 {
	v := r.uint()
	if v >= uint64(n) {
		r.fail()
		return 0
	}
	return int32(v)
}
