package metrics

import (
	"cmp"
	"fmt"
	"math/big"
	"math/bits"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// CashBook is an account's transactions indexed for cash flow (rule 21):
// each valued once in the account currency, as CashFlow values it, and
// summed by day of the account's time zone, so that a series costs a step
// per day of its range, not one per transaction of the book. A day keeps
// its sums by class (the customer's country, the invoice's plans and
// currency), for the geo and plans filters, and its transactions, for the
// windows that cut a day and the invoices a plans filter splits.
//
// A CashBook is immutable: With returns an updated copy that rebuilds
// only the days the changed customers have transactions on, so readers of
// the old one need no lock.
//
// The figures are CashFlow's, to the cent, under two conditions: a
// foreign transaction is valued at the rate the Rates gave when it was
// added, so call Revalue with the rates in force before asking (it
// re-values the days whose rates moved); and Rates give one rate per UTC
// day, as money.RateTable does. Sums are exact (128-bit) and a figure
// beyond ±money.MaxSum is money.ErrOverflow, whatever the order of the
// transactions.
type CashBook struct {
	currency   string
	loc        *time.Location
	days       []*cashDay // by day
	classes    []cashClass
	classIndex map[string]int32
	// fx is, by foreign currency, the rate of each UTC day that its
	// transactions were valued at; nil when the Rates had none.
	fx map[string][]fxDay
}

type fxDay struct {
	day  int32 // days since 1970-01-01, UTC
	rate *big.Rat
}

// cashClass is what the filters see of a transaction: transactions of one
// class are all in a filter's view, all out of it, or (an invoice with
// lines on plans both in and out of it) each shared out pro rata.
type cashClass struct {
	country  string
	currency string   // the invoice's, when it is not the account's; "" otherwise
	lineless bool     // an invoice without lines
	planless bool     // some line has no plan
	plans    []string // the lines' plans, sorted, distinct
}

// cashDay is one day of the account's time zone.
type cashDay struct {
	day        int32      // days since 1970-01-01 of the civil date
	start, end int64      // [start, end) in Unix milliseconds
	cells      []cashCell // the items by class (and, foreign, by UTC day), in that order
	total      cashSums   // every item: the unfiltered view
	flags      uint8      // any item's overflow flags
	missing    int32      // a cell whose rate is missing and needed, −1 for none
	fails      []cashFail // the failed transactions, by time
}

// bookItem is one transaction valued in the unfiltered view.
type bookItem struct {
	at       int64 // Unix milliseconds
	customer int64
	tx       *CashTransaction
	amount   int64 // what it adds to gross, refunds or failed charges (flags say which)
	nonRec   int64
	class    int32
	flags    uint8
}

const (
	itemGross         uint8 = 1 << iota // a successful payment
	itemRefund                          // a successful refund
	itemFailed                          // a failed payment (a failed refund has no kind)
	itemPayment                         // counted in successful payments
	itemNeedRate                        // converted: its (currency, UTC day) rate is needed
	itemOverflow                        // valuing it overflowed
	itemLinesOverflow                   // its invoice's lines add up beyond MaxSum
)

// cashCell is the items of one class (and UTC day, for a foreign class)
// in a day.
type cashCell struct {
	class  int32
	utcDay int32
	items  []bookItem // by time, then customer
	sums   cashSums
	flags  uint8 // its items' flags, or-ed
}

// cashFail is a failed transaction, with the customer's failed
// transaction before it (nil for none): failed-transactions counts
// distinct customers.
type cashFail struct {
	tx, prev *CashTransaction
	class    int32
}

// appendKey appends the class's key in a book's classIndex to k.
func (c cashClass) appendKey(k []byte) []byte {
	k = append(k, c.country...)
	k = append(k, 0)
	k = append(k, c.currency...)
	k = append(k, 0)
	switch {
	case c.lineless:
		k = append(k, 'L')
	case c.planless:
		k = append(k, 'P')
	default:
		k = append(k, '-')
	}
	for _, p := range c.plans {
		k = append(k, 0)
		k = append(k, p...)
	}
	return k
}

// cashSums are a set of transactions' flows, exact.
type cashSums struct {
	gross, refunds, nonRec, failed wide
	payments                       int64
}

func (s *cashSums) addItem(it *bookItem) {
	switch {
	case it.flags&itemGross != 0:
		s.gross.add(it.amount)
		s.nonRec.add(it.nonRec)
	case it.flags&itemRefund != 0:
		s.refunds.add(it.amount)
	case it.flags&itemFailed != 0:
		s.failed.add(it.amount)
	}
	if it.flags&itemPayment != 0 {
		s.payments++
	}
}

func (s *cashSums) addSums(o *cashSums) {
	s.gross.addWide(o.gross)
	s.refunds.addWide(o.refunds)
	s.nonRec.addWide(o.nonRec)
	s.failed.addWide(o.failed)
	s.payments += o.payments
}

// addValue adds one transaction as cashValue valued it.
func (s *cashSums) addValue(c cashItem) {
	s.gross.add(c.gross)
	s.refunds.add(c.refund)
	s.nonRec.add(c.nonRec)
	s.failed.add(c.failed)
	if c.payment {
		s.payments++
	}
}

func (s *cashSums) fill(ck *money.Checked, e *CashEntry) {
	e.Gross = s.gross.int64(ck)
	e.Refunds = s.refunds.int64(ck)
	e.NonRecurring = s.nonRec.int64(ck)
	e.FailedCharges = s.failed.int64(ck)
	e.SuccessfulPayments = s.payments
}

// wide is a 128-bit integer: sums of a whole book cannot wrap it, and
// taking one out again is exact.
type wide struct {
	hi int64
	lo uint64
}

func (w *wide) add(v int64) {
	lo, c := bits.Add64(w.lo, uint64(v), 0)
	w.hi += v>>63 + int64(c)
	w.lo = lo
}

func (w *wide) addWide(o wide) {
	lo, c := bits.Add64(w.lo, o.lo, 0)
	w.hi += o.hi + int64(c)
	w.lo = lo
}

// int64 is w, noting in ck a value beyond ±money.MaxSum.
func (w wide) int64(ck *money.Checked) int64 {
	if w.hi != int64(w.lo)>>63 {
		ck.Add(money.MaxSum, money.MaxSum) // beyond int64: an overflow
		return 0
	}
	return ck.Add(0, int64(w.lo))
}

// NewCashBook is an empty book for an account currency and time zone
// (nil for UTC).
func NewCashBook(currency string, loc *time.Location) *CashBook {
	if loc == nil {
		loc = time.UTC
	}
	return &CashBook{currency: currency, loc: loc, classIndex: map[string]int32{}, fx: map[string][]fxDay{}}
}

// Fits tells whether the book was built for this currency and time zone.
func (b *CashBook) Fits(currency string, loc *time.Location) bool {
	if loc == nil {
		loc = time.UTC
	}
	return b.currency == currency && b.loc.String() == loc.String()
}

const msPerDay = 24 * 60 * 60 * 1000

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civilDay is the number of a civil date: days since 1970-01-01.
func civilDay(y int, m time.Month, d int) int32 {
	return int32(floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 24*60*60))
}

