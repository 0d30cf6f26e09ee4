package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Book is many customers' histories flattened into time order, so that a
// series over the whole account costs one pass over its changes rather
// than one per customer and period. A Book is immutable: With returns an
// updated Book, so readers of the old one need no lock.
//
// A Book is layers of customers: a base, then the customers written since,
// in layers of ever smaller sizes, the newest last; a customer's history
// in an older layer is dropped (marked, not removed) when it is written
// again. A write makes a layer of what it changes and merges the newest
// layers while one is no larger than twice the next (a binary counter:
// each element is copied about log₂ of the overlay's size times), and
// merges everything into a new base once the layers after it pass
// 1/overlayShare of it, or a share as large of the base is dropped. So a
// write of one customer costs its own elements, a few small merges and a
// 1/overlayShare share of a pass over the book, never a copy of the whole
// book. Every figure is a sum over customers, so a request reads the
// layers one after the other, never merged.
type Book struct {
	levels []level // levels[0] is the base
}

// level is a layer as a Book holds it: with the customers that newer
// layers replace, or that are gone, marked by index in keys.
type level struct {
	*layer
	dropped  []uint64 // nil when none
	nDropped int
}

// layer is some customers' changes and movements in time order. Each
// element carries its customer's index in keys, so that what a request
// keeps per customer fits in a slice.
type layer struct {
	changes []change // by at
	moves   []move   // by at
	keys    []int64  // the layer's customers, ascending
}

func (l *layer) size() int { return len(l.changes) + len(l.moves) }

// change is one customer's step of MRR and status, as deltas. Times are
// Unix milliseconds, floored: what the store keeps.
type change struct {
	at       int64
	customer int64
	mrr, fx  int64
	idx      int32 // the customer's index in its layer's keys
	active   int8  // +1 became a customer, −1 stopped being one
	// For a −1, the customer's previous and next status changes (next is
	// MaxInt64 when none): rule 17 counts the churn in a period only when
	// neither lies in that period.
	prevFlip, nextFlip int64
}

type move struct {
	at       int64
	customer int64
	amount   int64
	idx      int32
	kind     uint8
}

const (
	kindNewBiz uint8 = iota
	kindExpansion
	kindContraction
	kindChurn
	kindReactivation
	kindOther
)

var moveKinds = map[string]uint8{NewBiz: kindNewBiz, Expansion: kindExpansion, Contraction: kindContraction,
	Churn: kindChurn, Reactivation: kindReactivation}

// NewBook indexes histories by customer key (any distinct numbers).
func NewBook(hs map[int64]History) *Book {
	return (&Book{}).With(hs)
}

// overlayShare: the layers after the base are merged into it once they
// pass 1/overlayShare of its elements, or as large a share of its
// customers is dropped.
const overlayShare = 32

