package metrics

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// A CashBook decodes from its encoding, over the same transactions, to
// the book that was encoded (written customer by customer, with missing
// rates and revalued days among them), and answers every flow and window
// alike, by day and by the geo and plans filters; it refuses another
// currency or time zone, and damaged data is refused or decodes, never
// panics.
func TestCashBookEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	rates := randomRates(rng)
	state := map[int64][]CashTransaction{}
	book := NewCashBook("USD", ny)
	for step := range 12 {
		changed, old := map[int64][]CashTransaction{}, map[int64][]CashTransaction{}
		for range 1 + rng.IntN(60) {
			id := int64(rng.IntN(120))
			if txs, ok := state[id]; ok {
				old[id] = txs
			}
			changed[id] = randomCashCustomer(rng, id)
		}
		book = book.With(old, changed, rates)
		for id, txs := range changed {
			state[id] = txs
		}
		if step == 6 {
			rates = randomRates(rng)
			book = book.Revalue(rates, day("2019-01-01"), day("2019-06-30"))
		}
	}
	var all []*CashTransaction
	number := map[*CashTransaction]int{}
	for _, txs := range state {
		for i := range txs {
			number[&txs[i]] = len(all)
			all = append(all, &txs[i])
		}
	}
	ref := func(tx *CashTransaction) (int, bool) {
		i, ok := number[tx]
		return i, ok
	}
	at := func(i int) *CashTransaction {
		if i < len(all) {
			return all[i]
		}
		return nil
	}
	data, err := book.AppendBinary(nil, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, rest, err := DecodeCashBook(append(data, 7), "USD", ny, at)
	if err != nil || len(rest) != 1 {
		t.Fatalf("decode: %v, %d bytes left", err, len(rest))
	}
	// A class without plans may hold them as nil or empty: the same.
	if fmt.Sprint(got.classes) != fmt.Sprint(book.classes) || !reflect.DeepEqual(got.classIndex, book.classIndex) || len(got.days) != len(book.days) {
		t.Fatal("the decoded book's classes or days differ")
	}
	for i, d := range book.days {
		g := *got.days[i]
		if len(g.fails) == 0 && len(d.fails) == 0 { // nil or empty: the same
			g.fails = d.fails
		}
		if !reflect.DeepEqual(&g, d) {
			t.Fatalf("day %d decoded as\n%+v\nwant\n%+v", i, g, d)
		}
	}
	if len(got.fx) != len(book.fx) {
		t.Fatalf("%d currencies' rates decoded, want %d", len(got.fx), len(book.fx))
	}
	for cur, ds := range book.fx {
		for i, d := range ds {
			g := got.fx[cur][i]
			if g.day != d.day || (g.rate == nil) != (d.rate == nil) || (d.rate != nil && g.rate.Cmp(d.rate) != 0) {
				t.Fatalf("%s rate %d decoded as %v, want %v", cur, i, g, d)
			}
		}
	}
	figures := func(b *CashBook) string {
		var out []any
		for _, f := range []CashFilter{{Currency: "USD"}, {Currency: "USD", Geo: map[string]bool{"DE": true}},
			{Currency: "USD", Plans: map[string]bool{"gold": true}}} {
			for _, interval := range []string{"day", "month"} {
				e, err := b.Flow(SeriesRequest{Start: day("2018-01-01"), End: day("2020-12-31"), Interval: interval, Location: ny}, f, rates)
				out = append(out, e, err)
			}
			e, err := b.Between(day("2019-03-03").Add(5*time.Hour), day("2019-09-09").Add(17*time.Hour), f, rates)
			out = append(out, e, err)
		}
		return fmt.Sprint(out...)
	}
	if figures(got) != figures(book) {
		t.Fatal("the decoded book's figures differ")
	}
	if _, _, err := DecodeCashBook(data, "EUR", ny, at); !errors.Is(err, ErrCashBookElsewhere) {
		t.Fatal("a book of USD decoded for EUR")
	}
	if _, _, err := DecodeCashBook(data, "USD", time.UTC, at); !errors.Is(err, ErrCashBookElsewhere) {
		t.Fatal("a book of New York decoded for UTC")
	}
	if _, err := book.AppendBinary(nil, func(*CashTransaction) (int, bool) { return 0, false }); err == nil {
		t.Fatal("a book encoded without its transactions")
	}
	for range 300 {
		n := rng.IntN(len(data))
		_, _, _ = DecodeCashBook(data[:n], "USD", ny, at)
		damaged := append([]byte(nil), data...)
		damaged[n] = byte(rng.IntN(256))
		_, _, _ = DecodeCashBook(damaged, "USD", ny, at)
	}
}