// dayStart is the instant day begins in loc, computed as periods computes
// its boundaries, so that a period is exactly a run of days.
func dayStart(day int32, loc *time.Location) int64 {
	y, m, d := time.Unix(int64(day)*24*60*60, 0).UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMilli()
}

// dayOf is the day of loc whose [start, end) holds the instant at.
func dayOf(at int64, loc *time.Location) int32 {
	y, m, d := time.UnixMilli(at).In(loc).Date()
	n := civilDay(y, m, d)
	if at < dayStart(n, loc) {
		n--
	} else if at >= dayStart(n+1, loc) {
		n++
	}
	return n
}

func utcDay(at int64) int32 { return int32(floorDiv(at, msPerDay)) }

func utcMidnight(day int32) time.Time { return time.UnixMilli(int64(day) * msPerDay).UTC() }

// foreign is a currency the book converts from.
func (b *CashBook) foreign(currency string) bool {
	return currency != "" && b.currency != "" && currency != b.currency
}

// rate is the rate the book values currency on a UTC day at, and whether
// it has one recorded.
func (b *CashBook) rate(currency string, day int32) (*big.Rat, bool) {
	ds := b.fx[currency]
	i, ok := slices.BinarySearchFunc(ds, day, func(d fxDay, day int32) int { return cmp.Compare(d.day, day) })
	if !ok {
		return nil, false
	}
	return ds[i].rate, true
}