// With returns a Book in which the customers of changed have these
// histories instead of their old ones (an empty history removes one).
func (b *Book) With(changed map[int64]History) *Book {
	if len(changed) == 0 {
		return b // a Book is never changed, so it may be shared
	}
	ids := make([]int64, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	levels := make([]level, len(b.levels), len(b.levels)+1)
	copy(levels, b.levels)
	for i := range levels {
		levels[i].drop(ids)
	}
	levels = append(levels, level{layer: newLayer(ids, changed)})
	// The binary counter: merge the newest layers while the older is no
	// larger than twice the newer.
	for n := len(levels); n > 2 && levels[n-2].size() <= 2*levels[n-1].size(); n-- {
		levels[n-2] = level{layer: mergeLayers(levels[n-2], levels[n-1])}
		levels = levels[:n-1]
	}
	over := 0
	for _, l := range levels[1:] {
		over += l.size()
	}
	if base := levels[0]; len(levels) > 1 && (over > base.size()/overlayShare || base.nDropped > len(base.keys)/overlayShare) {
		for n := len(levels); n > 1; n-- {
			levels[n-2] = level{layer: mergeLayers(levels[n-2], levels[n-1])}
		}
		levels = levels[:1]
	}
	return &Book{levels: levels}
}

// drop marks the customers of ids (ascending) that l holds, copying
// l.dropped before its first change.
func (l *level) drop(ids []int64) {
	owned := false
	for _, id := range ids {
		i, found := slices.BinarySearch(l.keys, id)
		if !found || (l.dropped != nil && l.dropped[i/64]&(1<<(i%64)) != 0) {
			continue
		}
		if !owned {
			d := make([]uint64, (len(l.keys)+63)/64)
			copy(d, l.dropped)
			l.dropped, owned = d, true
		}
		l.dropped[i/64] |= 1 << (i % 64)
		l.nDropped++
	}
}

// newLayer is the layer of the histories of ids (ascending): their
// changes and movements sorted by time.
func newLayer(ids []int64, hs map[int64]History) *layer {
	l := &layer{keys: make([]int64, 0, len(ids))}
	for _, id := range ids {
		h := hs[id]
		if len(h.Timeline) == 0 && len(h.Movements) == 0 {
			continue // removed
		}
		idx := int32(len(l.keys))
		l.keys = append(l.keys, id)
		first := len(l.changes)
		l.changes = appendChanges(l.changes, id, h.Timeline)
		for i := first; i < len(l.changes); i++ {
			l.changes[i].idx = idx
		}
		for _, m := range h.Movements {
			kind, ok := moveKinds[m.Type]
			if !ok {
				kind = kindOther
			}
			l.moves = append(l.moves, move{at: m.At.UnixMilli(), customer: id, kind: kind, amount: m.Amount, idx: idx})
		}
	}
	// Elements of one customer at one instant may come in any order: no
	// figure depends on it.
	slices.SortFunc(l.changes, func(x, y change) int { return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.customer, y.customer)) })
	slices.SortFunc(l.moves, func(x, y move) int { return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.customer, y.customer)) })
	return l
}

// mergeLayers is the layer of the customers a and b do not drop, which
// must be different customers: elements merged in time order (a's first
// at equal times), indexes renumbered over the merged keys.
func mergeLayers(a, b level) *layer {
	aNew, bNew := make([]int32, len(a.keys)), make([]int32, len(b.keys))
	keys := make([]int64, 0, len(a.keys)-a.nDropped+len(b.keys)-b.nDropped)
	i, j := 0, 0
	for i < len(a.keys) || j < len(b.keys) {
		if j == len(b.keys) || (i < len(a.keys) && a.keys[i] < b.keys[j]) {
			aNew[i] = -1
			if a.dropped == nil || a.dropped[i/64]&(1<<(i%64)) == 0 {
				aNew[i] = int32(len(keys))
				keys = append(keys, a.keys[i])
			}
			i++
			continue
		}
		bNew[j] = -1
		if b.dropped == nil || b.dropped[j/64]&(1<<(j%64)) == 0 {
			bNew[j] = int32(len(keys))
			keys = append(keys, b.keys[j])
		}
		j++
	}
	out := &layer{keys: keys}
	out.changes = mergeInto(make([]change, 0, len(a.changes)+len(b.changes)), a.changes, b.changes, aNew, bNew)
	out.moves = mergeInto(make([]move, 0, len(a.moves)+len(b.moves)), a.moves, b.moves, aNew, bNew)
	return out
}

// element is a change or a move, as merges see it.
type element[T any] interface {
	time() int64
	index() int32
	withIndex(int32) T
}

func (c change) time() int64                { return c.at }
func (c change) index() int32               { return c.idx }
func (c change) withIndex(idx int32) change { c.idx = idx; return c }
func (m move) time() int64                  { return m.at }
func (m move) index() int32                 { return m.idx }
func (m move) withIndex(idx int32) move     { m.idx = idx; return m }

