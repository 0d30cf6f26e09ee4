package api

import (
	"cmp"
	"context"
	"maps"
	"math/bits"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/segment"
	"github.com/tally-analytics/tally/internal/store"
)

// selection is which customers a request asks about: a CFL filter (the
// filters parameter and a saved segment together), and the older geo and
// plans parameters, all joined by AND. The zero selection is every
// customer.
type selection struct {
	filter *segment.Filter // nil: no CFL condition
	geo    map[string]bool // nil: every country
	plans  map[string]bool // nil: every plan
}

func (s selection) all() bool { return s.filter == nil && s.geo == nil && s.plans == nil }

// key names the selection in the account's segment cache: equal
// selections have equal keys.
func (s selection) key() string {
	var b strings.Builder
	if s.filter != nil {
		b.WriteString(s.filter.String())
	}
	for _, m := range []map[string]bool{s.geo, s.plans} {
		b.WriteString("\x00")
		if m != nil {
			b.WriteString(strings.Join(slices.Sorted(maps.Keys(m)), ","))
		} else {
			b.WriteString("*")
		}
	}
	return b.String()
}

// view is the plans the selection looks at customers through (metrics.md
// rule 19): the plans parameter's and the filter's plan conditions, both
// when both are given; nil when neither is.
func (s selection) view() map[string]bool {
	var fv map[string]bool
	if s.filter != nil {
		fv = s.filter.Plans()
	}
	switch {
	case fv == nil:
		return s.plans
	case s.plans == nil:
		return fv
	}
	both := map[string]bool{}
	for p := range fv {
		if s.plans[p] {
			both[p] = true
		}
	}
	return both
}

// parseSelection reads filters, segment, geo and plans.
func (a *API) parseSelection(r *http.Request) (selection, error) {
	var sel selection
	var err error
	if sel.geo, err = parseGeo(r); err != nil {
		return sel, err
	}
	if sel.plans, err = a.parsePlans(r); err != nil {
		return sel, err
	}
	f, err := a.parseFilters(r)
	sel.filter = f
	return sel, err
}

