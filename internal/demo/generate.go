package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultCustomers is the size of the book unless told otherwise.
const DefaultCustomers = 300

type tier int

const (
	tierFree tier = iota
	tierStarter
	tierGrowth
	tierPro
)

var (
	tierKeys  = [...]string{"free", "starter", "growth", "pro"}
	tierNames = [...]string{"Free", "Starter", "Growth", "Pro"}
	minSeats  = [...]int64{1, 1, 2, 3}
	// monthlyUnit is one seat's monthly price in minor units, by invoice
	// currency; an annual plan costs ten months.
	monthlyUnit = map[string][4]int64{"USD": {0, 2900, 4900, 9900}, "EUR": {0, 2700, 4500, 8900}}
	onboarding  = map[string]int64{"USD": 50000, "EUR": 45000}
)

// plan is what a subscription is on: a tier, monthly or annual billing,
// and seats (quantity; Starter and Free have one).
type plan struct {
	tier   tier
	annual bool
	seats  int64
}

func (p plan) externalID() string {
	switch {
	case p.tier == tierFree:
		return "demo-free"
	case p.annual:
		return "demo-" + tierKeys[p.tier] + "-annual"
	}
	return "demo-" + tierKeys[p.tier] + "-monthly"
}

func (p plan) name() string {
	switch {
	case p.tier == tierFree:
		return "Free"
	case p.annual:
		return tierNames[p.tier] + " Annual"
	}
	return tierNames[p.tier] + " Monthly"
}

func (p plan) months() int64 {
	if p.annual {
		return 12
	}
	return 1
}

// net is one period's price before tax.
func (p plan) net(cur string) int64 {
	v := monthlyUnit[cur][p.tier] * p.seats
	if p.annual {
		v *= 10
	}
	return v
}

// mrr is the plan's line MRR as metrics.md rules 1–2 compute it, in the
// invoice currency.
func (p plan) mrr(cur string) int64 { return roundDiv(p.net(cur), p.months()) }

func (p plan) next(at time.Time) time.Time {
	if p.annual {
		return at.AddDate(1, 0, 0)
	}
	return at.AddDate(0, 1, 0)
}

// catalogue is the demo's plans: a free plan and three tiers, each
// monthly and annual.
func catalogue() []Plan {
	ps := []Plan{{ExternalID: plan{}.externalID(), Name: "Free", IntervalCount: 1, IntervalUnit: "month"}}
	for t := tierStarter; t <= tierPro; t++ {
		for _, annual := range []bool{false, true} {
			p := plan{tier: t, annual: annual}
			unit := "month"
			if annual {
				unit = "year"
			}
			ps = append(ps, Plan{ExternalID: p.externalID(), Name: p.name(), IntervalCount: 1, IntervalUnit: unit})
		}
	}
	return ps
}

type country struct {
	code, currency string
	vat            int64 // percent added on top of the net price
	weight         int
	cities         []string
}

// countries: about one customer in seven is in the euro area and pays in
// EUR, the book's second currency.
var countries = []country{
	{"US", "USD", 0, 50, []string{"New York", "San Francisco", "Austin", "Chicago", "Seattle", "Boston"}},
	{"GB", "USD", 20, 12, []string{"London", "Manchester", "Edinburgh"}},
	{"CA", "USD", 0, 9, []string{"Toronto", "Vancouver", "Montreal"}},
	{"AU", "USD", 0, 7, []string{"Sydney", "Melbourne"}},
	{"SE", "USD", 25, 3, []string{"Stockholm", "Gothenburg"}},
	{"BR", "USD", 0, 2, []string{"São Paulo"}},
	{"IN", "USD", 0, 2, []string{"Bangalore", "Pune"}},
	{"DE", "EUR", 19, 5, []string{"Berlin", "Munich", "Hamburg"}},
	{"FR", "EUR", 20, 4, []string{"Paris", "Lyon"}},
	{"NL", "EUR", 21, 3, []string{"Amsterdam", "Utrecht"}},
	{"ES", "EUR", 21, 2, []string{"Madrid", "Barcelona"}},
	{"IE", "EUR", 23, 1, []string{"Dublin"}},
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "John",
		"Radia", "Tim", "Hedy", "Edsger", "Katherine", "Donald", "Sophie", "Niklaus", "Annie", "Guido",
		"Shafi", "Bjarne", "Jean", "Leslie", "Mary", "Rob", "Carol", "Vint", "Lynn", "Yukihiro"}
	lastNames = []string{"Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "McCarthy",
		"Perlman", "Berners-Lee", "Lamarr", "Dijkstra", "Johnson", "Knuth", "Wilson", "Wirth", "Easley", "van Rossum",
		"Goldwasser", "Stroustrup", "Bartik", "Lamport", "Keller", "Pike", "Shaw", "Cerf", "Conway", "Matsumoto"}
	companyWords = []string{"Bright", "North", "Blue", "Iron", "Quiet", "Swift", "Green", "Silver", "Red", "Clear",
		"Open", "Bold", "Deep", "True", "Wild"}
	companyNouns = []string{"Forge", "Harbor", "Labs", "Works", "Systems", "Studio", "Analytics", "Cloud", "Logistics", "Foods",
		"Health", "Media", "Robotics", "Finance", "Travel"}
	channels = []string{"Organic search", "Referral", "Paid ads", "Partner", "Content", "Outbound"}
)

