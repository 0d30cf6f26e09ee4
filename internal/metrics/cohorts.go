package metrics

import (
	"cmp"
	"fmt"
	"iter"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/tally-analytics/tally/internal/money"
)

// Cohorts are the retention cohorts (see Retention) of the windows asked
// for so far, summed over an account's customers by country: a window is
// one pass over the customers the first time it is asked for, then a step
// per entry, and a changed customer costs a step per window kept rather
// than a pass over the book. The windows of a series are its periods
// (from its start to its end) and the twelve months up to each period's
// end; a series by month over five years has 120, and the next month's
// series shares all but two of them.
//
// Cohorts are immutable: With and Add return updated copies, so readers
// of old ones need no lock. Sums are exact (128-bit) and a figure beyond
// ±money.MaxSum is money.ErrOverflow, whatever the order of the
// customers.
type Cohorts struct {
	countries    []string // by index, append-only
	countryIndex map[string]int32
	windows      map[cohortWindow][]cohortSums // by country index; nothing past the end
}

// cohortWindow is a cohort's [from, to) in Unix milliseconds: the
// customers at from, followed to to.
type cohortWindow struct{ from, to int64 }

// cohortSums are one window's figures over some customers: cohort's,
// and the churn and contraction of the window (of every customer).
type cohortSums struct {
	startMRR, endMRR, keptMRR, losses wide
	startCustomers, kept              int64
}

func (s *cohortSums) addSums(o *cohortSums) {
	s.startMRR.addWide(o.startMRR)
	s.endMRR.addWide(o.endMRR)
	s.keptMRR.addWide(o.keptMRR)
	s.losses.addWide(o.losses)
	s.startCustomers += o.startCustomers
	s.kept += o.kept
}

func (s cohortSums) zero() bool { return s == cohortSums{} }

// cohort is s as Retention's integer sums.
func (s *cohortSums) cohort(ck *money.Checked) cohort {
	return cohort{startMRR: s.startMRR.int64(ck), endMRR: s.endMRR.int64(ck), keptMRR: s.keptMRR.int64(ck),
		startCustomers: s.startCustomers, kept: s.kept}
}

func (w *wide) sub(v int64) {
	lo, b := bits.Sub64(w.lo, uint64(v), 0)
	w.hi -= v>>63 + int64(b)
	w.lo = lo
}

// addSigned adds v, or takes it away when neg.
func (w *wide) addSigned(v int64, neg bool) {
	if neg {
		w.sub(v)
	} else {
		w.add(v)
	}
}

func (w wide) minus(o wide) wide {
	lo, b := bits.Sub64(w.lo, o.lo, 0)
	return wide{hi: w.hi - o.hi - int64(b), lo: lo}
}

// NewCohorts is a Cohorts without windows.
func NewCohorts() *Cohorts {
	return &Cohorts{countryIndex: map[string]int32{}, windows: map[cohortWindow][]cohortSums{}}
}

// Windows is the number of windows held.
func (c *Cohorts) Windows() int { return len(c.windows) }

// Cells is the number of (window, country) sums held: the memory they take.
func (c *Cohorts) Cells() int { return len(c.windows) * len(c.countries) }

// retentionWindows are the windows of r's entries: each period's, and
// the twelve months up to each period's end.
func retentionWindows(r SeriesRequest) ([]period, []cohortWindow, []cohortWindow, error) {
	ps, err := periods(r)
	if err != nil {
		return nil, nil, nil, err
	}
	own, trailing := make([]cohortWindow, len(ps)), make([]cohortWindow, len(ps))
	for i, p := range ps {
		own[i] = cohortWindow{p.from.UnixMilli(), p.to.UnixMilli()}
		trailing[i] = cohortWindow{addMonths(p.to, -12).UnixMilli(), p.to.UnixMilli()}
	}
	return ps, own, trailing, nil
}

