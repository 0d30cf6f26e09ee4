package metrics

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// A Book decodes from its encoding as it was, layers and dropped
// customers included, and answers every figure as the Book encoded; a
// damaged encoding is refused or decodes, never panics.
func TestBookEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hs := map[int64]History{}
	for id := range int64(300) {
		hs[id*5+1] = steppedHistory(rng)
	}
	book := NewBook(hs)
	var layered *Book
	for write := range 40 {
		changed := map[int64]History{}
		id := int64(rng.IntN(320))*5 + 1
		if write%7 == 0 {
			changed[id] = History{} // removed
		} else {
			changed[id] = steppedHistory(rng)
		}
		book = book.With(changed)
		if len(book.levels) > 2 && book.levels[0].nDropped > 0 {
			layered = book
		}
	}
	if layered == nil {
		t.Fatal("no book of several layers with a dropped customer to encode")
	}
	for _, b := range []*Book{NewBook(hs), layered, {}} {
		data, err := b.AppendBinary([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		got, rest, err := DecodeBook(append(data[len("prefix"):], "tail"...))
		if err != nil || string(rest) != "tail" {
			t.Fatalf("decode: %v, rest %q", err, rest)
		}
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("a book of %d layers decoded differently", len(b.levels))
		}
		if len(b.levels) > 0 && bookFigures(t, Part{Book: got}) != bookFigures(t, Part{Book: b}) {
			t.Fatalf("the decoded book's figures differ")
		}
		enc := data[len("prefix"):]
		for range 200 {
			n := rng.IntN(len(enc))
			_, _, _ = DecodeBook(enc[:n])
			for _, v := range []byte{0, 0x7f, 0x80, 0xff} {
				damaged := append([]byte(nil), enc...)
				damaged[n] = v
				_, _, _ = DecodeBook(damaged)
			}
		}
	}
}