// generator holds the random source and the customer being built.
type generator struct {
	rng    *rand.Rand
	anchor time.Time
	book   *Book
	c      *Customer
	cur    string
	vat    int64
	n      struct{ inv, line, tx, sub, ev int }
}

// Generate builds the book of the given number of customers (the last
// one in forty of them prospects with only a scheduled start), three years
// up to anchor (taken as its UTC day). The same seed, anchor and size give
// the same book, byte for byte.
func Generate(seed uint64, anchor time.Time, customers int) *Book {
	anchor = anchor.UTC()
	anchor = time.Date(anchor.Year(), anchor.Month(), anchor.Day(), 0, 0, 0, 0, time.UTC)
	b := &Book{Seed: seed, Anchor: anchor, Start: anchor.AddDate(-3, 0, 0), Plans: catalogue()}
	g := &generator{rng: rand.New(rand.NewPCG(seed, 0x7a11e5)), anchor: anchor, book: b}
	prospects := customers / 40
	for i := range customers {
		g.customer(i, i >= customers-prospects)
	}
	b.Rates = rates(b.Start.AddDate(0, 0, -7), anchor)
	return b
}

func (g *generator) customer(i int, prospect bool) {
	r := g.rng
	co := pickCountry(r.IntN(100))
	if prospect && co.currency != "USD" {
		co = countries[0] // scheduled events stay in the account currency
	}
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	company := companyWords[r.IntN(len(companyWords))] + " " + companyNouns[r.IntN(len(companyNouns))]
	domain := strings.ToLower(strings.ReplaceAll(company, " ", "")) + ".example"
	c := Customer{
		ExternalID: fmt.Sprintf("demo-cus-%04d", i+1),
		Name:       first + " " + last,
		Email:      strings.ToLower(strings.ReplaceAll(first+"."+last, " ", "")) + "@" + domain,
		Company:    company,
		Country:    co.code,
		City:       co.cities[r.IntN(len(co.cities))],
		Channel:    channels[r.IntN(len(channels))],
		Tags:       []string{"demo"},
		Currency:   co.currency,
	}
	g.c, g.cur, g.vat = &c, co.currency, co.vat
	g.n = struct{ inv, line, tx, sub, ev int }{}
	if prospect {
		c.Tags = append(c.Tags, "prospect")
		g.prospect()
	} else {
		g.lifecycle(g.signup())
	}
	g.book.Customers = append(g.book.Customers, c)
}

func pickCountry(x int) country {
	for _, c := range countries {
		if x < c.weight {
			return c
		}
		x -= c.weight
	}
	return countries[0]
}

// signup is a day in the book's three years, later days likelier (a
// growing business), on day 1–28 of its month so that monthly periods
// never need clamping (metrics.md rule 6's month arithmetic).
func (g *generator) signup() time.Time {
	start := g.book.Start
	days := int(g.anchor.Sub(start) / (24 * time.Hour))
	off := int(float64(days) * math.Pow(g.rng.Float64(), 0.75))
	d := clampDay(start.AddDate(0, 0, off))
	if !d.Before(g.anchor) {
		d = clampDay(g.anchor.AddDate(0, 0, -1))
	}
	return d
}

func clampDay(t time.Time) time.Time {
	if t.Day() > 28 {
		return time.Date(t.Year(), t.Month(), 28, 0, 0, 0, 0, time.UTC)
	}
	return t
}