// builder collects the classes and rates a new book adds to an old one's.
type builder struct {
	b       *CashBook // the new book
	rates   Rates
	added   map[fxKey]*big.Rat
	cloned  bool // b.classes and b.classIndex are b's own
	keyBuf  []byte
	planBuf []string
}

type fxKey struct {
	currency string
	day      int32
}

// rateFor is the rate the new book values currency on day at: the one
// recorded, else the Rates' (recorded too).
func (bd *builder) rateFor(currency string, day int32) *big.Rat {
	if r, ok := bd.b.rate(currency, day); ok {
		return r
	}
	k := fxKey{currency, day}
	if r, ok := bd.added[k]; ok {
		return r
	}
	var r *big.Rat
	if bd.rates != nil {
		if v, ok := bd.rates.Rate(currency, bd.b.currency, utcMidnight(day)); ok {
			r = v
		}
	}
	if bd.added == nil {
		bd.added = map[fxKey]*big.Rat{}
	}
	bd.added[k] = r
	return r
}

// recordedRate serves one (currency, UTC day) rate to cashValue, noting
// that it was asked for.
type recordedRate struct {
	rate  *big.Rat
	asked bool
}

func (r *recordedRate) Rate(string, string, time.Time) (*big.Rat, bool) {
	r.asked = true
	return r.rate, r.rate != nil
}

// class is the class of tx, added to the new book when new.
func (bd *builder) class(tx *CashTransaction) int32 {
	b := bd.b
	cur := ""
	if b.foreign(tx.Currency) {
		cur = tx.Currency
	}
	plans := bd.planBuf[:0]
	planless := false
	for _, l := range tx.Lines {
		if l.Plan == "" {
			planless = true
		} else if !slices.Contains(plans, l.Plan) {
			plans = append(plans, l.Plan)
		}
	}
	slices.Sort(plans)
	bd.planBuf = plans
	k := cashClass{country: tx.Country, currency: cur, lineless: len(tx.Lines) == 0, planless: planless, plans: plans}.appendKey(bd.keyBuf[:0])
	bd.keyBuf = k
	if i, ok := b.classIndex[string(k)]; ok {
		return i
	}
	if !bd.cloned {
		b.classes = slices.Clone(b.classes)
		idx := make(map[string]int32, len(b.classIndex)+1)
		for k, v := range b.classIndex {
			idx[k] = v
		}
		b.classIndex = idx
		bd.cloned = true
	}
	i := int32(len(b.classes))
	b.classes = append(b.classes, cashClass{country: tx.Country, currency: cur, lineless: len(tx.Lines) == 0,
		planless: planless, plans: slices.Clone(plans)})
	b.classIndex[string(k)] = i
	return i
}

// value is tx valued in the unfiltered view.
func (bd *builder) value(tx *CashTransaction) bookItem {
	it := bookItem{at: tx.At.UnixMilli(), customer: tx.Customer, tx: tx, class: bd.class(tx)}
	bd.b.valueItem(&it, func(day int32) *big.Rat { return bd.rateFor(tx.Currency, day) })
	return it
}

// valueItem values it with the rate of its UTC day that rateOf gives (for
// a foreign transaction).
func (b *CashBook) valueItem(it *bookItem, rateOf func(day int32) *big.Rat) {
	tx := it.tx
	var rr recordedRate
	var rates Rates
	if b.foreign(tx.Currency) {
		rr.rate = rateOf(utcDay(it.at))
		rates = &rr
	}
	var ck, lines money.Checked
	cashTotal(&lines, tx.Lines)
	c, err := cashValue(&ck, *tx, CashFilter{Currency: b.currency}, rates)
	it.amount, it.nonRec, it.flags = 0, 0, 0
	switch {
	case !tx.Successful && tx.Type == TransactionPayment:
		it.flags, it.amount = itemFailed, c.failed
	case !tx.Successful:
	case tx.Type == TransactionPayment:
		it.flags, it.amount, it.nonRec = itemGross, c.gross, c.nonRec
	case tx.Type == TransactionRefund:
		it.flags, it.amount = itemRefund, c.refund
	}
	if c.payment {
		it.flags |= itemPayment
	}
	if rr.asked {
		it.flags |= itemNeedRate
	}
	if err != nil { // a missing rate: nothing valued
		it.amount, it.nonRec = 0, 0
	}
	if ck.Err() != nil {
		it.flags |= itemOverflow
	}
	if lines.Err() != nil {
		it.flags |= itemLinesOverflow
	}
}

