package demo

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// anchor is the tests' fixed "today".
var anchor = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(1, anchor, DefaultCustomers), Generate(1, anchor, DefaultCustomers)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("the same seed gave two books (-first +second):\n%s", cmp.Diff(a, b))
	}
	if reflect.DeepEqual(a.Customers, Generate(2, anchor, DefaultCustomers).Customers) {
		t.Fatal("seeds 1 and 2 gave the same customers")
	}
	// A time of day or another zone names the same anchor day.
	c := Generate(1, anchor.Add(15*time.Hour).In(time.FixedZone("X", 3600)), DefaultCustomers)
	if !reflect.DeepEqual(a, c) {
		t.Fatal("the anchor's time of day changed the book")
	}
}

// TestBookHasEveryFeature counts each feature the demo promises, both in
// the book's contents and in the generator's story.
func TestBookHasEveryFeature(t *testing.T) {
	b := Generate(1, anchor, DefaultCustomers)
	st, story := b.Stats(), b.Story
	t.Logf("stats %+v", st)
	t.Logf("story %+v", story)
	for _, c := range []struct {
		name     string
		got, min int
	}{
		{"customers", st.Customers, DefaultCustomers},
		{"EUR customers", st.EURCustomers, 20},
		{"prospects", st.Prospects, 5},
		{"plans", st.Plans, 7},
		{"invoices", st.Invoices, 2000},
		{"EUR invoices", st.EURInvoices, 300},
		{"prorated lines", st.ProratedLines, 20},
		{"one-time lines", st.OneTimeLines, 20},
		{"free-plan lines", st.FreeLines, 50},
		{"failed payments", st.FailedPayments, 50},
		{"failed payments retried successfully", st.RetriedPayments, 50},
		{"refunds", st.Refunds, 20},
		{"refunds sent later", st.LateRefunds, 5},
		{"line cancellations", st.LineCancellations, 10},
		{"PATCH cancellations", st.PatchCancellations, 10},
		{"scheduled starts", st.StartScheduled, 5},
		{"scheduled updates", st.UpdateScheduled, 5},
		{"scheduled cancellations", st.CancellationScheduled, 3},
		{"retracted scheduled cancellations", st.CancellationRetracts, 1},
		{"paying customers", story.Paying, 200},
		{"free-to-paid conversions", story.Conversions, 5},
		{"upgrades", story.Upgrades, 20},
		{"seat increases", story.SeatIncreases, 20},
		{"downgrades", story.Downgrades, 5},
		{"seat decreases", story.SeatDecreases, 5},
		{"switches to annual", story.AnnualSwitch, 3},
		{"prorated changes", story.Prorated, 20},
		{"churns", story.Churns, 50},
		{"delinquent churns", story.Delinquent, 1},
		{"reactivations", story.Reactivations, 10},
		{"free cancellations", story.FreeCancelled, 3},
	} {
		if c.got < c.min {
			t.Errorf("%s: %d, want at least %d", c.name, c.got, c.min)
		}
	}
	if st.ProratedLines > 0 && story.Prorated == 0 {
		t.Error("prorated lines without a prorated change in the story")
	}
}

// TestBookIsValid checks what the API would refuse or the anchor forbids:
// nothing on or after the anchor but scheduled events, which all take
// effect after it; ids unique; subscription periods well formed.
func TestBookIsValid(t *testing.T) {
	b := Generate(7, anchor, DefaultCustomers)
	ids := map[string]bool{}
	unique := func(id string) {
		t.Helper()
		if id == "" || ids[id] {
			t.Fatalf("external id %q empty or used twice", id)
		}
		ids[id] = true
	}
	before := func(what string, at time.Time) {
		t.Helper()
		if !at.Before(b.Anchor) || at.Before(b.Start) {
			t.Fatalf("%s at %s, outside [%s, %s)", what, at, b.Start, b.Anchor)
		}
	}
	plans := map[string]bool{}
	for _, p := range b.Plans {
		plans[p.ExternalID] = true
	}
	days := map[time.Time]bool{}
	for _, r := range b.Rates {
		days[r.Day] = true
	}
	for _, c := range b.Customers {
		unique(c.ExternalID)
		for _, inv := range c.Invoices {
			unique(inv.ExternalID)
			before("invoice "+inv.ExternalID, inv.Date)
			if len(inv.Lines) == 0 {
				t.Fatalf("invoice %s has no lines", inv.ExternalID)
			}
			for _, l := range inv.Lines {
				unique(l.ExternalID)
				if l.Type != LineSubscription {
					continue
				}
				before("line "+l.ExternalID, l.Start)
				if !l.End.After(l.Start) || !plans[l.PlanExternalID] || l.SubscriptionExternalID == "" {
					t.Fatalf("bad subscription line %+v", l)
				}
				if l.Start.Day() > 28 && !l.Prorated {
					t.Fatalf("line %s starts on day %d", l.ExternalID, l.Start.Day())
				}
				if inv.Currency == "EUR" && !days[l.Start.Truncate(24*time.Hour)] {
					t.Fatalf("no rate for EUR line %s starting %s", l.ExternalID, l.Start)
				}
				if l.CancelledAt != nil {
					before("cancellation", *l.CancelledAt)
				}
			}
			for _, tx := range inv.Transactions {
				unique(tx.ExternalID)
				before("transaction "+tx.ExternalID, tx.Date)
			}
		}
		for _, x := range c.Cancellations {
			before("cancellation", x.At)
		}
		for _, lt := range c.LateTransactions {
			unique(lt.Transaction.ExternalID)
			before("transaction "+lt.Transaction.ExternalID, lt.Transaction.Date)
		}
		for _, e := range c.Events {
			unique(e.ExternalID)
			if !e.EventDate.Before(b.Anchor) || !e.EffectiveDate.After(b.Anchor) {
				t.Fatalf("event %s: recorded %s, effective %s; want before and after the anchor %s", e.ExternalID, e.EventDate, e.EffectiveDate, b.Anchor)
			}
			if e.PlanExternalID != "" && !plans[e.PlanExternalID] {
				t.Fatalf("event %s names an unknown plan", e.ExternalID)
			}
		}
	}
}

func TestRatesDependOnTheDayAlone(t *testing.T) {
	a := rates(anchor.AddDate(0, 0, -30), anchor)
	b := Generate(99, anchor.AddDate(0, 2, 0), 10).Rates
	byDay := map[time.Time]string{}
	for _, r := range b {
		byDay[r.Day] = r.PerEUR
	}
	for _, r := range a {
		if byDay[r.Day] != r.PerEUR {
			t.Fatalf("%s: %s here, %s in another book", r.Day, r.PerEUR, byDay[r.Day])
		}
		if r.PerEUR < "1.0300" || r.PerEUR > "1.1700" {
			t.Fatalf("%s: rate %s out of range", r.Day, r.PerEUR)
		}
	}
	if len(a) != 31 {
		t.Fatalf("%d rates for 31 days", len(a))
	}
}