func (g *generator) id(kind string, n *int) string {
	*n++
	return fmt.Sprintf("%s-%s%03d", g.c.ExternalID, kind, *n)
}

func (g *generator) newSub() string { return g.id("sub", &g.n.sub) }

func (g *generator) invoice(at time.Time) Invoice {
	return Invoice{ExternalID: g.id("inv", &g.n.inv), Date: at, Currency: g.cur}
}

// taxed returns the amount with VAT added and the VAT.
func (g *generator) taxed(net int64) (amount, tax int64) {
	tax = roundDiv(net*g.vat, 100)
	return net + tax, tax
}

func (g *generator) subLine(sub string, p plan, start, end time.Time, net int64, prorated bool, desc string) Line {
	amount, tax := g.taxed(net)
	return Line{ExternalID: g.id("li", &g.n.line), Type: LineSubscription, SubscriptionExternalID: sub, PlanExternalID: p.externalID(),
		Start: start, End: end, Amount: amount, Tax: tax, Quantity: p.seats, Prorated: prorated, Description: desc}
}

func (g *generator) oneTime(net int64, desc string) Line {
	amount, tax := g.taxed(net)
	return Line{ExternalID: g.id("li", &g.n.line), Type: LineOneTime, Amount: amount, Tax: tax, Quantity: 1, Description: desc}
}

func (g *generator) tx(typ, result string, at time.Time, amount *int64) Transaction {
	return Transaction{ExternalID: g.id("tx", &g.n.tx), Type: typ, Result: result, Date: at, Amount: amount}
}

// dayIn is a moment (a day, at office hours) strictly inside (from, to).
func (g *generator) dayIn(from, to time.Time) time.Time {
	days := int(to.Sub(from) / (24 * time.Hour))
	d := 1 + g.rng.IntN(max(1, days-1))
	return from.AddDate(0, 0, d).Add(time.Duration(8+g.rng.IntN(10))*time.Hour + time.Duration(g.rng.IntN(60))*time.Minute)
}

func total(inv *Invoice) int64 {
	var t int64
	for _, l := range inv.Lines {
		t += l.Amount
	}
	return t
}

// pay adds the payment attempts to the invoice: usually one successful
// payment; one in twenty fails first and succeeds on a retry; with
// delinquent allowed, a few fail three times (the caller then cancels).
// Now and then a paid invoice is partly refunded.
func (g *generator) pay(inv *Invoice, delinquent bool) (failedForGood bool) {
	r := g.rng
	at := inv.Date.Add(time.Duration(1+r.IntN(6))*time.Hour + time.Duration(r.IntN(60))*time.Minute)
	day := 24 * time.Hour
	x := r.Float64()
	switch {
	case delinquent && x < 0.003 && inv.Date.AddDate(0, 0, 21).Before(g.anchor):
		for _, d := range []time.Duration{0, 3 * day, 7 * day} {
			inv.Transactions = append(inv.Transactions, g.tx(Payment, Failed, at.Add(d), nil))
		}
		return true
	case x < 0.05 && at.Add(6*day).Before(g.anchor):
		inv.Transactions = append(inv.Transactions, g.tx(Payment, Failed, at, nil))
		at = at.Add(3 * day)
		if r.IntN(3) == 0 {
			inv.Transactions = append(inv.Transactions, g.tx(Payment, Failed, at, nil))
			at = at.Add(3 * day)
		}
	}
	inv.Transactions = append(inv.Transactions, g.tx(Payment, Successful, at, nil))
	if r.Float64() < 0.015 {
		g.refund(inv, total(inv)*int64(20+r.IntN(31))/100, at.Add(time.Duration(2+r.IntN(18))*day))
	}
	return false
}

// refund refunds part of a paid invoice at the given time, in the invoice
// itself or (half of the time) later through the transactions endpoint.
func (g *generator) refund(inv *Invoice, amount int64, at time.Time) {
	if amount <= 0 || !at.Before(g.anchor) {
		return
	}
	for _, t := range inv.Transactions {
		if t.Type == Refund {
			return
		}
	}
	for _, t := range g.c.LateTransactions {
		if t.InvoiceExternalID == inv.ExternalID {
			return
		}
	}
	t := g.tx(Refund, Successful, at, &amount)
	if g.rng.IntN(2) == 0 {
		g.c.LateTransactions = append(g.c.LateTransactions, LateTransaction{InvoiceExternalID: inv.ExternalID, Transaction: t})
		return
	}
	inv.Transactions = append(inv.Transactions, t)
}