// parseFilters reads filters (CFL) and segment (a saved segment's UUID),
// joined by AND; nil when neither is given.
func (a *API) parseFilters(r *http.Request) (*segment.Filter, error) {
	q := r.URL.Query()
	var fs []*segment.Filter
	if v := q.Get("filters"); v != "" {
		f, err := a.compileFilters(r.Context(), account(r), v)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	if id := q.Get("segment"); id != "" {
		f, err := a.savedSegmentFilter(r.Context(), account(r), id)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		return nil, nil
	}
	return segment.All(fs...), nil
}

// filteredCustomers are the customers the request's filters and segment
// select, in id order, for a list's restriction: nil when it has neither.
// A plan condition selects the customers with a plan in its view; their
// activities are listed as stored, whole (docs/segments.md).
func (a *API) filteredCustomers(r *http.Request) ([]int64, error) {
	f, err := a.parseFilters(r)
	if err != nil || f == nil {
		return nil, err
	}
	sel, err := a.selectFor(r, selection{filter: f})
	if err != nil {
		return nil, err
	}
	return sel.customerIDs(), nil
}

// segState is what one selection holds of an account's customers, kept
// current customer by customer: after a write only the customers it
// changed are looked at again.
type segState struct {
	results stamp     // the account's results it reflects
	until   time.Time // a timed filter's answer holds until then
	// members are the customers in the selection seen whole.
	members *memberBits
	// mixed are the members with plans on both sides of the view,
	// aggregated again through it (rule 19), and mixedBook their Book.
	mixed     map[int64]metrics.History
	mixedBook *metrics.Book
	set       *metrics.Set // members, for series over the account's Book
	used      uint64       // for eviction
	// ids are the members and mixed ones, in order, worked out when a
	// list first asks.
	idsOnce sync.Once
	ids     []int64
}

// maxSegStates bounds the selections an account keeps: each holds a bit
// per customer and the histories of its mixed customers.
const maxSegStates = 32

// selected is a selection's customers, current as of the request.
type selected struct {
	all   *metrics.Book
	cs    []*cachedCustomer // every customer of the account
	every bool              // no selection: every customer
	st    *segState         // nil when every
}

// parts are the Books and members a series over the selection sums.
func (s selected) parts() []metrics.Part {
	if s.every {
		return []metrics.Part{{Book: s.all}}
	}
	ps := []metrics.Part{{Book: s.all, Keep: s.st.set}}
	if len(s.st.mixed) > 0 {
		ps = append(ps, metrics.Part{Book: s.st.mixedBook})
	}
	return ps
}

// selects tells whether the customer is in the selection (whole or
// through the plan view).
func (s selected) selects(id int64) bool {
	if s.every {
		return true
	}
	_, mixed := s.st.mixed[id]
	return s.st.members.has(id) || mixed
}

// history is the customer's history as the selection sees it; false when
// the selection leaves it out.
func (s selected) history(c *cachedCustomer) (metrics.History, bool) {
	if s.every || s.st.members.has(c.id) {
		return c.history, true
	}
	h, ok := s.st.mixed[c.id]
	return h, ok
}

// histories are the selection's customers' histories, as the selection
// sees them.
func (s selected) histories() []metrics.History {
	out := make([]metrics.History, 0, len(s.cs))
	for _, c := range s.cs {
		if h, ok := s.history(c); ok {
			out = append(out, h)
		}
	}
	return out
}

// customerIDs are the selection's customers in id order, nil for every
// customer (the store lists' restriction).
func (s selected) customerIDs() []int64 {
	if s.every {
		return nil
	}
	st := s.st
	st.idsOnce.Do(func() {
		st.ids = st.members.ids()
		if len(st.mixed) > 0 {
			for id := range st.mixed {
				st.ids = append(st.ids, id)
			}
			slices.Sort(st.ids)
		}
	})
	return st.ids
}

// selectCustomers works out the selection's customers from the results
// cache, reusing what an earlier request with the same selection found.
func (c *resultsCache) selectCustomers(ctx context.Context, s *store.Store, acct int64, settings metrics.Settings,
	loc *time.Location, sel selection) (selected, error) {
	ar := c.account(acct)
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if err := ar.refresh(ctx, s, acct); err != nil {
		return selected{}, err
	}
	out := selected{all: ar.book, cs: ar.customerList()}
	if sel.all() {
		out.every = true
		return out, nil
	}
	key := sel.key()
	if ar.segments == nil {
		ar.segments = map[string]*segState{}
	}
	ar.used++
	now := time.Now()
	old := ar.segments[key]
	st, err := ar.selectFrom(old, sel, settings, now.In(loc))
	if err != nil {
		return selected{}, err
	}
	st.used = ar.used
	if strings.Contains(key, "plan_group~ALL") {
		// Its key names the groups, not their plans, and a group's plans
		// change without any customer's results: not kept.
		out.st = st
		return out, nil
	}
	if old == nil && len(ar.segments) >= maxSegStates {
		// The least recently used goes.
		var lru string
		for k, s := range ar.segments {
			if lru == "" || s.used < ar.segments[lru].used {
				lru = k
			}
		}
		delete(ar.segments, lru)
	}
	ar.segments[key] = st
	out.st = st
	return out, nil
}

// selectFrom brings old (nil for none) up to the account's current
// results: whole when the account's customers were replaced or a timed
// answer ran out, otherwise for the customers changed since.
func (ar *accountResults) selectFrom(old *segState, sel selection, settings metrics.Settings, now time.Time) (*segState, error) {
	if old != nil && old.results == ar.results && (old.until.IsZero() || now.Before(old.until)) {
		return old, nil
	}
	timed := sel.filter != nil && sel.filter.Timed()
	full := old == nil || old.results.resets != ar.results.resets || !old.results.loaded ||
		(timed && !now.Before(old.until))
	st := &segState{results: ar.results, members: &memberBits{}, mixed: map[int64]metrics.History{}}
	changedMixed := map[int64]metrics.History{}
	var look []*cachedCustomer
	if full {
		look = ar.customerList()
	} else {
		st.members = old.members.clone()
		maps.Copy(st.mixed, old.mixed)
		st.until = old.until
		for _, cc := range ar.customers {
			if cc.version > old.results.version {
				look = append(look, cc)
				st.members.remove(cc.id)
				if _, was := st.mixed[cc.id]; was {
					delete(st.mixed, cc.id)
					changedMixed[cc.id] = metrics.History{} // removed unless found again
				}
			}
		}
	}
	view := sel.view()
	settings.Plans = view
	for _, cc := range look {
		if timed {
			if next := cc.nextChange(now); !next.IsZero() && (st.until.IsZero() || next.Before(st.until)) {
				st.until = next
			}
		}
		if sel.geo != nil && !sel.geo[cc.country] {
			continue
		}
		if sel.filter != nil {
			f := cc.factsAt(now)
			if !sel.filter.Match(&f) {
				continue
			}
		}
		if view == nil {
			st.members.add(cc.id)
			continue
		}
		switch some, every := cc.coverage(view); {
		case every:
			st.members.add(cc.id)
		case some:
			res, err := metrics.Aggregate("", cc.subs, settings)
			if err != nil {
				return nil, err
			}
			h := metrics.History{Timeline: res.Timeline, Movements: res.Movements}
			st.mixed[cc.id], changedMixed[cc.id] = h, h
		}
	}
	if full || old.mixedBook == nil {
		st.mixedBook = metrics.NewBook(st.mixed)
	} else {
		st.mixedBook = old.mixedBook.With(changedMixed)
	}
	// The Set shares the bitmap, which is cloned before any change.
	st.set = metrics.SetOfBits(st.members.lo, st.members.w)
	return st, nil
}

// selectFor is the request's selection's customers.
func (a *API) selectFor(r *http.Request, sel selection) (selected, error) {
	acct := account(r)
	return a.results.selectCustomers(r.Context(), a.store, acct.ID, recompute.Settings(acct), accountLocation(acct), sel)
}

// factsAt is what a filter may ask of the customer at now, dates in
// now's location (the account's).
func (c *cachedCustomer) factsAt(now time.Time) segment.Facts {
	f := c.facts
	f.Plans = c.plans
	f.Status = "New Lead"
	var since *time.Time
	for _, p := range c.history.Timeline {
		if p.At.After(now) {
			break
		}
		if p.Active && since == nil {
			at := p.At.In(now.Location())
			since = &at
		}
		f.MRR = p.MRR
		switch {
		case p.Active:
			f.Status = "Active"
		case since != nil:
			f.Status = "Cancelled"
		}
	}
	f.Since = since
	for _, s := range c.subs {
		if q, ok := c.quantities[s.ID]; ok && metrics.StepAt(s.Steps, now).Live {
			f.Quantity += q
		}
	}
	return f
}

// nextChange is the first instant after now at which one of the
// customer's now-dependent facts may change (zero for none): its
// timeline's and subscriptions' next steps.
func (c *cachedCustomer) nextChange(now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if i, _ := slices.BinarySearchFunc(c.history.Timeline, now, func(p metrics.Point, t time.Time) int {
		return cmp.Compare(p.At.UnixNano(), t.UnixNano()+1)
	}); i < len(c.history.Timeline) {
		consider(c.history.Timeline[i].At)
	}
	for _, s := range c.subs {
		for _, st := range s.Steps {
			if st.At.After(now) {
				consider(st.At)
				break
			}
		}
	}
	return next
}

// parseGeo reads geo: ISO 3166-1 alpha-2 country codes, nil for none.
func parseGeo(r *http.Request) (map[string]bool, error) {
	var geo map[string]bool
	for _, c := range strings.Split(query(r.URL.Query(), "geo"), ",") {
		if c = strings.ToUpper(strings.TrimSpace(c)); c == "" {
			continue // "geo=US," or "geo=,": empty items name nothing
		}
		if !billing.ValidCountry(c) {
			return nil, errBadRequest("geo must list ISO 3166-1 alpha-2 country codes; "+c+" is not one.", "geo")
		}
		if geo == nil {
			geo = map[string]bool{}
		}
		geo[c] = true
	}
	return geo, nil
}

// parsePlans reads plans: plan UUIDs, external ids or names, resolved to
// UUIDs; nil for none.
func (a *API) parsePlans(r *http.Request) (map[string]bool, error) {
	var tokens []string
	seen := map[string]bool{}
	for _, p := range strings.Split(query(r.URL.Query(), "plans"), ",") {
		if p = strings.TrimSpace(p); p != "" && !seen[p] {
			seen[p] = true
			tokens = append(tokens, p)
		}
	}
	if len(tokens) == 0 {
		return nil, nil // "plans=" or "plans=,": no plan named, so no filter
	}
	if len(tokens) > maxPlansFilter {
		return nil, errBadRequest("The plans filter names at most "+itoa(maxPlansFilter)+" different plans.", "plans")
	}
	uuids, unknown, err := a.store.ResolvePlans(r.Context(), account(r).ID, tokens)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, errBadRequest("Unknown plans in the filter: "+strings.Join(unknown, ", ")+".", "plans")
	}
	plans := map[string]bool{}
	for _, u := range uuids {
		plans[u] = true
	}
	return plans, nil
}

