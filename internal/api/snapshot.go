package api

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"math"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/segment"
	"github.com/tally-analytics/tally/internal/wire"
)

// A snapshot is what the results cache holds for an account, encoded
// for store.SaveCacheSnapshot so that a server starting up reads one row
// rather than every result or transaction of the account (issue 14: cold
// starts). The encoding is Tally's own: varints, times as Unix
// milliseconds (what the store keeps) relative to the previous time of
// the same list, and each distinct string once, then by number. A
// snapshot decodes to exactly what the store's reads give (the results
// as store.CustomerResults, the transactions as cashInput makes them),
// so the cache builds its state from either through the same code.
const (
	snapshotResults = "results"
	snapshotCash    = "cash"
	// snapshotFormat is the encoding's number, first in the data: a
	// server reads only its own and loads from the rows otherwise.
	snapshotFormat = 1
)

var errSnapshot = errors.New("snapshot: not of this format, or damaged")

type snapWriter struct {
	b    []byte
	strs map[string]uint64
}

func newSnapWriter(kind byte) *snapWriter {
	return &snapWriter{b: []byte{'T', kind, snapshotFormat}, strs: map[string]uint64{}}
}

func (w *snapWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *snapWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }

func (w *snapWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// str writes a string's number among those written so far, plus one, or
// 0 and the string the first time.
func (w *snapWriter) str(s string) {
	if n, ok := w.strs[s]; ok {
		w.uint(n + 1)
		return
	}
	w.strs[s] = uint64(len(w.strs))
	w.uint(0)
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *snapWriter) strList(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

// at writes t relative to *prev, and moves *prev to it.
func (w *snapWriter) at(t time.Time, prev *int64) {
	ms := t.UnixMilli()
	w.int(ms - *prev)
	*prev = ms
}

type snapReader struct {
	wire.Reader
	strs []string // the strings read so far, by number
}

// newSnapReader checks data's header and checksum.
func newSnapReader(data []byte, kind byte) *snapReader {
	if len(data) < 7 || data[0] != 'T' || data[1] != kind || data[2] != snapshotFormat {
		return &snapReader{Reader: wire.Reader{Bad: true}}
	}
	body := data[:len(data)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return &snapReader{Reader: wire.Reader{Bad: true}}
	}
	return &snapReader{Reader: wire.Reader{B: body[3:]}}
}

// done is the encoding, with its checksum.
func (w *snapWriter) done() []byte {
	return binary.LittleEndian.AppendUint32(w.b, crc32.ChecksumIEEE(w.b))
}

func (r *snapReader) bool() bool { return r.Byte() != 0 }

func (r *snapReader) str() string {
	n := r.Uint()
	if n > 0 {
		if n > uint64(len(r.strs)) {
			r.Fail()
			return ""
		}
		return r.strs[n-1]
	}
	l := r.Count(1)
	if r.Bad {
		return ""
	}
	s := string(r.B[:l])
	r.B = r.B[l:]
	r.strs = append(r.strs, s)
	return s
}

// strSlice reads strList's list: nil when empty, as the store's reads leave it.
func (r *snapReader) strSlice() []string {
	n := r.Count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *snapReader) at(prev *int64) time.Time {
	*prev += r.Int()
	return time.UnixMilli(*prev).UTC()
}

// encodeResults encodes the cached customers and book, the Book of
// exactly their histories (nil for none).
func encodeResults(cs []*cachedCustomer, book *metrics.Book) []byte {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(x, y *cachedCustomer) int { return cmp.Compare(x.id, y.id) })
	w := newSnapWriter('R')
	w.uint(uint64(len(cs)))
	var prevID int64
	for _, c := range cs {
		w.int(c.id - prevID)
		prevID = c.id
		w.int(c.version)
		w.str(c.country)
		var at int64
		w.uint(uint64(len(c.history.Timeline)))
		for _, p := range c.history.Timeline {
			w.at(p.At, &at)
			w.int(p.MRR)
			w.bool(p.Active)
			w.int(p.FX)
		}
		at = 0
		w.uint(uint64(len(c.history.Movements)))
		for _, m := range c.history.Movements {
			w.at(m.At, &at)
			w.str(m.Type)
			w.int(m.Amount)
			w.int(m.MRRAfter)
		}
		w.uint(uint64(len(c.subs)))
		for _, sub := range c.subs {
			w.str(sub.ID)
			w.str(sub.ExternalID)
			w.str(sub.Group)
			at = 0
			w.uint(uint64(len(sub.Steps)))
			for _, st := range sub.Steps {
				w.at(st.At, &at)
				w.int(st.MRR)
				w.bool(st.Live)
				w.str(st.Plan)
				w.int(st.FX)
			}
		}
		w.strList(c.facts.DataSources)
		w.strList(c.facts.Currencies)
		w.strList(c.facts.Tags)
		keys := sortedKeys(c.facts.Custom)
		w.uint(uint64(len(keys)))
		for _, k := range keys {
			attr := c.facts.Custom[k]
			w.str(k)
			w.str(attr.Type)
			w.str(attr.Source)
			w.value(attr.Value)
		}
		keys = sortedKeys(c.quantities)
		w.uint(uint64(len(keys)))
		for _, k := range keys {
			w.str(k)
			w.int(c.quantities[k])
		}
	}
	w.bool(book != nil)
	if book != nil {
		w.b, _ = book.AppendBinary(w.b)
	}
	return w.done()
}

// value writes a custom attribute's value: those the store's JSON decoder
// makes as they are, anything else as JSON.
func (w *snapWriter) value(v any) {
	switch v := v.(type) {
	case nil:
		w.uint(0)
	case bool:
		w.uint(1)
		w.bool(v)
	case float64:
		w.uint(2)
		w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v))
	case string:
		w.uint(3)
		w.str(v)
	default:
		b, _ := json.Marshal(v)
		w.uint(4)
		w.uint(uint64(len(b)))
		w.b = append(w.b, b...)
	}
}