// firstPlan is a new customer's plan.
func (g *generator) firstPlan() plan {
	r := g.rng
	var p plan
	switch x := r.IntN(100); {
	case x < 15:
		return plan{tier: tierFree, seats: 1}
	case x < 55:
		p.tier = tierStarter
	case x < 85:
		p.tier = tierGrowth
	default:
		p.tier = tierPro
	}
	p.annual = r.IntN(4) == 0
	p.seats = minSeats[p.tier] + int64(r.IntN(3))
	if p.tier == tierStarter {
		p.seats = 1
	}
	return p
}

type change int

const (
	none change = iota
	churn
	upgrade
	seatUp
	downgrade
	seatDown
	toAnnual
)

// pickChange picks at most one change for a paid period: monthly odds per
// month, annual odds per year.
func (g *generator) pickChange(p plan) change {
	type odds struct {
		c change
		p float64
	}
	var list []odds
	if p.annual {
		list = []odds{{churn, 0.15}, {upgrade, 0.12}, {seatUp, 0.2}, {downgrade, 0.05}, {seatDown, 0.05}}
	} else {
		list = []odds{{churn, [...]float64{0, 0.028, 0.018, 0.010}[p.tier]}, {upgrade, 0.022}, {seatUp, 0.025},
			{downgrade, 0.010}, {seatDown, 0.010}, {toAnnual, 0.008}}
	}
	x := g.rng.Float64()
	for _, o := range list {
		if x < o.p {
			return o.c
		}
		x -= o.p
	}
	return none
}

// lifecycle bills one customer from its signup to the anchor: renewals,
// changes, churn and perhaps a comeback, then scheduled events.
func (g *generator) lifecycle(at time.Time) {
	r, story := g.rng, &g.book.Story
	p := g.firstPlan()
	if p.tier == tierPro {
		g.c.Tags = append(g.c.Tags, "enterprise")
	}
	sub := g.newSub()
	everPaid, converted, firstPaid := false, false, true
	for at.Before(g.anchor) {
		end := p.next(at)
		inv := g.invoice(at)
		paid := p.tier != tierFree
		desc := p.name()
		if p.seats > 1 {
			desc = fmt.Sprintf("%s, %d seats", p.name(), p.seats)
		}
		inv.Lines = append(inv.Lines, g.subLine(sub, p, at, end, p.net(g.cur), false, desc))
		if paid {
			if !everPaid {
				everPaid = true
				story.Paying++
				if converted {
					story.Conversions++
				}
			}
			if firstPaid && p.tier == tierPro && r.IntN(2) == 0 {
				inv.Lines = append(inv.Lines, g.oneTime(onboarding[g.cur], "Onboarding package"))
			}
			firstPaid = false
		}
		delinquent := paid && g.pay(&inv, true)
		g.c.Invoices = append(g.c.Invoices, inv)
		idx := len(g.c.Invoices) - 1

		if delinquent {
			// Every attempt failed: the subscription is cancelled three
			// weeks after the invoice, through the subscriptions endpoint.
			g.c.Cancellations = append(g.c.Cancellations, Cancellation{SubscriptionExternalID: sub, At: at.AddDate(0, 0, 21)})
			story.Churns++
			story.Delinquent++
			if back, ok := g.comeback(at.AddDate(0, 0, 21)); ok {
				at, sub, p = back, g.newSub(), g.comebackPlan(p)
				continue
			}
			return
		}
		if paid && r.Float64() < 0.04 {
			if when := g.dayIn(at, end); when.Before(g.anchor) {
				usage := g.invoice(when)
				usage.Lines = append(usage.Lines, g.oneTime(int64(2000+100*r.IntN(181)), "Extra usage"))
				g.pay(&usage, false)
				g.c.Invoices = append(g.c.Invoices, usage)
			}
		}

		next := p
		renews := end.Before(g.anchor)
		if !paid {
			switch x := r.Float64(); {
			case x < 0.10 && renews:
				// Converts: the next period is paid, on the same subscription.
				next = plan{tier: tierStarter + tier(r.IntN(2)), annual: r.IntN(5) == 0}
				next.seats = minSeats[next.tier]
				converted = true
			case x < 0.15:
				if when := g.dayIn(at, end); when.Before(g.anchor) {
					g.cancel(idx, sub, when)
					story.FreeCancelled++
					return
				}
			}
			p, at = next, end
			continue
		}
		switch ch := g.pickChange(p); ch {
		case churn:
			when := g.dayIn(at, end)
			if !when.Before(g.anchor) {
				break
			}
			g.cancel(idx, sub, when)
			story.Churns++
			if r.IntN(10) < 3 { // the unused part of the period is refunded
				inv := &g.c.Invoices[idx]
				unused := total(inv) * int64(end.Sub(when)/time.Second) / int64(end.Sub(at)/time.Second)
				g.refund(inv, unused, when.Add(2*time.Hour))
			}
			if back, ok := g.comeback(when); ok {
				at, sub, p = back, g.newSub(), g.comebackPlan(p)
				continue
			}
			return
		case upgrade, seatUp:
			np := p
			if ch == upgrade {
				if p.tier == tierPro {
					break
				}
				np.tier++
				np.seats = max(p.seats, minSeats[np.tier])
			} else {
				if p.tier == tierStarter {
					break
				}
				np.seats += 1 + int64(r.IntN(3))
			}
			if g.cur == "USD" && r.IntN(10) < 7 {
				if ok := g.prorate(sub, p, np, at, end); ok {
					next = np
					g.countChange(ch)
					story.Prorated++
					break
				}
			}
			if renews {
				next = np
				g.countChange(ch)
			}
		case downgrade:
			if renews && p.tier > tierStarter {
				next.tier--
				next.seats = max(p.seats, minSeats[next.tier])
				if next.tier == tierStarter {
					next.seats = 1
				}
				g.countChange(ch)
			}
		case seatDown:
			if renews && p.seats > minSeats[p.tier] {
				next.seats--
				g.countChange(ch)
			}
		case toAnnual:
			if renews {
				next.annual = true
				g.countChange(ch)
			}
		}
		p, at = next, end
	}
	g.scheduled(sub, p, at)
}