// Retention is the function Retention over the customers whose countries
// are in geo (nil for all), from the windows held; ok is false when some
// window of r is not held (see Add).
func (c *Cohorts) Retention(r SeriesRequest, geo map[string]bool) (entries []RetentionEntry, ok bool, err error) {
	ps, own, trailing, err := retentionWindows(r)
	if err != nil {
		return nil, false, err
	}
	var in []bool // by country index
	if geo != nil {
		in = make([]bool, len(c.countries))
		for i, country := range c.countries {
			in[i] = geo[country]
		}
	}
	sum := func(w cohortWindow) (cohortSums, bool) {
		cs, ok := c.windows[w]
		var s cohortSums
		for i := range cs {
			if in == nil || in[i] {
				s.addSums(&cs[i])
			}
		}
		return s, ok
	}
	var ck money.Checked
	out := make([]RetentionEntry, len(ps))
	for i := range ps {
		p, ok1 := sum(own[i])
		t, ok2 := sum(trailing[i])
		if !ok1 || !ok2 {
			return nil, false, nil
		}
		e := &out[i]
		e.Date = ps[i].date
		period := p.cohort(&ck)
		if base := period.startMRR; base > 0 {
			e.GrossMRRChurnRate = float64(percentHundredths(&ck, p.losses.int64(&ck), base)) / 100
		}
		e.NetMRRRetention, e.GrossMRRRetention, e.CustomerRetention = period.rates(&ck)
		tc := t.cohort(&ck)
		e.NetMRRRetentionT12M, e.GrossMRRRetentionT12M, e.CustomerRetentionT12M = tc.rates(&ck)
	}
	if err := ck.Err(); err != nil {
		return nil, false, fmt.Errorf("retention: %w", err)
	}
	return out, true, nil
}

// Add returns the cohorts with the windows of r that they lack, computed
// over customers (every customer of the book, by country), or c itself
// when they lack none.
func (c *Cohorts) Add(r SeriesRequest, customers iter.Seq2[string, History]) (*Cohorts, error) {
	_, own, trailing, err := retentionWindows(r)
	if err != nil {
		return nil, err
	}
	var ws []cohortWindow
	for _, w := range slices.Concat(own, trailing) {
		if _, ok := c.windows[w]; !ok && !slices.Contains(ws, w) {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return c, nil
	}
	nc := c.clone()
	type counted struct {
		country int32
		h       History
	}
	var all []counted
	for country, h := range customers {
		all = append(all, counted{nc.country(country), h})
	}
	// A pass over a large book is split among the processors: each part
	// sums its customers, and the parts' sums (exact) are added up, so
	// the figures are the same however the book is split.
	parts := cohortParts(len(all))
	partSums := make([][][]cohortSums, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			sums := make([][]cohortSums, len(ws))
			walk := newCohortWalk(ws)
			for _, x := range all[p*len(all)/parts : (p+1)*len(all)/parts] {
				walk.add(sums, x.country, x.h, false)
			}
			partSums[p] = sums
		})
	}
	wg.Wait()
	sums := partSums[0]
	for _, more := range partSums[1:] {
		for i := range sums {
			sums[i] = pad(sums[i], len(more[i]))
			for k := range more[i] {
				sums[i][k].addSums(&more[i][k])
			}
		}
	}
	for i, w := range ws {
		nc.windows[w] = sums[i] // countries past its end have nothing
	}
	return nc, nil
}

// cohortParts is the parts a pass over n customers is split in: one per
// 10,000 customers, at most one per processor (tests change it).
var cohortParts = func(n int) int { return max(1, min(runtime.GOMAXPROCS(0), 8, n/10000)) }

// With returns the cohorts with the customers of changed counted instead
// of what old says they were (both by customer; a customer new to the book
// is not in old, one that left has an empty history in changed).
func (c *Cohorts) With(old, changed map[int64]CohortCustomer) *Cohorts {
	if len(c.windows) == 0 {
		return c
	}
	ws := make([]cohortWindow, 0, len(c.windows))
	for w := range c.windows {
		ws = append(ws, w)
	}
	nc := c.clone()
	delta := make([][]cohortSums, len(ws))
	walk := newCohortWalk(ws)
	for _, o := range old {
		walk.add(delta, nc.country(o.Country), o.History, true)
	}
	for _, n := range changed {
		walk.add(delta, nc.country(n.Country), n.History, false)
	}
	for i, w := range ws {
		if len(delta[i]) == 0 {
			continue // nothing changed: shared with c
		}
		next := pad(slices.Clone(c.windows[w]), len(delta[i]))
		for k := range delta[i] {
			next[k].addSums(&delta[i][k])
		}
		nc.windows[w] = next
	}
	return nc
}

