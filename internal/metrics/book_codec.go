package metrics

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/tally-analytics/tally/internal/wire"
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

// bookReader reads a Book's encoding.
type bookReader struct{ wire.Reader }

// DecodeBook reads a Book that AppendBinary encoded at the start of
// data, and returns what follows it.
func DecodeBook(data []byte) (*Book, []byte, error) {
	r := &bookReader{wire.Reader{B: data}}
	b := &Book{}
	if n := r.Count(1); n > 0 {
		b.levels = make([]level, n)
	}
	for i := range b.levels {
		l := &layer{keys: make([]int64, r.Count(1))}
		var prev int64
		for j := range l.keys {
			prev += r.Int()
			l.keys[j] = prev
		}
		lv := level{layer: l}
		if n := r.Count(8); n > 0 {
			if n != (len(l.keys)+63)/64 {
				r.Fail()
				break
			}
			lv.dropped = make([]uint64, n)
			for j := range lv.dropped {
				lv.dropped[j] = binary.LittleEndian.Uint64(r.B)
				r.B = r.B[8:]
				lv.nDropped += bits.OnesCount64(lv.dropped[j])
			}
		}
		l.changes = make([]change, r.Count(5))
		prev = 0
		for j := range l.changes {
			prev += r.Int()
			c := change{at: prev, idx: r.index(len(l.keys)), mrr: r.Int(), fx: r.Int(), active: int8(r.Int())}
			if c.active < 0 {
				c.prevFlip, c.nextFlip = r.Int(), r.Int()
			}
			if r.Bad {
				break
			}
			c.customer = l.keys[c.idx]
			l.changes[j] = c
		}
		l.moves = make([]move, r.Count(4))
		prev = 0
		for j := range l.moves {
			prev += r.Int()
			m := move{at: prev, idx: r.index(len(l.keys)), amount: r.Int(), kind: r.Byte()}
			if r.Bad {
				break
			}
			m.customer = l.keys[m.idx]
			l.moves[j] = m
		}
		b.levels[i] = lv
	}
	if r.Bad {
		return nil, nil, errBookEncoding
	}
	return b, r.B, nil
}

// index reads an index into n things (a layer's keys, a book's classes).
func (r *bookReader) index(n int) int32 {
	v := r.Uint()
	if v >= uint64(n) {
		r.Fail()
		return 0
	}
	return int32(v)
}