// mergeInto appends to out the elements of a and b, both in time order,
// whose customers' new indexes (aNew, bNew; −1 dropped) are kept.
func mergeInto[T element[T]](out, a, b []T, aNew, bNew []int32) []T {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j].time() < x.time() {
			if n := bNew[b[j].index()]; n >= 0 {
				out = append(out, b[j].withIndex(n))
			}
			j++
		}
		if n := aNew[x.index()]; n >= 0 {
			out = append(out, x.withIndex(n))
		}
	}
	for ; j < len(b); j++ {
		if n := bNew[b[j].index()]; n >= 0 {
			out = append(out, b[j].withIndex(n))
		}
	}
	return out
}

// appendChanges turns one customer's timeline into deltas.
func appendChanges(out []change, id int64, tl []Point) []change {
	var prev Point
	lastFlip := int64(math.MinInt64)
	first := len(out)
	for _, p := range tl {
		c := change{at: p.At.UnixMilli(), customer: id, mrr: p.MRR - prev.MRR, fx: p.FX}
		switch {
		case p.Active && !prev.Active:
			c.active = 1
		case !p.Active && prev.Active:
			c.active = -1
			c.prevFlip, c.nextFlip = lastFlip, math.MaxInt64
		}
		if c.active != 0 {
			// The previous −1 learns that this is its next flip.
			for i := len(out) - 1; i >= first; i-- {
				if out[i].active != 0 {
					if out[i].active < 0 {
						out[i].nextFlip = c.at
					}
					break
				}
			}
			lastFlip = c.at
		}
		out = append(out, c)
		prev = p
	}
	return out
}

// Part is some customers of a Book: those of Keep, or every one when Keep
// is nil. The figures of several parts are the sums of theirs, so the
// parts of one request must hold different customers: a segment is the
// account's book with its members kept, beside a book of the customers
// it sees through a plan view (rule 19), kept whole.
type Part struct {
	Book *Book
	Keep *Set
}

// source is one layer of a part, as a request reads it: the elements of
// the customers whose indexes in.
type source struct {
	l *layer
	// mask marks the customers read, by index in l.keys; nil: every one.
	mask []uint64
}

func (s *source) in(idx int32) bool {
	return s.mask == nil || s.mask[idx/64]&(1<<(idx%64)) != 0
}