// CohortCustomer is a customer as Cohorts count it.
type CohortCustomer struct {
	Country string
	History History
}

func pad(cs []cohortSums, n int) []cohortSums {
	for len(cs) < n {
		cs = append(cs, cohortSums{})
	}
	return cs
}

// clone is c with its own map of windows and of countries (the sums are
// shared until replaced).
func (c *Cohorts) clone() *Cohorts {
	nc := &Cohorts{countries: slices.Clip(c.countries), countryIndex: c.countryIndex,
		windows: make(map[cohortWindow][]cohortSums, len(c.windows))}
	for w, cs := range c.windows {
		nc.windows[w] = cs
	}
	return nc
}

// country is the index of a country, added when new.
func (c *Cohorts) country(name string) int32 {
	if i, ok := c.countryIndex[name]; ok {
		return i
	}
	idx := make(map[string]int32, len(c.countryIndex)+1)
	for k, v := range c.countryIndex {
		idx[k] = v
	}
	i := int32(len(c.countries))
	c.countries = append(c.countries, name)
	idx[name] = i
	c.countryIndex = idx
	return i
}

// cohortWalk computes customers' contributions to a set of windows: one
// walk over a customer's timeline and movements for all of them.
type cohortWalk struct {
	ws       []cohortWindow
	instants []int64 // every from and to, sorted, distinct
	from, to []int   // each window's instants, as indices
	state    []Point // a customer's state just before each instant
	lost     []wide  // its churn and contraction before each instant
	losses   []lossAt
}

type lossAt struct {
	at     int64
	amount int64
}

func newCohortWalk(ws []cohortWindow) *cohortWalk {
	w := &cohortWalk{ws: ws, from: make([]int, len(ws)), to: make([]int, len(ws))}
	for _, x := range ws {
		w.instants = append(w.instants, x.from, x.to)
	}
	slices.Sort(w.instants)
	w.instants = slices.Compact(w.instants)
	for i, x := range ws {
		w.from[i], _ = slices.BinarySearch(w.instants, x.from)
		w.to[i], _ = slices.BinarySearch(w.instants, x.to)
	}
	w.state, w.lost = make([]Point, len(w.instants)), make([]wide, len(w.instants))
	return w
}

// add adds a customer's contribution to sums (by window, then country),
// or takes it away when neg.
func (w *cohortWalk) add(sums [][]cohortSums, country int32, h History, neg bool) {
	w.losses = w.losses[:0]
	for _, m := range h.Movements {
		if m.Type == Churn || m.Type == Contraction {
			w.losses = append(w.losses, lossAt{m.At.UnixMilli(), m.Amount})
		}
	}
	if !slices.IsSortedFunc(w.losses, func(x, y lossAt) int { return cmp.Compare(x.at, y.at) }) {
		slices.SortFunc(w.losses, func(x, y lossAt) int { return cmp.Compare(x.at, y.at) })
	}
	var cur Point
	var lost wide
	j, m := 0, 0
	for k, t := range w.instants {
		for j < len(h.Timeline) && h.Timeline[j].At.UnixMilli() < t {
			cur = h.Timeline[j]
			j++
		}
		for ; m < len(w.losses) && w.losses[m].at < t; m++ {
			lost.sub(w.losses[m].amount) // a loss is a negative movement
		}
		w.state[k], w.lost[k] = cur, lost
	}
	for i := range w.ws {
		start, end := w.state[w.from[i]], w.state[w.to[i]]
		var d cohortSums
		if l := w.lost[w.to[i]].minus(w.lost[w.from[i]]); l != (wide{}) {
			d.losses = l
			if neg {
				d.losses = wide{}.minus(l)
			}
		}
		if start.Active {
			d.startCustomers = 1
			d.startMRR.addSigned(start.MRR, neg)
			d.endMRR.addSigned(end.MRR, neg)
			d.keptMRR.addSigned(min(end.MRR, start.MRR), neg)
			if end.Active {
				d.kept = 1
			}
			if neg {
				d.startCustomers, d.kept = -d.startCustomers, -d.kept
			}
		}
		if d.zero() {
			continue
		}
		if int(country) >= len(sums[i]) {
			sums[i] = pad(sums[i], int(country)+1)
		}
		sums[i][country].addSums(&d)
	}
}