func (g *generator) countChange(c change) {
	s := &g.book.Story
	switch c {
	case upgrade:
		s.Upgrades++
	case seatUp:
		s.SeatIncreases++
	case downgrade:
		s.Downgrades++
	case seatDown:
		s.SeatDecreases++
	case toAnnual:
		s.AnnualSwitch++
	}
}

// cancel ends the subscription at when: half of the time as the
// cancelled_at of the current invoice's line, half through PATCH
// /v1/import/subscriptions/{uuid} (metrics.md rule 9's two sources).
func (g *generator) cancel(idx int, sub string, when time.Time) {
	if g.rng.IntN(2) == 0 {
		g.c.Invoices[idx].Lines[0].CancelledAt = &when
		return
	}
	g.c.Cancellations = append(g.c.Cancellations, Cancellation{SubscriptionExternalID: sub, At: when})
}

// comeback decides whether a churned customer returns (one in three), and
// when: one to nine months later, on a new subscription.
func (g *generator) comeback(churned time.Time) (time.Time, bool) {
	if g.rng.IntN(3) != 0 {
		return time.Time{}, false
	}
	t := churned.AddDate(0, 1+g.rng.IntN(9), g.rng.IntN(20))
	back := clampDay(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
	if !back.Before(g.anchor) || !back.After(churned) {
		return time.Time{}, false
	}
	g.book.Story.Reactivations++
	return back, true
}

func (g *generator) comebackPlan(old plan) plan {
	p := plan{tier: old.tier, seats: minSeats[old.tier]}
	if p.tier > tierStarter && g.rng.IntN(2) == 0 {
		p.tier--
		p.seats = minSeats[p.tier]
	}
	return p
}

// prorate makes a mid-period change from p to np: an invoice at a day
// inside [at, end) with prorated lines for the rest of the period, a
// credit for the old plan and a charge for the new (or one line for added
// seats on the same plan). It picks a day whose prorated lines make the
// subscription's MRR exactly np's (metrics.md rules 6–7: the lines count
// times full period / prorated period), so the renewal that follows is no
// movement of a cent or two. It reports false when no day before the
// anchor qualifies.
func (g *generator) prorate(sub string, p, np plan, at, end time.Time) bool {
	days := int(end.Sub(at)/(24*time.Hour)) - 3
	if days < 1 {
		return false
	}
	full := int64(end.Sub(at) / time.Second)
	first := g.rng.IntN(days)
	for k := range days {
		day := at.AddDate(0, 0, 2+(first+k)%days)
		if !day.Before(g.anchor) {
			continue
		}
		part := int64(end.Sub(day) / time.Second)
		var nets []int64
		if p.tier == np.tier {
			nets = []int64{roundDiv((np.net(g.cur)-p.net(g.cur))*part, full)}
		} else {
			nets = []int64{-roundDiv(p.net(g.cur)*part, full), roundDiv(np.net(g.cur)*part, full)}
		}
		mrr := p.mrr(g.cur)
		for _, n := range nets {
			mrr += roundDiv(n*full, p.months()*part)
		}
		if mrr != np.mrr(g.cur) {
			continue
		}
		inv := g.invoice(day)
		if len(nets) == 1 {
			inv.Lines = append(inv.Lines, g.subLine(sub, np, day, end, nets[0], true,
				fmt.Sprintf("%d more seats, prorated", np.seats-p.seats)))
		} else {
			inv.Lines = append(inv.Lines,
				g.subLine(sub, p, day, end, nets[0], true, "Unused time on "+p.name()),
				g.subLine(sub, np, day, end, nets[1], true, "Remaining time on "+np.name()))
		}
		g.pay(&inv, false)
		g.c.Invoices = append(g.c.Invoices, inv)
		return true
	}
	return false
}

// scheduled adds scheduled events for a customer still subscribed at the
// anchor: a cancellation (a third of them later retracted) or a plan
// change, taking effect at a renewal at least a month after the anchor.
// Only USD customers get them, so committed MRR never needs a rate for a
// future day.
func (g *generator) scheduled(sub string, p plan, next time.Time) {
	if g.cur != "USD" {
		return
	}
	r := g.rng
	eff := next
	for eff.Before(g.anchor.AddDate(0, 1, 0)) {
		eff = p.next(eff)
	}
	on := g.anchor.AddDate(0, 0, -2-r.IntN(20)).Add(time.Duration(9+r.IntN(8)) * time.Hour)
	switch x := r.Float64(); {
	case x < 0.05 && p.tier != tierFree:
		g.event(Event{Type: CancellationScheduled, SubscriptionExternalID: sub, EventDate: on, EffectiveDate: eff})
		if r.IntN(3) == 0 {
			g.event(Event{Type: CancellationRetracted, SubscriptionExternalID: sub, EventDate: on.Add(24 * time.Hour), EffectiveDate: eff})
		}
	case x < 0.12:
		np := p
		switch {
		case p.tier == tierFree:
			np = plan{tier: tierStarter, seats: 1}
		case p.tier == tierStarter || (p.tier == tierGrowth && r.IntN(2) == 0):
			np.tier++
			np.seats = max(p.seats, minSeats[np.tier])
		case p.seats > minSeats[p.tier] && r.IntN(3) == 0:
			np.seats--
		default:
			np.seats++
		}
		g.event(g.planEvent(UpdateScheduled, sub, np, on, eff))
	}
}

// prospect is a customer with no invoices yet whose first subscription is
// scheduled to start one to three months after the anchor.
func (g *generator) prospect() {
	r := g.rng
	p := plan{tier: tierGrowth + tier(r.IntN(2)), annual: r.IntN(3) == 0}
	p.seats = minSeats[p.tier] + int64(r.IntN(3))
	t := g.anchor.AddDate(0, 1+r.IntN(3), 0)
	eff := time.Date(t.Year(), t.Month(), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	on := g.anchor.AddDate(0, 0, -1-r.IntN(14)).Add(time.Duration(9+r.IntN(8)) * time.Hour)
	g.event(g.planEvent(StartScheduled, g.newSub(), p, on, eff))
}

func (g *generator) planEvent(typ, sub string, p plan, on, eff time.Time) Event {
	amount, tax := g.taxed(p.net(g.cur))
	return Event{Type: typ, SubscriptionExternalID: sub, PlanExternalID: p.externalID(), Currency: g.cur,
		Amount: amount, Tax: tax, Quantity: p.seats, EventDate: on, EffectiveDate: eff}
}

func (g *generator) event(e Event) {
	e.ExternalID = g.id("ev", &g.n.ev)
	g.c.Events = append(g.c.Events, e)
}

// roundDiv is a/b rounded half away from zero (b > 0), as the engine
// rounds (metrics.md rule 1).
func roundDiv(a, b int64) int64 {
	neg := a < 0
	if neg {
		a = -a
	}
	q := (2*a + b) / (2 * b)
	if neg {
		return -q
	}
	return q
}