// memberBits is a set of customer ids as a bitmap over their range:
// copying it after a write costs a bit per customer, and its ids come out
// in order.
type memberBits struct {
	lo int64
	w  []uint64
	n  int
}

func (b *memberBits) has(id int64) bool {
	off := id - b.lo
	return off >= 0 && off/64 < int64(len(b.w)) && b.w[off/64]&(1<<(off%64)) != 0
}

func (b *memberBits) add(id int64) {
	if b.has(id) {
		return
	}
	if len(b.w) == 0 {
		b.lo = id &^ 63
	}
	if id < b.lo { // room below: shift the words up
		shift := (b.lo - id&^63) / 64
		b.w = append(make([]uint64, shift), b.w...)
		b.lo = id &^ 63
	}
	off := id - b.lo
	for off/64 >= int64(len(b.w)) {
		b.w = append(b.w, 0)
	}
	b.w[off/64] |= 1 << (off % 64)
	b.n++
}

func (b *memberBits) remove(id int64) {
	if b.has(id) {
		off := id - b.lo
		b.w[off/64] &^= 1 << (off % 64)
		b.n--
	}
}

func (b *memberBits) clone() *memberBits {
	return &memberBits{lo: b.lo, w: slices.Clone(b.w), n: b.n}
}

// ids are the members in order.
func (b *memberBits) ids() []int64 {
	out := make([]int64, 0, b.n)
	for i, w := range b.w {
		for w != 0 {
			j := bits.TrailingZeros64(w)
			out = append(out, b.lo+int64(i*64+j))
			w &= w - 1
		}
	}
	return out
}