func (r *snapReader) value() any {
	switch r.Uint() {
	case 0:
		return nil
	case 1:
		return r.bool()
	case 2:
		if len(r.B) < 8 {
			r.Fail()
			return nil
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(r.B))
		r.B = r.B[8:]
		return v
	case 3:
		return r.str()
	case 4:
		n := r.Count(1)
		if r.Bad {
			return nil
		}
		var v any
		if err := json.Unmarshal(r.B[:n], &v); err != nil {
			r.Fail()
			return nil
		}
		r.B = r.B[n:]
		return v
	}
	r.Fail()
	return nil
}

// decodeResults reads what encodeResults wrote: the customers as toCached
// makes them from the store's rows, and the Book of their histories.
func decodeResults(data []byte) (snapshotState, error) {
	r := newSnapReader(data, 'R')
	n := r.Count(1)
	out := make([]*cachedCustomer, 0, n)
	var id int64
	for range n {
		if r.Bad {
			break
		}
		id += r.Int()
		c := &cachedCustomer{id: id, version: r.Int(), country: r.str()}
		var at int64
		if k := r.Count(1); k > 0 {
			c.history.Timeline = make([]metrics.Point, k)
			for i := range c.history.Timeline {
				c.history.Timeline[i] = metrics.Point{At: r.at(&at), MRR: r.Int(), Active: r.bool(), FX: r.Int()}
			}
		}
		at = 0
		if k := r.Count(1); k > 0 {
			c.history.Movements = make([]metrics.Movement, k)
			for i := range c.history.Movements {
				c.history.Movements[i] = metrics.Movement{At: r.at(&at), Type: r.str(), Amount: r.Int(), MRRAfter: r.Int()}
			}
		}
		if k := r.Count(1); k > 0 {
			c.subs = make([]metrics.SubscriptionSteps, k)
			for i := range c.subs {
				sub := metrics.SubscriptionSteps{ID: r.str(), ExternalID: r.str(), Group: r.str()}
				at = 0
				sub.Steps = make([]metrics.Step, r.Count(1))
				for j := range sub.Steps {
					st := metrics.Step{At: r.at(&at), MRR: r.Int(), Live: r.bool(), Plan: r.str(), FX: r.Int()}
					sub.Steps[j] = st
					c.addPlan(st.Plan)
				}
				c.subs[i] = sub
			}
		}
		c.facts = segment.Facts{Country: c.country, DataSources: r.strSlice(), Currencies: r.strSlice(), Tags: r.strSlice()}
		if k := r.Count(1); k > 0 {
			c.facts.Custom = make(map[string]billing.CustomAttribute, k)
			for range k {
				key := r.str()
				c.facts.Custom[key] = billing.CustomAttribute{Type: r.str(), Source: r.str(), Value: r.value()}
			}
		}
		if k := r.Count(1); k > 0 {
			c.quantities = make(map[string]int64, k)
			for range k {
				key := r.str()
				c.quantities[key] = r.Int()
			}
		}
		out = append(out, c)
	}
	if r.Bad {
		return snapshotState{}, errSnapshot
	}
	st := snapshotState{customers: out}
	if r.bool() {
		book, rest, err := metrics.DecodeBook(r.B)
		if err != nil {
			return snapshotState{}, errSnapshot
		}
		st.book, r.B = book, rest
	}
	if r.Bad || len(r.B) != 0 {
		return snapshotState{}, errSnapshot
	}
	return st, nil
}

