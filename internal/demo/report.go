package demo

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Describe writes what Install loaded and the key metrics it produced.
func Describe(w io.Writer, r Result) {
	b, st := r.Book, r.Book.Stats()
	story := b.Story
	events := st.StartScheduled + st.UpdateScheduled + st.CancellationScheduled + st.CancellationRetracts
	fmt.Fprintf(w, "Loaded the demo business into account %q in %s (%s requests through the API; seed %d, %s to %s).\n",
		r.Account.Name, r.Elapsed.Round(100*time.Millisecond), thousands(int64(r.Requests)), b.Seed,
		b.Start.Format(time.DateOnly), b.Anchor.Format(time.DateOnly))
	fmt.Fprintf(w, "  %d customers (%d paying in EUR, %d prospects), %d plans, %s invoices, %d one-time charges\n",
		st.Customers, st.EURCustomers, st.Prospects, st.Plans, thousands(int64(st.Invoices)), st.OneTimeLines)
	fmt.Fprintf(w, "  %d upgrades and %d seat increases (%d of these prorated mid-period), %d downgrades, %d seat decreases, %d switches to annual\n",
		story.Upgrades, story.SeatIncreases, story.Prorated, story.Downgrades, story.SeatDecreases, story.AnnualSwitch)
	fmt.Fprintf(w, "  %d churned subscriptions, %d reactivations, %d failed payments (%d invoices paid on a retry), %d refunds, %d scheduled events\n",
		story.Churns, story.Reactivations, st.FailedPayments, st.RetriedPayments, st.Refunds, events)
	if r.RatesSaved > 0 {
		fmt.Fprintf(w, "  %s synthetic daily EUR/USD rates saved for the EUR invoices\n", thousands(int64(r.RatesSaved)))
	}
	h := r.Headline
	fmt.Fprintf(w, "On %s: MRR %s, %d customers, ARPA %s.\n", b.Anchor.AddDate(0, 0, -1).Format(time.DateOnly),
		amount(h.MRR, h.Currency), h.Customers, amount(h.ARPA, h.Currency))
}

// amount formats minor units in the currency's exponent: 3806468 USD is
// "USD 38,064.68".
func amount(minor int64, currency string) string {
	exp := money.Exponent(currency)
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	div := int64(1)
	for range exp {
		div *= 10
	}
	s := currency + " " + sign + thousands(minor/div)
	if exp > 0 {
		s += fmt.Sprintf(".%0*d", exp, minor%div)
	}
	return s
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