// With returns a book in which the customers of changed have these
// transactions instead of those of old (which must be what the book holds
// for them; a customer without transactions is removed). Transactions
// carry their customer; the book keeps pointers to them, so they must not
// change afterwards. New foreign transactions are valued with rates,
// unless the book already values their currency and UTC day. Only the
// cells of the changed customers' days and classes are rebuilt.
func (b *CashBook) With(old, changed map[int64][]CashTransaction, rates Rates) *CashBook {
	nb := &CashBook{currency: b.currency, loc: b.loc, days: b.days, classes: b.classes, classIndex: b.classIndex, fx: b.fx}
	bd := &builder{b: nb, rates: rates}
	touched := map[int32]*dayChange{}
	touch := func(d int32) *dayChange {
		ch := touched[d]
		if ch == nil {
			ch = &dayChange{dirty: map[cellKey]bool{}, added: map[cellKey][]bookItem{}}
			touched[d] = ch
		}
		return ch
	}
	for id, txs := range old {
		if _, ok := changed[id]; !ok {
			panic(fmt.Sprintf("cash book: customer %d in old, not in changed", id))
		}
		for i := range txs {
			tx := &txs[i]
			at := tx.At.UnixMilli()
			it := bookItem{at: at, class: bd.class(tx)}
			ch := touch(dayOf(at, b.loc))
			ch.dirty[nb.cellKey(&it)] = true
			ch.failsDirty = ch.failsDirty || !tx.Successful
		}
	}
	for _, txs := range changed {
		order := make([]int, len(txs))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(i, j int) int { return txs[i].At.Compare(txs[j].At) })
		var prev *CashTransaction
		for _, i := range order {
			tx := &txs[i]
			it := bd.value(tx)
			ch := touch(dayOf(it.at, b.loc))
			k := nb.cellKey(&it)
			ch.added[k] = append(ch.added[k], it)
			if !tx.Successful {
				ch.fails = append(ch.fails, cashFail{tx: tx, prev: prev, class: it.class})
				prev = tx
			}
		}
	}
	// The rates recorded for the new transactions.
	if len(bd.added) > 0 {
		fx := make(map[string][]fxDay, len(b.fx)+1)
		for c, ds := range b.fx {
			fx[c] = ds
		}
		for k, r := range bd.added {
			fx[k.currency] = append(fx[k.currency], fxDay{k.day, r})
		}
		for c := range fx {
			if len(fx[c]) != len(b.fx[c]) {
				fx[c] = slices.Clone(fx[c])
				slices.SortFunc(fx[c], func(x, y fxDay) int { return cmp.Compare(x.day, y.day) })
			}
		}
		nb.fx = fx
	}
	drop := SetOf(changed)
	days := make([]int32, 0, len(touched))
	for d := range touched {
		days = append(days, d)
	}
	slices.Sort(days)
	rebuilt := make([]*cashDay, 0, len(days))
	for _, d := range days {
		rebuilt = append(rebuilt, nb.rebuildDay(d, b.day(d), touched[d], drop))
	}
	nb.days = mergeDays(b.days, rebuilt)
	return nb
}

// dayChange is what With changes in one day.
type dayChange struct {
	dirty      map[cellKey]bool // cells with items of changed customers
	added      map[cellKey][]bookItem
	fails      []cashFail // the changed customers'
	failsDirty bool       // some changed customer had a failure that day
}

// cellKey is a cell's place in its day.
type cellKey struct{ class, utcDay int32 }

func (k cellKey) compare(o cellKey) int {
	return cmp.Or(cmp.Compare(k.class, o.class), cmp.Compare(k.utcDay, o.utcDay))
}

func (c *cashCell) key() cellKey { return cellKey{c.class, c.utcDay} }

