package metrics

import (
	"fmt"
	"strings"
	"testing"
)

// Committed MRR (issue 6): scheduled changes applied from their effective
// dates, by hand.
func TestCommitted(t *testing.T) {
	c := Customer{ID: "c", Subscriptions: []Subscription{sub("a", []Line{line("a1", "2024-01-01", "2024-02-01", 10000, monthly)})}}
	subs, err := Steps(c, usd, nil)
	if err != nil {
		t.Fatal(err)
	}
	priced := func(amount, tax int64, iv Interval) Line {
		return Line{Amount: amount, Tax: tax, Interval: iv, Currency: "USD", Start: day("2024-05-20")}
	}
	changes := []ScheduledChange{
		// A to $150 (incl. $10 tax: 15000 − 1000 = 14000) from 06-01.
		{ID: "u", Subscription: "sub-a", ExternalID: "a", Kind: ScheduledUpdate, At: day("2024-06-01"), Line: priced(15000, 1000, monthly)},
		// A cancelled from 09-01.
		{ID: "x", Subscription: "sub-a", ExternalID: "a", Kind: ScheduledCancel, At: day("2024-09-01")},
		// B, not invoiced yet, starts 07-01 at $600 a year: 60000 / 12 = 5000.
		{ID: "s", Subscription: "scheduled:b", ExternalID: "b", Kind: ScheduledStart, At: day("2024-07-01"), Line: priced(60000, 0, yearly)},
	}
	committed, err := Committed(subs, changes, usd, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Aggregate("c", committed, usd)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range res.Movements {
		cause := "invoice"
		if strings.HasPrefix(m.Causes[0], "event:") {
			cause = strings.Join(m.Causes, ",")
		}
		got = append(got, fmt.Sprintf("%s %s %+d %s", m.At.Format("2006-01-02"), m.Type, m.Amount, cause))
	}
	// 10000 (invoiced) → 14000 (+4000, u) → 19000 (+5000, s) → 5000 (−14000, x).
	want := []string{"2024-01-01 new_biz +10000 invoice", "2024-06-01 expansion +4000 event:u", "2024-07-01 expansion +5000 event:s",
		"2024-09-01 contraction -14000 event:x"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("committed movements:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Committed MRR at 2024-08-31 (19000) and 2024-09-30 (5000), by hand.
	for at, want := range map[string]int64{"2024-08-31": 19000, "2024-09-30": 5000} {
		if got := pointAt(res.Timeline, day(at)).MRR; got != want {
			t.Errorf("committed MRR at %s: %d, want %d", at, got, want)
		}
	}
	// A cancellation of a subscription that is not live changes nothing.
	noop, err := Committed(nil, []ScheduledChange{{ID: "y", Subscription: "z", Kind: ScheduledCancel, At: day("2024-01-01")}}, usd, nil)
	if res, aerr := Aggregate("c", noop, usd); err != nil || aerr != nil || len(res.Movements) != 0 {
		t.Errorf("cancelling nothing: %v", err)
	}
}
