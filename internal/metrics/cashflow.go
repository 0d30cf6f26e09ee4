package metrics

import (
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Cash flow (metrics.md rule 21): what the account received, refunded and
// failed to collect, dated by transaction, not by service period. Unlike
// MRR it needs no replay of subscriptions: each transaction is valued on
// its own, in one rounding step, and summed into the periods of rule 15.

// Transaction types as the Import API names them.
const (
	TransactionPayment = "payment"
	TransactionRefund  = "refund"
)

// CashTransaction is one payment or refund attempt with the facts of its
// invoice that cash flow needs.
type CashTransaction struct {
	Customer   int64  // counted once per period in failed-transactions
	Country    string // the customer's country (the geo filter); "" for none
	At         time.Time
	Type       string // TransactionPayment or TransactionRefund
	Successful bool
	Amount     *int64 // amount_in_cents; nil: the whole invoice (rule 21)
	Currency   string // the invoice's
	Lines      []CashLine
}

// CashLine is one line of a transaction's invoice.
type CashLine struct {
	Amount  int64  // amount_in_cents: tax included, discount already off
	OneTime bool   // a one_time line: its share of a payment is non-recurring
	Plan    string // plan UUID; "" for a line without a plan
}

// CashFilter is the view a cash-flow series is computed in.
type CashFilter struct {
	Currency string          // the account currency (rule 20); "" converts nothing
	Geo      map[string]bool // customer countries; nil for every customer
	Plans    map[string]bool // plan UUIDs; nil for every line, planless ones included
}

// CashEntry is one entry of the cash-flow series (rule 21), in minor units
// of the account currency.
type CashEntry struct {
	Date               time.Time // the last day of the period (or end-date), rule 15
	Gross              int64     // successful payments
	Refunds            int64     // successful refunds, positive
	NonRecurring       int64     // the part of Gross paying one_time lines
	FailedCharges      int64     // failed payments
	FailedTransactions int64     // distinct customers with a failed payment or refund
	SuccessfulPayments int64     // successful payments of a non-zero amount
}

// Net is gross cash flow less refunds (rule 21).
func (e CashEntry) Net() int64 { return e.Gross - e.Refunds }

// Bounds are the instants [from, to) that the entries of r cover: from
// start-date 00:00 to the end of end-date in r's location (rule 15).
func (r SeriesRequest) Bounds() (from, to time.Time, err error) {
	ps, err := periods(r)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return ps[0].from, ps[len(ps)-1].to, nil
}

// cashItem is one transaction valued in the filter's view.
type cashItem struct {
	at        time.Time
	customer  int64
	gross     int64
	refund    int64
	nonRec    int64
	failed    int64 // failed-charges amount
	payment   bool  // a successful payment of a non-zero amount
	failedTry bool  // a failed payment or refund
	inView    bool
}

// CashFlow computes rule 21's entries over the periods of rule 15.
// Transactions outside [start-date, end-date] are ignored; their order does
// not matter. A foreign-currency transaction needing a rate that rates does
// not have gives a *MissingRateError.
func CashFlow(txs []CashTransaction, r SeriesRequest, f CashFilter, rates Rates) ([]CashEntry, error) {
	ps, err := periods(r)
	if err != nil {
		return nil, err
	}
	out := make([]CashEntry, len(ps))
	failed := make([]map[int64]bool, len(ps))
	for i, p := range ps {
		out[i].Date = p.date
	}
	from, to := ps[0].from, ps[len(ps)-1].to
	var ck money.Checked // every sum of money (issue 10)
	for _, tx := range txs {
		if tx.At.Before(from) || !tx.At.Before(to) {
			continue
		}
		c, err := cashValue(&ck, tx, f, rates)
		if err != nil {
			return nil, err
		}
		if !c.inView {
			continue
		}
		// rule 14 for transactions: the period boundaries are midnights of
		// the account zone, so the instant is compared with them as is.
		i := sort.Search(len(ps), func(i int) bool { return c.at.Before(ps[i].to) })
		if failed[i] == nil {
			failed[i] = map[int64]bool{}
		}
		addCash(&ck, &out[i], c, failed[i])
	}
	if err := ck.Err(); err != nil {
		return nil, fmt.Errorf("cash flow: %w", err)
	}
	return out, nil
}

// CashFlowBetween sums rule 21 over the transactions in (from, to], as
// the summary's windows are taken (see Book.ASPBetween). The entry is
// undated.
func CashFlowBetween(txs []CashTransaction, from, to time.Time, f CashFilter, rates Rates) (CashEntry, error) {
	var e CashEntry
	var ck money.Checked
	seen := map[int64]bool{}
	for _, tx := range txs {
		if !tx.At.After(from) || tx.At.After(to) {
			continue
		}
		c, err := cashValue(&ck, tx, f, rates)
		if err != nil {
			return CashEntry{}, err
		}
		if c.inView {
			addCash(&ck, &e, c, seen)
		}
	}
	if err := ck.Err(); err != nil {
		return CashEntry{}, fmt.Errorf("cash flow: %w", err)
	}
	return e, nil
}

func addCash(ck *money.Checked, e *CashEntry, c cashItem, failed map[int64]bool) {
	e.Gross = ck.Add(e.Gross, c.gross)
	e.Refunds = ck.Add(e.Refunds, c.refund)
	e.NonRecurring = ck.Add(e.NonRecurring, c.nonRec)
	e.FailedCharges = ck.Add(e.FailedCharges, c.failed)
	if c.payment {
		e.SuccessfulPayments++
	}
	if c.failedTry && !failed[c.customer] {
		failed[c.customer] = true
		e.FailedTransactions++
	}
}

// cashValue is one transaction in the filter's view: its amount (rule 21: the
// transaction's own, else the invoice total), the filter's share of it
// (pro rata by line amount), converted at the transaction date (rule 20)
// and rounded once per figure, half away from zero.
func cashValue(ck *money.Checked, tx CashTransaction, f CashFilter, rates Rates) (cashItem, error) {
	c := cashItem{at: tx.At, customer: tx.Customer}
	if f.Geo != nil && !f.Geo[tx.Country] {
		return c, nil
	}
	all, oneTime, in := cashShares(ck, tx.Lines, f.Plans)
	if !in {
		return c, nil
	}
	c.inView = true
	if !tx.Successful {
		c.failedTry = true
		if tx.Type != TransactionPayment {
			return c, nil // a failed refund moved no money: only counted
		}
	}
	amount := cashTotal(ck, tx.Lines)
	if tx.Amount != nil {
		amount = *tx.Amount
	}
	var rate *big.Rat // nil: no conversion
	if amount != 0 && (all.num != 0 || oneTime.num != 0) && f.Currency != "" && tx.Currency != "" && tx.Currency != f.Currency {
		ok := false
		if rates != nil {
			rate, ok = rates.Rate(tx.Currency, f.Currency, tx.At)
		}
		if !ok {
			return c, &MissingRateError{From: tx.Currency, To: f.Currency, Day: tx.At.UTC()}
		}
	}
	share := all.of(ck, amount, rate)
	switch {
	case !tx.Successful:
		c.failed = share
	case tx.Type == TransactionPayment:
		c.gross = share
		c.nonRec = oneTime.of(ck, amount, rate)
		c.payment = share != 0 // metrics-reference.md §7: $0 payments are left out
	case tx.Type == TransactionRefund:
		c.refund = share
	}
	return c, nil
}

// fraction is num/den, den > 0.
type fraction struct{ num, den int64 }

// of is round_half_away(amount × f × rate) (rate nil for 1), exact: in
// integers when nothing needs dividing, with big ratios otherwise.
func (f fraction) of(ck *money.Checked, amount int64, rate *big.Rat) int64 {
	switch {
	case f.num == 0 || amount == 0:
		return 0
	case rate == nil && f.num == f.den:
		return ck.Add(0, amount)
	}
	v := new(big.Rat).SetFrac64(f.num, f.den)
	v.Mul(v, new(big.Rat).SetInt64(amount))
	if rate != nil {
		v.Mul(v, rate)
	}
	return roundHalfAway(ck, v)
}

func cashTotal(ck *money.Checked, lines []CashLine) int64 {
	var sum int64
	for _, l := range lines {
		sum = ck.Add(sum, l.Amount)
	}
	return sum
}

// cashShares are the fractions of an invoice's money that the plans filter
// sees (all) and that pays its one_time lines in that view (oneTime): pro
// rata by line amount, or by number of lines when the amounts add up to
// zero. in is false when the filter sees none of the invoice's lines.
// Without a filter every line is seen, and an invoice without lines is
// seen whole.
func cashShares(ck *money.Checked, lines []CashLine, plans map[string]bool) (all, oneTime fraction, in bool) {
	var total, sel, selOne, n, nSel, nSelOne int64
	for _, l := range lines {
		total = ck.Add(total, l.Amount)
		n++
		if plans != nil && (l.Plan == "" || !plans[l.Plan]) {
			continue
		}
		sel = ck.Add(sel, l.Amount)
		nSel++
		if l.OneTime {
			selOne = ck.Add(selOne, l.Amount)
			nSelOne++
		}
	}
	switch {
	case n == 0:
		return fraction{1, 1}, fraction{0, 1}, plans == nil
	case nSel == 0:
		return fraction{0, 1}, fraction{0, 1}, false
	case total < 0:
		return fraction{-sel, -total}, fraction{-selOne, -total}, true
	case total > 0:
		return fraction{sel, total}, fraction{selOne, total}, true
	}
	return fraction{nSel, n}, fraction{nSelOne, n}, true
}