// cellKey is the cell an item belongs in: its class, and for a foreign
// one the UTC day whose rate values it.
func (b *CashBook) cellKey(it *bookItem) cellKey {
	if b.classes[it.class].currency == "" {
		return cellKey{it.class, 0}
	}
	return cellKey{it.class, utcDay(it.at)}
}

// rebuildDay is day d of the new book: old (nil when none) with the
// changed customers' items taken out of their cells and the new ones put
// in; the other cells are shared with old.
func (b *CashBook) rebuildDay(d int32, old *cashDay, ch *dayChange, drop *Set) *cashDay {
	newKeys := make([]cellKey, 0, len(ch.added))
	for k := range ch.added {
		newKeys = append(newKeys, k)
	}
	slices.SortFunc(newKeys, cellKey.compare)
	var oldCells []cashCell
	var fails []cashFail
	if old != nil {
		oldCells = old.cells
		fails = old.fails
		if ch.failsDirty {
			fails = slices.DeleteFunc(slices.Clone(fails), func(f cashFail) bool { return drop.Has(f.tx.Customer) })
		}
	}
	cells := make([]cashCell, 0, len(oldCells)+len(newKeys))
	put := func(k cellKey, kept []bookItem) {
		c := b.buildCell(k, kept, ch.added[k])
		if len(c.items) > 0 {
			cells = append(cells, c)
		}
	}
	j := 0
	for _, c := range oldCells {
		k := c.key()
		for ; j < len(newKeys) && newKeys[j].compare(k) < 0; j++ {
			put(newKeys[j], nil)
		}
		_, add := ch.added[k]
		if j < len(newKeys) && newKeys[j] == k {
			j++
		}
		if !add && !ch.dirty[k] {
			cells = append(cells, c) // untouched: shared
			continue
		}
		kept := c.items
		if ch.dirty[k] {
			kept = slices.DeleteFunc(slices.Clone(kept), func(it bookItem) bool { return drop.Has(it.customer) })
		}
		put(k, kept)
	}
	for ; j < len(newKeys); j++ {
		put(newKeys[j], nil)
	}
	if len(ch.fails) > 0 {
		fails = append(slices.Clip(fails), ch.fails...)
		slices.SortStableFunc(fails, func(x, y cashFail) int {
			return cmp.Or(x.tx.At.Compare(y.tx.At), cmp.Compare(x.tx.Customer, y.tx.Customer))
		})
	}
	return b.newDay(d, cells, fails)
}

// buildCell is a cell of kept items (in order) and added ones (in any
// order).
func (b *CashBook) buildCell(k cellKey, kept, added []bookItem) cashCell {
	order := func(x, y bookItem) int { return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.customer, y.customer)) }
	slices.SortFunc(added, order)
	c := cashCell{class: k.class, utcDay: k.utcDay, items: kept}
	if len(added) > 0 {
		c.items = make([]bookItem, 0, len(kept)+len(added))
		j := 0
		for _, it := range kept {
			for ; j < len(added) && order(added[j], it) < 0; j++ {
				c.items = append(c.items, added[j])
			}
			c.items = append(c.items, it)
		}
		c.items = append(c.items, added[j:]...)
	}
	for i := range c.items {
		c.sums.addItem(&c.items[i])
		c.flags |= c.items[i].flags
	}
	return c
}

// newDay is a day of these cells (in order) and failures.
func (b *CashBook) newDay(d int32, cells []cashCell, fails []cashFail) *cashDay {
	day := &cashDay{day: d, start: dayStart(d, b.loc), end: dayStart(d+1, b.loc), cells: cells, fails: fails, missing: -1}
	for i := range cells {
		c := &cells[i]
		day.total.addSums(&c.sums)
		day.flags |= c.flags
		if cur := b.classes[c.class].currency; c.flags&itemNeedRate != 0 && day.missing < 0 {
			if r, _ := b.rate(cur, c.utcDay); r == nil {
				day.missing = int32(i)
			}
		}
	}
	return day
}

// day is the book's day d, nil when it has no transactions.
func (b *CashBook) day(d int32) *cashDay {
	i, ok := slices.BinarySearchFunc(b.days, d, func(x *cashDay, d int32) int { return cmp.Compare(x.day, d) })
	if !ok {
		return nil
	}
	return b.days[i]
}

