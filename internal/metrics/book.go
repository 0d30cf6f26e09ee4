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
// updated copy, so readers of the old one need no lock.
type Book struct {
	changes []change // by at
	moves   []move   // by at
}

// change is one customer's step of MRR and status, as deltas. Times are
// Unix milliseconds, floored: what the store keeps.
type change struct {
	at       int64
	customer int64
	mrr, fx  int64
	active   int8 // +1 became a customer, −1 stopped being one
	// For a −1, the customer's previous and next status changes (next is
	// MaxInt64 when none): rule 17 counts the churn in a period only when
	// neither lies in that period.
	prevFlip, nextFlip int64
}

type move struct {
	at       int64
	customer int64
	kind     uint8
	amount   int64
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

// With returns a Book in which the customers of changed have these
// histories instead of their old ones (an empty history removes one).
func (b *Book) With(changed map[int64]History) *Book {
	if len(changed) == 0 {
		return b // a Book is never changed, so it may be shared
	}
	var add Book
	for id, h := range changed {
		add.changes = appendChanges(add.changes, id, h.Timeline)
		for _, m := range h.Movements {
			kind, ok := moveKinds[m.Type]
			if !ok {
				kind = kindOther
			}
			add.moves = append(add.moves, move{at: m.At.UnixMilli(), customer: id, kind: kind, amount: m.Amount})
		}
	}
	slices.SortFunc(add.changes, func(x, y change) int { return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.customer, y.customer)) })
	slices.SortFunc(add.moves, func(x, y move) int { return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.customer, y.customer)) })
	drop := newIDSet(changed)
	return &Book{
		changes: merge(b.changes, add.changes, func(c change) bool { return drop.has(c.customer) },
			func(x, y change) bool { return x.at <= y.at }),
		moves: merge(b.moves, add.moves, func(m move) bool { return drop.has(m.customer) },
			func(x, y move) bool { return x.at <= y.at }),
	}
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

// merge keeps the elements of old that drop does not reject and merges
// add into them, both being in order.
func merge[T any](old, add []T, drop func(T) bool, before func(x, y T) bool) []T {
	out := make([]T, 0, len(old)+len(add))
	j := 0
	for _, x := range old {
		if drop(x) {
			continue
		}
		for j < len(add) && before(add[j], x) {
			out = append(out, add[j])
			j++
		}
		out = append(out, x)
	}
	return append(out, add[j:]...)
}

// idSet is a membership test fast enough to run once per element of a
// Book: a bitmap over the range of the ids.
type idSet struct {
	lo, hi int64
	bits   []uint64
}

func newIDSet[V any](ids map[int64]V) idSet {
	s := idSet{lo: math.MaxInt64, hi: math.MinInt64}
	for id := range ids {
		s.lo, s.hi = min(s.lo, id), max(s.hi, id)
	}
	if len(ids) == 0 {
		return s
	}
	s.bits = make([]uint64, uint64(s.hi-s.lo)/64+1)
	for id := range ids {
		off := uint64(id - s.lo)
		s.bits[off/64] |= 1 << (off % 64)
	}
	return s
}

func (s idSet) has(id int64) bool {
	if id < s.lo || id > s.hi {
		return false
	}
	off := uint64(id - s.lo)
	return s.bits[off/64]&(1<<(off%64)) != 0
}

// Series computes the entries of rules 15–17. Stock values are taken at
// the end of each entry's date, flows over its period.
func (b *Book) Series(r SeriesRequest) ([]Entry, error) {
	ps, err := periods(r)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(ps))
	start := ps[0].from.UnixMilli()
	var ck money.Checked // the account's sums (issue 10)
	var mrr, customers int64
	ci := 0
	for ; ci < len(b.changes) && b.changes[ci].at < start; ci++ {
		mrr = ck.Add(mrr, b.changes[ci].mrr)
		customers += int64(b.changes[ci].active)
	}
	startMRR, startCustomers := mrr, customers
	mi := 0
	for mi < len(b.moves) && b.moves[mi].at < start {
		mi++
	}
	for i, p := range ps {
		e := &out[i]
		e.Date = p.date
		from, to := p.from.UnixMilli(), p.to.UnixMilli()
		for ; ci < len(b.changes) && b.changes[ci].at < to; ci++ {
			c := &b.changes[ci]
			mrr = ck.Add(mrr, c.mrr)
			customers += int64(c.active)
			e.FX = ck.Add(e.FX, c.fx)
			// rule 17: churned in the period, unless it also (re)joined in it.
			if c.active < 0 && c.prevFlip < from && c.nextFlip >= to {
				e.ChurnedCustomers++
			}
		}
		e.MRR, e.Customers = mrr, customers
		for ; mi < len(b.moves) && b.moves[mi].at < to; mi++ {
			m := &b.moves[mi]
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
	derive(&ck, out, startMRR, startCustomers)
	if err := ck.Err(); err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	return out, nil
}

// StockAt is the MRR and customer count at instant t.
func (b *Book) StockAt(t time.Time) (mrr, customers int64, err error) {
	var ck money.Checked
	end := t.UnixMilli()
	for _, c := range b.changes {
		if c.at > end {
			break
		}
		mrr = ck.Add(mrr, c.mrr)
		customers += int64(c.active)
	}
	if err := ck.Err(); err != nil {
		return 0, 0, fmt.Errorf("stock: %w", err)
	}
	return mrr, customers, nil
}

// ASPBetween is the average new-business MRR of the new customers of
// (from, to] (rule 16), 0 without any.
func (b *Book) ASPBetween(from, to time.Time) (int64, error) {
	lo, hi := from.UnixMilli(), to.UnixMilli()
	i, _ := slices.BinarySearchFunc(b.moves, lo+1, func(m move, t int64) int { return cmp.Compare(m.at, t) })
	var ck money.Checked
	var sum, n int64
	for ; i < len(b.moves) && b.moves[i].at <= hi; i++ {
		if b.moves[i].kind == kindNewBiz {
			sum = ck.Add(sum, b.moves[i].amount)
			n++
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

// Select is the Book of the customers in keep, in the same order: a
// segment without sorting anything again.
func (b *Book) Select(keep map[int64]bool) *Book {
	in := newIDSet(keep)
	out := &Book{}
	for _, c := range b.changes {
		if in.has(c.customer) {
			out.changes = append(out.changes, c)
		}
	}
	for _, m := range b.moves {
		if in.has(m.customer) {
			out.moves = append(out.moves, m)
		}
	}
	return out
}
