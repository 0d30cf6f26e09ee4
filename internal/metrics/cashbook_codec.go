package metrics

import (
	"encoding/binary"
	"errors"
	"maps"
	"math/big"
	"slices"
	"time"
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
	r := &bookReader{b: data}
	str := func() string {
		n := r.count(1)
		if r.bad {
			return ""
		}
		s := string(r.b[:n])
		r.b = r.b[n:]
		return s
	}
	flag := func() bool {
		if len(r.b) == 0 {
			r.fail()
			return false
		}
		v := r.b[0]
		r.b = r.b[1:]
		return v != 0
	}
	tx := func() *CashTransaction {
		i := r.uint()
		if r.bad {
			return nil
		}
		t := at(int(min(i, 1<<31)))
		if t == nil {
			r.fail()
		}
		return t
	}
	if str() != currency || str() != loc.String() {
		return nil, nil, errCashBookEncoding
	}
	b := NewCashBook(currency, loc)
	b.classes = make([]cashClass, r.count(4))
	for i := range b.classes {
		c := cashClass{country: str(), currency: str(), lineless: flag(), planless: flag()}
		if n := r.count(1); n > 0 {
			c.plans = make([]string, n)
			for j := range c.plans {
				c.plans[j] = str()
			}
		}
		b.classes[i] = c
		b.classIndex[string(c.appendKey(nil))] = int32(i)
	}
	for range r.count(2) {
		cur := str()
		ds := make([]fxDay, r.count(2))
		for i := range ds {
			ds[i].day = int32(r.int())
			if flag() {
				rate, ok := new(big.Rat).SetString(str())
				if !ok {
					r.fail()
				}
				ds[i].rate = rate
			}
		}
		b.fx[cur] = ds
	}
	class := func() int32 {
		c := r.uint()
		if c >= uint64(len(b.classes)) {
			r.fail()
			return 0
		}
		return int32(c)
	}
	b.days = make([]*cashDay, 0, r.count(2))
	var day int32
	for range cap(b.days) {
		if r.bad {
			break
		}
		day += int32(r.int())
		cells := make([]cashCell, r.count(3))
		for i := range cells {
			c := cashCell{class: class(), utcDay: int32(r.int())}
			c.items = make([]bookItem, r.count(5))
			var prevAt int64
			for j := range c.items {
				prevAt += r.int()
				it := bookItem{at: prevAt, class: c.class}
				it.tx = tx()
				it.amount, it.nonRec = r.int(), r.int()
				if r.bad || len(r.b) == 0 {
					r.fail()
					break
				}
				it.flags, r.b = r.b[0], r.b[1:]
				it.customer = it.tx.Customer
				c.items[j] = it
				c.sums.addItem(&it)
				c.flags |= it.flags
			}
			cells[i] = c
		}
		var fails []cashFail
		if n := r.count(3); n > 0 {
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
		if r.bad {
			break
		}
		b.days = append(b.days, b.newDay(day, cells, fails))
	}
	if r.bad {
		return nil, nil, errCashBookEncoding
	}
	return b, r.b, nil
}