// mergeDays replaces the days of old that rebuilt has (both by day),
// leaving out the empty ones.
func mergeDays(old, rebuilt []*cashDay) []*cashDay {
	out := make([]*cashDay, 0, len(old)+len(rebuilt))
	j := 0
	for _, d := range old {
		for ; j < len(rebuilt) && rebuilt[j].day < d.day; j++ {
			if len(rebuilt[j].cells) > 0 {
				out = append(out, rebuilt[j])
			}
		}
		if j < len(rebuilt) && rebuilt[j].day == d.day {
			if len(rebuilt[j].cells) > 0 {
				out = append(out, rebuilt[j])
			}
			j++
			continue
		}
		out = append(out, d)
	}
	for ; j < len(rebuilt); j++ {
		if len(rebuilt[j].cells) > 0 {
			out = append(out, rebuilt[j])
		}
	}
	return out
}

// Revalue returns the book with the foreign transactions of the UTC days
// around [from, to] valued at rates, where the rates differ from those
// the book used (or the book itself when none do): after it, the book's
// figures over that span are CashFlow's with rates.
func (b *CashBook) Revalue(rates Rates, from, to time.Time) *CashBook {
	lo, hi := utcDay(from.UnixMilli())-1, utcDay(to.UnixMilli())+1
	var stale map[fxKey]*big.Rat
	for cur, ds := range b.fx {
		i, _ := slices.BinarySearchFunc(ds, lo, func(d fxDay, day int32) int { return cmp.Compare(d.day, day) })
		for ; i < len(ds) && ds[i].day <= hi; i++ {
			var now *big.Rat
			if rates != nil {
				if r, ok := rates.Rate(cur, b.currency, utcMidnight(ds[i].day)); ok {
					now = r
				}
			}
			if (now == nil) != (ds[i].rate == nil) || (now != nil && now.Cmp(ds[i].rate) != 0) {
				if stale == nil {
					stale = map[fxKey]*big.Rat{}
				}
				stale[fxKey{cur, ds[i].day}] = now
			}
		}
	}
	if stale == nil {
		return b
	}
	nb := &CashBook{currency: b.currency, loc: b.loc, classes: b.classes, classIndex: b.classIndex}
	nb.fx = make(map[string][]fxDay, len(b.fx))
	for cur, ds := range b.fx {
		nb.fx[cur] = ds
	}
	// Local days overlapping each stale UTC day.
	touched := map[int32]bool{}
	for k := range stale {
		ds := slices.Clone(nb.fx[k.currency])
		for i := range ds {
			if r, ok := stale[fxKey{k.currency, ds[i].day}]; ok {
				ds[i].rate = r
			}
		}
		nb.fx[k.currency] = ds
		start := int64(k.day) * msPerDay
		for d := dayOf(start, b.loc); d <= dayOf(start+msPerDay-1, b.loc); d++ {
			touched[d] = true
		}
	}
	var rebuilt []*cashDay
	for _, od := range b.days {
		if !touched[od.day] {
			continue
		}
		cells := slices.Clone(od.cells)
		for ci, c := range cells {
			r, ok := stale[fxKey{b.classes[c.class].currency, c.utcDay}]
			if !ok || b.classes[c.class].currency == "" {
				continue
			}
			items := slices.Clone(c.items)
			for i := range items {
				nb.valueItem(&items[i], func(int32) *big.Rat { return r })
			}
			cells[ci] = nb.buildCell(c.key(), items, nil)
		}
		rebuilt = append(rebuilt, nb.newDay(od.day, cells, od.fails))
	}
	nb.days = mergeDays(b.days, rebuilt)
	return nb
}

// Class states in a filter's view.
const (
	viewOutGeo uint8 = iota // the geo filter leaves it out
	viewOut                 // the plans filter sees none of its lines
	viewIn                  // seen whole
	viewSplit               // seen in part: each transaction valued in the view
)

