package demo

import (
	"time"
)

// DataSourceName names the demo's data source; its presence in an account
// is how Install knows the demo is already there.
const DataSourceName = "Tally demo"

// Book is a whole synthetic business, ready to send to the API. Plans are
// referred to by external id and invoices by external id: the UUIDs are
// the server's to assign.
type Book struct {
	Seed uint64
	// Anchor is the book's "today" (UTC midnight): every invoice,
	// transaction and cancellation is before it; scheduled events take
	// effect after it.
	Anchor time.Time
	// Start is three years before Anchor: no customer is older.
	Start     time.Time
	Plans     []Plan
	Customers []Customer
	// Rates is a synthetic daily USD-per-EUR series over [Start−7d, Anchor],
	// for the EUR customers' invoices (metrics.md rule 20).
	Rates []Rate
	// Story counts what the generator made happen; Stats counts what the
	// book holds.
	Story Story
}

// Plan is a plan of the demo's data source.
type Plan struct {
	ExternalID    string
	Name          string
	IntervalCount int
	IntervalUnit  string // month or year
}

// Customer is one customer with everything sent about it.
type Customer struct {
	ExternalID string
	Name       string
	Email      string
	Company    string
	Country    string
	City       string
	Channel    string // custom attribute "channel"
	Tags       []string
	// Currency is what its invoices are in: USD, or EUR in the euro area.
	Currency string
	Invoices []Invoice
	// Cancellations are sent with PATCH /v1/import/subscriptions/{uuid}
	// after the invoices (the other cancellations are line cancelled_at).
	Cancellations []Cancellation
	// LateTransactions are refunds sent with POST
	// /v1/import/invoices/{uuid}/transactions after the invoices.
	LateTransactions []LateTransaction
	// Events go to POST /v1/subscription_events, in order.
	Events []Event
}

// Invoice is one invoice of a customer.
type Invoice struct {
	ExternalID   string
	Date         time.Time
	Currency     string
	Lines        []Line
	Transactions []Transaction
}

// Line types.
const (
	LineSubscription = "subscription"
	LineOneTime      = "one_time"
)

// Line is one invoice line. Amount includes Tax; MRR counts Amount − Tax.
type Line struct {
	ExternalID             string
	Type                   string
	SubscriptionExternalID string // subscription lines
	PlanExternalID         string // subscription lines
	Start, End             time.Time
	Amount                 int64
	Tax                    int64
	Quantity               int64
	Prorated               bool
	CancelledAt            *time.Time
	Description            string
}

// Transaction types and results.
const (
	Payment    = "payment"
	Refund     = "refund"
	Successful = "successful"
	Failed     = "failed"
)

// Transaction is a payment or refund attempt. Amount nil means the whole
// invoice.
type Transaction struct {
	ExternalID string
	Type       string
	Result     string
	Date       time.Time
	Amount     *int64
}

// Cancellation cancels a subscription at an instant.
type Cancellation struct {
	SubscriptionExternalID string
	At                     time.Time
}

// LateTransaction is a transaction added to an already imported invoice.
type LateTransaction struct {
	InvoiceExternalID string
	Transaction       Transaction
}

// Scheduled subscription event types the demo sends.
const (
	StartScheduled        = "subscription_start_scheduled"
	UpdateScheduled       = "subscription_update_scheduled"
	CancellationScheduled = "subscription_cancellation_scheduled"
	CancellationRetracted = "scheduled_subscription_cancellation_retracted"
)

// Event is a subscription event. Plan, Currency, Amount and Quantity are
// set for start and update types only.
type Event struct {
	ExternalID             string
	Type                   string
	SubscriptionExternalID string
	PlanExternalID         string
	Currency               string
	Amount                 int64 // tax included
	Tax                    int64
	Quantity               int64
	EventDate              time.Time
	EffectiveDate          time.Time
}

// Rate is one day's USD per EUR, an exact decimal.
type Rate struct {
	Day    time.Time
	PerEUR string
}

// Story counts the generator's decisions, each of which should show in the
// metrics as the movement named beside it.
type Story struct {
	Paying        int // customers who ever paid: new_biz
	Conversions   int // free plan to paid on the same subscription (among Paying)
	Upgrades      int // to a higher tier: expansion
	SeatIncreases int // more seats on the same plan: expansion
	Downgrades    int // to a lower tier: contraction
	SeatDecreases int // fewer seats: contraction
	AnnualSwitch  int // monthly to annual billing (two months free): contraction
	Prorated      int // upgrades and seat increases made mid-period with prorated lines (among the above)
	Churns        int // paid subscriptions cancelled: churn
	Delinquent    int // churns after every payment attempt failed (among Churns)
	Reactivations int // churned customers who came back on a new subscription: reactivation
	FreeCancelled int // free-plan subscriptions cancelled: no movement
}

// Expansions is the number of expansion movements the story implies.
func (s Story) Expansions() int { return s.Upgrades + s.SeatIncreases }

// Contractions is the number of contraction movements the story implies.
func (s Story) Contractions() int { return s.Downgrades + s.SeatDecreases + s.AnnualSwitch }

// Stats counts what a book holds.
type Stats struct {
	Customers, EURCustomers, Prospects          int
	Plans, Subscriptions                        int
	Invoices, EURInvoices, Lines                int
	ProratedLines, OneTimeLines, FreeLines      int
	Payments, FailedPayments, RetriedPayments   int // RetriedPayments: invoices with a failed payment then a successful one
	Refunds, LateRefunds                        int
	LineCancellations, PatchCancellations       int
	StartScheduled, UpdateScheduled             int
	CancellationScheduled, CancellationRetracts int
}

// Stats counts the book's contents.
func (b *Book) Stats() Stats {
	s := Stats{Customers: len(b.Customers), Plans: len(b.Plans)}
	subs := map[string]bool{}
	for _, c := range b.Customers {
		if c.Currency == "EUR" {
			s.EURCustomers++
		}
		if len(c.Invoices) == 0 {
			s.Prospects++
		}
		for _, inv := range c.Invoices {
			s.Invoices++
			if inv.Currency == "EUR" {
				s.EURInvoices++
			}
			for _, l := range inv.Lines {
				s.Lines++
				switch {
				case l.Type == LineOneTime:
					s.OneTimeLines++
				case l.Prorated:
					s.ProratedLines++
				case l.Amount == 0:
					s.FreeLines++
				}
				if l.SubscriptionExternalID != "" {
					subs[l.SubscriptionExternalID] = true
				}
				if l.CancelledAt != nil {
					s.LineCancellations++
				}
			}
			failed := false
			for _, t := range inv.Transactions {
				switch {
				case t.Type == Refund:
					s.Refunds++
				case t.Result == Failed:
					s.FailedPayments++
					failed = true
				default:
					s.Payments++
					if failed {
						s.RetriedPayments++
					}
				}
			}
		}
		s.LateRefunds += len(c.LateTransactions)
		s.Refunds += len(c.LateTransactions)
		s.PatchCancellations += len(c.Cancellations)
		for _, e := range c.Events {
			switch e.Type {
			case StartScheduled:
				s.StartScheduled++
			case UpdateScheduled:
				s.UpdateScheduled++
			case CancellationScheduled:
				s.CancellationScheduled++
			case CancellationRetracted:
				s.CancellationRetracts++
			}
		}
	}
	s.Subscriptions = len(subs)
	return s
}
