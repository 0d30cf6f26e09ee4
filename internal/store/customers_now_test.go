package store

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

// nowOf is what the customer list's status, MRR order and plan filter read
// (migration 00012): the state at a moment, and the next instant it may
// change, which a step changes too even where the MRR does not (a move to
// another plan at the same price).
func TestNowOf(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	points := []ResultPoint{{At: day(1), MRR: 1000, Active: true}, {At: day(20), MRR: 0}}
	steps := []ResultStep{
		{SubscriptionUUID: "s1", At: day(1), MRR: 1000, Live: true, Plan: "bronze"},
		{SubscriptionUUID: "s1", At: day(10), MRR: 1000, Live: true, Plan: "gold"}, // same price: no point
		{SubscriptionUUID: "s1", At: day(20), Plan: "gold"},                        // cancelled
		{SubscriptionUUID: "s2", At: day(2), Live: true, Plan: "free"},             // free, live
		{SubscriptionUUID: "s3", At: day(1), MRR: 500, Live: true, Plan: "bronze"},
		{SubscriptionUUID: "s3", At: day(3), Plan: "bronze"}, // cancelled early
	}
	for _, c := range []struct {
		at     time.Time
		status string
		mrr    int64
		plans  []string
		until  time.Time
	}{
		{day(1).Add(-time.Millisecond), billing.StatusNewLead, 0, nil, day(1)},
		{day(2), billing.StatusActive, 1000, []string{"bronze", "free"}, day(3)},
		{day(5), billing.StatusActive, 1000, []string{"bronze", "free"}, day(10)},
		{day(10), billing.StatusActive, 1000, []string{"free", "gold"}, day(20)},
		{day(25), billing.StatusCancelled, 0, []string{"free"}, time.Time{}},
	} {
		got := nowOf(7, 3, points, steps, c.at)
		until := int64(math.MaxInt64)
		if !c.until.IsZero() {
			until = millis(c.until)
		}
		if got.id != 7 || got.acct != 3 || got.status != c.status || got.mrr != c.mrr || !slices.Equal(got.plans, c.plans) || got.until != until {
			t.Errorf("at %s: %+v, want %s %d %v until %d", c.at, got, c.status, c.mrr, c.plans, until)
		}
	}
}
