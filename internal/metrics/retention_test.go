package metrics

import (
	"fmt"
	"testing"
)

// The retention metrics on a small book, by hand (docs/retention.md).
//
//	A: 10000 from 2023-12-01, 15000 from 2024-02-10 (expansion)
//	B: 20000 from 2023-12-01, 12000 from 2024-02-15, churned 2024-03-20
//	C:  5000 from 2023-12-01, churned 2024-02-05, back at 8000 on 02-25
//	D: 30000 new on 2024-02-03
//	E: 10000 from 2023-01-15, 13000 from 2023-06-01
func TestRetention(t *testing.T) {
	one := func(id string, lines []Line, cancels ...string) History {
		return history(t, Customer{ID: id, Subscriptions: []Subscription{sub(id, lines, cancels...)}}, usd)
	}
	hs := []History{
		one("A", []Line{line("a1", "2023-12-01", "2024-01-01", 10000, monthly), line("a2", "2024-02-10", "2024-03-10", 15000, monthly)}),
		one("B", []Line{line("b1", "2023-12-01", "2024-01-01", 20000, monthly), line("b2", "2024-02-15", "2024-03-15", 12000, monthly)}, "2024-03-20"),
		one("C", []Line{line("c1", "2023-12-01", "2024-01-01", 5000, monthly), line("c2", "2024-02-25", "2024-03-25", 8000, monthly)}, "2024-02-05"),
		one("D", []Line{line("d1", "2024-02-03", "2024-03-03", 30000, monthly)}),
		one("E", []Line{line("e1", "2023-01-15", "2023-02-15", 10000, monthly), line("e2", "2023-06-01", "2023-07-01", 13000, monthly)}),
	}
	got, err := Retention(hs, SeriesRequest{Start: day("2024-02-01"), End: day("2024-03-31"), Interval: "month"})
	if err != nil {
		t.Fatal(err)
	}
	want := []RetentionEntry{{
		Date: day("2024-02-29"),
		// February's cohort (customers at the end of January): A 10000,
		// B 20000, C 5000, E 13000 = 48000, 4 customers.
		// Losses: C's churn 5000 + B's contraction 8000 = 13000 / 48000
		// = 27.083 % → 27.08 (D's new business and C's return do not count).
		GrossMRRChurnRate: 27.08,
		// At the end of February: A 15000 + B 12000 + C 8000 + E 13000 =
		// 48000 / 48000 = 100.00 %.
		NetMRRRetention: 100,
		// Capped at each start: 10000 + 12000 + 5000 + 13000 = 40000 /
		// 48000 = 83.333 % → 83.33.
		GrossMRRRetention: 83.33,
		// All four are customers at the end (C came back): 4/4.
		CustomerRetention: 100,
		// Twelve months back (the end of February 2023) only E was a
		// customer, at 10000; now 13000: 130.00 % net, 100.00 % gross, 1/1.
		NetMRRRetentionT12M: 130, GrossMRRRetentionT12M: 100, CustomerRetentionT12M: 100,
	}, {
		Date: day("2024-03-31"),
		// March's cohort: A 15000, B 12000, C 8000, D 30000, E 13000 =
		// 78000, 5 customers. B churns: 12000 / 78000 = 15.385 % → 15.38.
		GrossMRRChurnRate: 15.38,
		// End: 78000 − 12000 = 66000 / 78000 = 84.615 % → 84.62; no one
		// grew, so gross is the same.
		NetMRRRetention: 84.62, GrossMRRRetention: 84.62,
		// 4 of 5 still customers.
		CustomerRetention: 80,
		// The end of March 2023: again E alone.
		NetMRRRetentionT12M: 130, GrossMRRRetentionT12M: 100, CustomerRetentionT12M: 100,
	}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("retention:\n got %+v\nwant %+v", got, want)
	}
	// An empty book has no base for any rate.
	empty, _ := Retention(nil, SeriesRequest{Start: day("2024-02-01"), End: day("2024-02-29"), Interval: "month"})
	if fmt.Sprint(empty) != fmt.Sprint([]RetentionEntry{{Date: day("2024-02-29")}}) {
		t.Errorf("empty: %+v", empty)
	}
}