// sources are the layers of parts with the customers each reads: those
// of its part's Keep that it does not drop. Layers with none are left
// out.
func sources(parts []Part) []source {
	var out []source
	for _, p := range parts {
		if p.Book == nil {
			continue
		}
		for _, l := range p.Book.levels {
			if l.size() == 0 || l.nDropped == len(l.keys) {
				continue
			}
			s := source{l: l.layer}
			switch {
			case p.Keep != nil:
				s.mask = make([]uint64, (len(l.keys)+63)/64)
				for i, id := range l.keys {
					if (l.dropped == nil || l.dropped[i/64]&(1<<(i%64)) == 0) && p.Keep.Has(id) {
						s.mask[i/64] |= 1 << (i % 64)
					}
				}
			case l.dropped != nil:
				s.mask = make([]uint64, len(l.dropped))
				for w, d := range l.dropped {
					s.mask[w] = ^d
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// Series computes the entries of rules 15–17 over the whole book.
func (b *Book) Series(r SeriesRequest) ([]Entry, error) { return SeriesOf(r, Part{Book: b}) }

// SeriesOf computes the entries of rules 15–17 over the customers of
// parts: stock values at the end of each entry's date, flows over its
// period. The stocks and flows add up over customers, so each part's are
// summed and what derives from them (ARPA, ASP, churn rates, LTV) is
// derived once from the sums: a segment costs a pass over the book, not a
// copy of it.
func SeriesOf(r SeriesRequest, parts ...Part) ([]Entry, error) {
	ps, err := periods(r)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(ps))
	for i, p := range ps {
		out[i].Date = p.date
	}
	var ck money.Checked // the account's sums (issue 10)
	var startMRR, startCustomers int64
	for _, s := range sources(parts) {
		mrr, customers := s.series(&ck, ps, out)
		startMRR, startCustomers = ck.Add(startMRR, mrr), startCustomers+customers
	}
	derive(&ck, out, startMRR, startCustomers)
	if err := ck.Err(); err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	return out, nil
}

// series adds the source's stocks and flows to out, the entries of ps,
// and returns its MRR and customers just before the first period.
func (s *source) series(ck *money.Checked, ps []period, out []Entry) (startMRR, startCustomers int64) {
	changes, moves := s.l.changes, s.l.moves
	start := ps[0].from.UnixMilli()
	var mrr, customers int64
	ci := 0
	for ; ci < len(changes) && changes[ci].at < start; ci++ {
		if c := &changes[ci]; s.in(c.idx) {
			mrr = ck.Add(mrr, c.mrr)
			customers += int64(c.active)
		}
	}
	startMRR, startCustomers = mrr, customers
	mi, _ := slices.BinarySearchFunc(moves, start, func(m move, t int64) int { return cmp.Compare(m.at, t) })
	for i, p := range ps {
		e := &out[i]
		from, to := p.from.UnixMilli(), p.to.UnixMilli()
		for ; ci < len(changes) && changes[ci].at < to; ci++ {
			c := &changes[ci]
			if !s.in(c.idx) {
				continue
			}
			mrr = ck.Add(mrr, c.mrr)
			customers += int64(c.active)
			e.FX = ck.Add(e.FX, c.fx)
			// rule 17: churned in the period, unless it also (re)joined in it.
			if c.active < 0 && c.prevFlip < from && c.nextFlip >= to {
				e.ChurnedCustomers++
			}
		}
		e.MRR, e.Customers = ck.Add(e.MRR, mrr), e.Customers+customers
		for ; mi < len(moves) && moves[mi].at < to; mi++ {
			m := &moves[mi]
			if !s.in(m.idx) {
				continue
			}
			switch m.kind {
			case kindNewBiz:
				e.NewBiz = ck.Add(e.NewBiz, m.amount)
				e.NewCustomers++
			case kindExpansion:
				e.Expansion = ck.Add(e.Expansion, m.amount)
			case kindContraction:
				e.Contraction = ck.Add(e.Contraction, m.amount)
			case kindChurn:
				e.Churn = ck.Add(e.Churn, m.amount)
			case kindReactivation:
				e.Reactivation = ck.Add(e.Reactivation, m.amount)
			}
		}
	}
	return startMRR, startCustomers
}

// StockAt is the MRR and customer count at instant t.
func (b *Book) StockAt(t time.Time) (mrr, customers int64, err error) {
	return StockAtOf(t, Part{Book: b})
}

// StockAtOf is the MRR and customer count of parts at instant t.
func StockAtOf(t time.Time, parts ...Part) (mrr, customers int64, err error) {
	var ck money.Checked
	end := t.UnixMilli()
	for _, s := range sources(parts) {
		for i := range s.l.changes {
			c := &s.l.changes[i]
			if c.at > end {
				break
			}
			if s.in(c.idx) {
				mrr = ck.Add(mrr, c.mrr)
				customers += int64(c.active)
			}
		}
	}
	if err := ck.Err(); err != nil {
		return 0, 0, fmt.Errorf("stock: %w", err)
	}
	return mrr, customers, nil
}

// ASPBetween is the average new-business MRR of the new customers of
// (from, to] (rule 16), 0 without any.
func (b *Book) ASPBetween(from, to time.Time) (int64, error) {
	return ASPBetweenOf(from, to, Part{Book: b})
}

// ASPBetweenOf is ASPBetween over the customers of parts.
func ASPBetweenOf(from, to time.Time, parts ...Part) (int64, error) {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	var ck money.Checked
	var sum, n int64
	for _, s := range sources(parts) {
		moves := s.l.moves
		i, _ := slices.BinarySearchFunc(moves, lo+1, func(m move, t int64) int { return cmp.Compare(m.at, t) })
		for ; i < len(moves) && moves[i].at <= hi; i++ {
			if m := &moves[i]; m.kind == kindNewBiz && s.in(m.idx) {
				sum = ck.Add(sum, m.amount)
				n++
			}
		}
	}
	if err := ck.Err(); err != nil {
		return 0, fmt.Errorf("average sale price: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	return sum / n, nil
}