// view is each class's state in f's view, nil when f filters nothing.
func (b *CashBook) view(f CashFilter) []uint8 {
	if f.Geo == nil && f.Plans == nil {
		return nil
	}
	out := make([]uint8, len(b.classes))
	for i, c := range b.classes {
		switch {
		case f.Geo != nil && !f.Geo[c.country]:
			out[i] = viewOutGeo
		case f.Plans == nil:
			out[i] = viewIn
		case c.lineless:
			out[i] = viewOut
		default:
			some, all := false, !c.planless
			for _, p := range c.plans {
				if f.Plans[p] {
					some = true
				} else {
					all = false
				}
			}
			switch {
			case all:
				out[i] = viewIn
			case some:
				out[i] = viewSplit
			default:
				out[i] = viewOut
			}
		}
	}
	return out
}

// missingRate is the error for a cell whose rate is needed and missing.
func (b *CashBook) missingRate(c *cashCell) error {
	return &MissingRateError{From: b.classes[c.class].currency, To: b.currency, Day: utcMidnight(c.utcDay)}
}

func (b *CashBook) itemMissing(it *bookItem) error {
	if it.flags&itemNeedRate == 0 {
		return nil
	}
	cur := b.classes[it.class].currency
	if r, _ := b.rate(cur, utcDay(it.at)); r == nil {
		return &MissingRateError{From: cur, To: b.currency, Day: utcMidnight(utcDay(it.at))}
	}
	return nil
}

// cashAcc sums one entry of a request.
type cashAcc struct {
	sums   cashSums
	failed int64
	seen   map[int64]bool // customers counted in failed, under a filter
}

// query is one request's walk over the book.
type cashQuery struct {
	b     *CashBook
	f     CashFilter
	view  []uint8
	rates Rates
	ck    money.Checked
	err   error // the first missing rate
}

func (q *cashQuery) fail(err error) {
	if q.err == nil {
		q.err = err
	}
}

// fullDay adds a day wholly inside an entry. from is the entry's start;
// the window's failures before it count elsewhere.
func (q *cashQuery) fullDay(d *cashDay, acc *cashAcc, inWindow func(t time.Time) bool) {
	if q.view == nil {
		if d.missing >= 0 {
			q.fail(q.b.missingRate(&d.cells[d.missing]))
		}
		if d.flags&(itemOverflow|itemLinesOverflow) != 0 {
			q.ck.Add(money.MaxSum, money.MaxSum)
		}
		acc.sums.addSums(&d.total)
		for _, f := range d.fails {
			// A customer's first failure in the window counts.
			if f.prev == nil || !inWindow(f.prev.At) {
				acc.failed++
			}
		}
		return
	}
	for ci := range d.cells {
		c := &d.cells[ci]
		switch q.view[c.class] {
		case viewOut:
			if c.flags&itemLinesOverflow != 0 {
				q.ck.Add(money.MaxSum, money.MaxSum)
			}
		case viewIn:
			if c.flags&itemNeedRate != 0 {
				if r, _ := q.b.rate(q.b.classes[c.class].currency, c.utcDay); r == nil {
					q.fail(q.b.missingRate(c))
				}
			}
			if c.flags&(itemOverflow|itemLinesOverflow) != 0 {
				q.ck.Add(money.MaxSum, money.MaxSum)
			}
			acc.sums.addSums(&c.sums)
		case viewSplit:
			for i := range c.items {
				q.split(&c.items[i], acc)
			}
		}
	}
	q.fails(d, acc, nil)
}

// split values a transaction of a class the filter splits, as CashFlow does.
func (q *cashQuery) split(it *bookItem, acc *cashAcc) {
	c, err := cashValue(&q.ck, *it.tx, q.f, q.rates)
	if err != nil {
		q.fail(err)
		return
	}
	acc.sums.addValue(c)
}

// fails counts, under a filter, the customers with a failure in view (and
// in the window, when keep is not nil).
func (q *cashQuery) fails(d *cashDay, acc *cashAcc, keep func(t time.Time) bool) {
	for _, f := range d.fails {
		if q.view[f.class] < viewIn || (keep != nil && !keep(f.tx.At)) {
			continue
		}
		if acc.seen == nil {
			acc.seen = map[int64]bool{}
		}
		if !acc.seen[f.tx.Customer] {
			acc.seen[f.tx.Customer] = true
			acc.failed++
		}
	}
}

