package metrics

import (
	"encoding/binary"
	"errors"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/wire"
)

// A CashBook's encoding lets a server that starts up take an account's
// cash book as another built it: building one values every transaction
// and sorts them into days and cells, seconds at 100,000 customers. It
// holds what a build decides (classes, the rates used, each item's value
// and flags, the days' failures) and leaves out what follows from it
// (sums, a day's bounds, what is missing), which decoding works out as a
// build does. Transactions are not in it: the book points at the caller's,
// which it names by number.

var errCashBookEncoding = errors.New("cash book: not a CashBook's encoding, or damaged")

// ErrCashBookElsewhere is DecodeCashBook's answer for a book built for
// another account currency or time zone: sound, but of no use.
var ErrCashBookElsewhere = errors.New("cash book: built for another currency or time zone")

// TxRef numbers a transaction of the book, as the caller holds them; ok
// is false for one it does not hold.
type TxRef func(tx *CashTransaction) (i int, ok bool)

// TxAt is the transaction TxRef numbered i: nil for none.
type TxAt func(i int) *CashTransaction

// AppendBinary appends the book's encoding to dst; an error when ref does
// not know one of its transactions.
func (b *CashBook) AppendBinary(dst []byte, ref TxRef) ([]byte, error) {
	str := func(s string) {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	flag := func(v bool) {
		if v {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	}
	txRef := func(tx *CashTransaction) error {
		i, ok := ref(tx)
		if !ok {
			return errors.New("cash book: a transaction the caller does not hold")
		}
		dst = binary.AppendUvarint(dst, uint64(i))
		return nil
	}
	str(b.currency)
	str(b.loc.String())
	dst = binary.AppendUvarint(dst, uint64(len(b.classes)))
	for _, c := range b.classes {
		str(c.country)
		str(c.currency)
		flag(c.lineless)
		flag(c.planless)
		dst = binary.AppendUvarint(dst, uint64(len(c.plans)))
		for _, p := range c.plans {
			str(p)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.fx)))
	for _, cur := range slices.Sorted(maps.Keys(b.fx)) {
		str(cur)
		dst = binary.AppendUvarint(dst, uint64(len(b.fx[cur])))
		for _, d := range b.fx[cur] {
			dst = binary.AppendVarint(dst, int64(d.day))
			flag(d.rate != nil)
			if d.rate != nil {
				str(d.rate.RatString())
			}
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.days)))
	var prevDay int32
	for _, d := range b.days {
		dst = binary.AppendVarint(dst, int64(d.day-prevDay))
		prevDay = d.day
		dst = binary.AppendUvarint(dst, uint64(len(d.cells)))
		for _, c := range d.cells {
			dst = binary.AppendUvarint(dst, uint64(c.class))
			dst = binary.AppendVarint(dst, int64(c.utcDay))
			dst = binary.AppendUvarint(dst, uint64(len(c.items)))
			var prevAt int64
			for _, it := range c.items {
				dst = binary.AppendVarint(dst, it.at-prevAt)
				prevAt = it.at
				if err := txRef(it.tx); err != nil {
					return nil, err
				}
				dst = binary.AppendVarint(dst, it.amount)
				dst = binary.AppendVarint(dst, it.nonRec)
				dst = append(dst, it.flags)
			}
		}
		dst = binary.AppendUvarint(dst, uint64(len(d.fails)))
		for _, f := range d.fails {
			if err := txRef(f.tx); err != nil {
				return nil, err
			}
			flag(f.prev != nil)
			if f.prev != nil {
				if err := txRef(f.prev); err != nil {
					return nil, err
				}
			}
			dst = binary.AppendUvarint(dst, uint64(f.class))
		}
	}
	return dst, nil
}

// DecodeCashBook reads a book that AppendBinary encoded at the start of
// data, for an account currency and time zone (an error when it was built
// for others), with its transactions taken from at; and returns what
// follows it.
func DecodeCashBook(data []byte, currency string, loc *time.Location, at TxAt) (*CashBook, []byte, error) {
	if loc == nil {
		loc = time.UTC
	}
	r := &bookReader{wire.Reader{B: data}}
	str := func() string {
		n := r.Count(1)
		if r.Bad {
			return ""
		}
		s := string(r.B[:n])
		r.B = r.B[n:]
		return s
	}
	flag := func() bool { return r.Byte() != 0 }
	tx := func() *CashTransaction {
		i := r.Uint()
		if r.Bad {
			return nil
		}
		t := at(int(min(i, 1<<31)))
		if t == nil {
			r.Fail()
		}
		return t
	}
	if cur, zone := str(), str(); r.Bad {
		return nil, nil, errCashBookEncoding
	} else if cur != currency || zone != loc.String() {
		return nil, nil, ErrCashBookElsewhere
	}
	b := NewCashBook(currency, loc)
	b.classes = make([]cashClass, r.Count(4))
	for i := range b.classes {
		c := cashClass{country: str(), currency: str(), lineless: flag(), planless: flag()}
		if n := r.Count(1); n > 0 {
			c.plans = make([]string, n)
			for j := range c.plans {
				c.plans[j] = str()
			}
		}
		b.classes[i] = c
		b.classIndex[string(c.appendKey(nil))] = int32(i)
	}
	for range r.Count(2) {
		cur := str()
		ds := make([]fxDay, r.Count(2))
		for i := range ds {
			ds[i].day = int32(r.Int())
			if flag() {
				rate, ok := new(big.Rat).SetString(str())
				if !ok {
					r.Fail()
				}
				ds[i].rate = rate
			}
		}
		b.fx[cur] = ds
	}
	class := func() int32 { return r.index(len(b.classes)) }
	b.days = make([]*cashDay, 0, r.Count(2))
	var day int32
	for range cap(b.days) {
		if r.Bad {
			break
		}
		day += int32(r.Int())
		cells := make([]cashCell, r.Count(3))
		for i := range cells {
			c := cashCell{class: class(), utcDay: int32(r.Int())}
			c.items = make([]bookItem, r.Count(5))
			var prevAt int64
			for j := range c.items {
				prevAt += r.Int()
				it := bookItem{at: prevAt, class: c.class}
				it.tx = tx()
				it.amount, it.nonRec, it.flags = r.Int(), r.Int(), r.Byte()
				if r.Bad {
					break
				}
				it.customer = it.tx.Customer
				c.items[j] = it
				c.sums.addItem(&it)
				c.flags |= it.flags
			}
			cells[i] = c
		}
		var fails []cashFail
		if n := r.Count(3); n > 0 {
			fails = make([]cashFail, n)
			for i := range fails {
				f := cashFail{tx: tx()}
				if flag() {
					f.prev = tx()
				}
				f.class = class()
				fails[i] = f
			}
		}
		if r.Bad {
			break
		}
		b.days = append(b.days, b.newDay(day, cells, fails))
	}
	if r.Bad {
		return nil, nil, errCashBookEncoding
	}
	return b, r.B, nil
}