// snapshotState is what a results snapshot holds: the customers, and the
// Book of exactly their histories (nil when not written).
type snapshotState struct {
	customers []*cachedCustomer
	book      *metrics.Book
}

// encodeCash encodes the account's transactions as the cash state holds
// them, by customer, and the cash book built of exactly them (nil for
// none). The book names a transaction by its place among all of them, in
// the order written.
func encodeCash(by map[int64][]metrics.CashTransaction, book *metrics.CashBook) []byte {
	ids := sortedKeys(by)
	w := newSnapWriter('C')
	offset := make(map[int64]int, len(ids))
	var txs, lines int
	for _, id := range ids {
		offset[id] = txs
		txs += len(by[id])
		for _, t := range by[id] {
			lines += len(t.Lines)
		}
	}
	w.uint(uint64(len(ids)))
	w.uint(uint64(txs))
	w.uint(uint64(lines))
	var prevID int64
	for _, id := range ids {
		w.int(id - prevID)
		prevID = id
		txs := by[id]
		w.uint(uint64(len(txs)))
		var at int64
		for _, t := range txs {
			w.int(t.Customer - id)
			w.str(t.Country)
			w.at(t.At, &at)
			w.str(t.Type)
			w.bool(t.Successful)
			w.bool(t.Amount != nil)
			if t.Amount != nil {
				w.int(*t.Amount)
			}
			w.str(t.Currency)
			w.uint(uint64(len(t.Lines)))
			for _, l := range t.Lines {
				w.int(l.Amount)
				w.bool(l.OneTime)
				w.str(l.Plan)
			}
		}
	}
	var encoded []byte
	if book != nil {
		// A transaction's place in its customer's list: a customer has
		// tens of them, not worth an index.
		encoded, _ = book.AppendBinary(nil, func(tx *metrics.CashTransaction) (int, bool) {
			txs := by[tx.Customer]
			for i := range txs {
				if &txs[i] == tx {
					return offset[tx.Customer] + i, true
				}
			}
			return 0, false
		})
	}
	w.bool(encoded != nil)
	w.b = append(w.b, encoded...)
	return w.done()
}

// cashSnapshot is what a cash snapshot holds: the transactions by
// customer, and the cash book of exactly them when it was written and
// built for the currency and time zone asked for (nil otherwise).
type cashSnapshot struct {
	byCustomer map[int64][]metrics.CashTransaction
	book       *metrics.CashBook
}

// decodeCash reads what encodeCash wrote, with the book for an account
// currency and time zone. The transactions, and their lines, are each
// one allocation, every customer's list a part of it that cannot grow
// into the next.
func decodeCash(data []byte, currency string, loc *time.Location) (cashSnapshot, error) {
	r := newSnapReader(data, 'C')
	n, all, allLines := r.Count(1), r.Count(1), r.Count(1)
	out := make(map[int64][]metrics.CashTransaction, n)
	txs, lines := make([]metrics.CashTransaction, all), make([]metrics.CashLine, allLines)
	var id int64
	next, nextLine := 0, 0
	for range n {
		if r.Bad {
			break
		}
		id += r.Int()
		k := r.Count(1)
		if k > len(txs)-next {
			r.Fail()
			break
		}
		mine := txs[next : next+k : next+k]
		next += k
		var at int64
		for i := range mine {
			t := metrics.CashTransaction{Customer: id + r.Int(), Country: r.str(), At: r.at(&at), Type: r.str(), Successful: r.bool()}
			if r.bool() {
				v := r.Int()
				t.Amount = &v
			}
			t.Currency = r.str()
			l := r.Count(1)
			if l > len(lines)-nextLine {
				r.Fail()
				break
			}
			t.Lines = lines[nextLine : nextLine+l : nextLine+l] // as cashInput makes them: empty, not nil
			nextLine += l
			for j := range t.Lines {
				t.Lines[j] = metrics.CashLine{Amount: r.Int(), OneTime: r.bool(), Plan: r.str()}
			}
			mine[i] = t
		}
		out[id] = mine
	}
	if next != len(txs) || nextLine != len(lines) {
		r.Fail()
	}
	st := cashSnapshot{byCustomer: out}
	if r.bool() {
		book, rest, err := metrics.DecodeCashBook(r.B, currency, loc, func(i int) *metrics.CashTransaction {
			if i < len(txs) {
				return &txs[i]
			}
			return nil
		})
		switch {
		case err == nil:
			st.book, r.B = book, rest
		case errors.Is(err, metrics.ErrCashBookElsewhere):
			r.B = nil // sound, but not used
		default:
			r.Fail()
		}
	}
	if r.Bad || len(r.B) != 0 {
		return cashSnapshot{}, errSnapshot
	}
	return st, nil
}

func sortedKeys[K int64 | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