// partDay adds the transactions of a day that keep keeps.
func (q *cashQuery) partDay(d *cashDay, acc *cashAcc, keep func(t time.Time) bool) {
	for ci := range d.cells {
		c := &d.cells[ci]
		state := viewIn
		if q.view != nil {
			state = q.view[c.class]
		}
		if state == viewOutGeo {
			continue
		}
		for i := range c.items {
			it := &c.items[i]
			if !keep(it.tx.At) {
				continue
			}
			switch state {
			case viewOut:
				if it.flags&itemLinesOverflow != 0 {
					q.ck.Add(money.MaxSum, money.MaxSum)
				}
			case viewIn:
				if err := q.b.itemMissing(it); err != nil {
					q.fail(err)
				}
				if it.flags&(itemOverflow|itemLinesOverflow) != 0 {
					q.ck.Add(money.MaxSum, money.MaxSum)
				}
				acc.sums.addItem(it)
			case viewSplit:
				q.split(it, acc)
			}
		}
	}
	if q.view != nil {
		q.fails(d, acc, keep)
		return
	}
	for _, f := range d.fails {
		if keep(f.tx.At) && (f.prev == nil || !keep(f.prev.At)) {
			acc.failed++
		}
	}
}

func (q *cashQuery) entry(acc *cashAcc) CashEntry {
	var e CashEntry
	acc.sums.fill(&q.ck, &e)
	e.FailedTransactions = acc.failed
	return e
}

func (b *CashBook) check(f CashFilter, loc *time.Location) error {
	if !b.Fits(f.Currency, loc) {
		return fmt.Errorf("cash flow: the book is in %s, %s; asked for %s, %v", b.currency, b.loc, f.Currency, loc)
	}
	return nil
}

// Flow is CashFlow over the book's transactions (see Revalue). r's
// location and f's currency must be the book's.
func (b *CashBook) Flow(r SeriesRequest, f CashFilter, rates Rates) ([]CashEntry, error) {
	ps, err := periods(r)
	if err != nil {
		return nil, err
	}
	if err := b.check(f, r.Location); err != nil {
		return nil, err
	}
	q := &cashQuery{b: b, f: f, view: b.view(f), rates: rates}
	out := make([]CashEntry, len(ps))
	from := ps[0].from.UnixMilli()
	i, _ := slices.BinarySearchFunc(b.days, from, func(d *cashDay, t int64) int { return cmp.Compare(d.start, t) })
	for pi, p := range ps {
		var acc cashAcc
		to := p.to.UnixMilli()
		inPeriod := func(t time.Time) bool { return !t.Before(p.from) && t.Before(p.to) }
		for ; i < len(b.days) && b.days[i].start < to; i++ {
			q.fullDay(b.days[i], &acc, inPeriod)
		}
		out[pi] = q.entry(&acc)
		out[pi].Date = p.date
	}
	if q.err != nil {
		return nil, q.err
	}
	if err := q.ck.Err(); err != nil {
		return nil, fmt.Errorf("cash flow: %w", err)
	}
	return out, nil
}

// Between is CashFlowBetween over the book's transactions: the flows of
// (from, to].
func (b *CashBook) Between(from, to time.Time, f CashFilter, rates Rates) (CashEntry, error) {
	if err := b.check(f, b.loc); err != nil {
		return CashEntry{}, err
	}
	q := &cashQuery{b: b, f: f, view: b.view(f), rates: rates}
	var acc cashAcc
	inWindow := func(t time.Time) bool { return t.After(from) && !t.After(to) }
	// The days that may hold an instant of (from, to].
	i, _ := slices.BinarySearchFunc(b.days, from.UnixMilli(), func(d *cashDay, t int64) int { return cmp.Compare(d.end, t) })
	for ; i < len(b.days) && b.days[i].start <= to.UnixMilli(); i++ {
		d := b.days[i]
		if time.UnixMilli(d.start).After(from) && !time.UnixMilli(d.end).After(to.Add(time.Nanosecond)) {
			q.fullDay(d, &acc, inWindow)
		} else {
			q.partDay(d, &acc, inWindow)
		}
	}
	if q.err != nil {
		return CashEntry{}, q.err
	}
	e := q.entry(&acc)
	if err := q.ck.Err(); err != nil {
		return CashEntry{}, fmt.Errorf("cash flow: %w", err)
	}
	return e, nil
}
