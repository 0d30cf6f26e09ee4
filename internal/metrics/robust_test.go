package metrics

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzEngineNeverPanics feeds the engine histories drawn from everything
// the Import API's validation lets through (issue 10: one such history
// once panicked the recomputation and froze its account): any interval
// unit and count, service periods of a second to years, at any instant
// from 1970 to 2999, prorations of every type, amounts, taxes and fees up
// to the API's bound of ±10^13 cents, trials, refund documents, event
// orders, cancellations anywhere, connected groups, both churn settings,
// activity grouping and a foreign currency with and without rates. The
// engine must answer every one without panicking: with numbers, or with
// an error that says what it cannot compute.
func FuzzEngineNeverPanics(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		[]byte("a prorated sliver of a second, then a year"),
		{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255},
		{1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 7, 3, 1, 200, 100, 9, 9, 9},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, s := anyHistory(data)
		res, err := Compute(c, s, fuzzRates)
		if err != nil {
			var missing *MissingRateError
			if !errors.As(err, &missing) && !strings.Contains(err.Error(), "beyond ±10^15") &&
				!strings.Contains(err.Error(), "prorated period is empty") && !strings.Contains(err.Error(), "interval") {
				t.Fatalf("unexpected refusal: %v", err)
			}
			return
		}
		var sum int64
		for _, m := range res.Movements {
			sum += m.Amount
		}
		for _, p := range res.Timeline {
			sum += p.FX
		}
		if n := len(res.Timeline); n > 0 && sum != res.Timeline[n-1].MRR {
			t.Fatalf("movements and revaluations sum to %d, final MRR %d", sum, res.Timeline[n-1].MRR)
		}
	})
}

// anyHistory decodes fuzz bytes into a customer and settings within the
// Import API's validation rules.
func anyHistory(data []byte) (Customer, Settings) {
	next := func(n int) uint64 {
		var b [8]byte
		copy(b[:], data[:min(n, len(data))])
		data = data[min(n, len(data)):]
		return binary.LittleEndian.Uint64(b[:])
	}
	pick := func(options ...string) string { return options[next(1)%uint64(len(options))] }
	const bound = 10_000_000_000_000 // the Import API's ±10^13 cents
	amount := func() int64 { return int64(next(6)%(2*bound+1)) - bound }
	epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	span := uint64(time.Date(2999, 12, 31, 0, 0, 0, 0, time.UTC).Sub(epoch) / time.Second)
	instant := func() time.Time { return epoch.Add(time.Duration(next(5)%span) * time.Second) }
	period := func() time.Duration {
		switch next(1) % 4 {
		case 0:
			return time.Duration(1+next(1)) * time.Second // a sliver
		case 1:
			return time.Duration(1+next(2)%400) * 24 * time.Hour
		default:
			return time.Duration(1+next(4)%(20*365*24*3600)) * time.Second
		}
	}
	s := Settings{Currency: "USD", ChurnRecognition: pick(ChurnImmediate, ChurnEndOfPeriod), ActivityGroupingMinutes: int(next(2) % 1441)}
	c := Customer{ID: "any"}
	for si := range 1 + next(1)%4 {
		sub := Subscription{ID: string(rune('a' + si)), ExternalID: string(rune('a' + si))}
		if next(1)%3 == 0 {
			sub.Group = "g"
		}
		for li := range 1 + next(1)%5 {
			start := instant()
			l := Line{ID: sub.ID + string(rune('0'+li)), InvoiceID: string(rune('A' + next(1)%3)),
				Type:     pick(LineSubscription, LineSubscription, LineSubscription, LineTrial, LineOneTime),
				PlanID:   pick("bronze", "gold"),
				Interval: Interval{Unit: pick("day", "week", "month", "year"), Count: int(1 + next(2)%1000)},
				Start:    start, End: start.Add(period()), Amount: amount(), Tax: amount(), Fees: amount(),
				Currency: pick("USD", "USD", "EUR", "JPY"), Seq: int64(si*10 + li), RefundDocument: next(1)%7 == 0}
			if next(1)%3 == 0 {
				l.Prorated, l.ProrationType = true, pick("", ProrationDifferential, ProrationFull, ProrationDifferentialMRR)
			}
			if next(1)%4 == 0 {
				o := int64(next(1))
				l.EventOrder = &o
			}
			sub.Lines = append(sub.Lines, l)
		}
		for range next(1) % 3 {
			sub.Cancellations = append(sub.Cancellations, instant())
		}
		c.Subscriptions = append(c.Subscriptions, sub)
	}
	return c, s
}
