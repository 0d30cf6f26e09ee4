package billing

import (
	"fmt"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// Line item types. A trial line is a subscription line of a free trial: it
// belongs to a subscription but carries no MRR (metrics.md rule 3).
const (
	LineSubscription = "subscription"
	LineOneTime      = "one_time"
	LineTrial        = "trial"
)

// Proration types of metrics.md rule 7.
var ProrationTypes = map[string]bool{"differential": true, "full": true, "differential_mrr": true}

// Invoice is an imported invoice with its lines and transactions.
type Invoice struct {
	ID                 int64
	UUID               string
	ExternalID         string
	CustomerUUID       string
	CustomerExternalID string
	DataSourceUUID     string
	Date               time.Time
	DueDate            *time.Time
	Currency           string
	Status             *string
	CollectionMethod   *string
	Disabled           Disabled
	LineItems          []LineItem
	Transactions       []Transaction
}

// LineItem is one line of an invoice.
type LineItem struct {
	ID                        int64
	UUID                      string
	ExternalID                *string
	Type                      string
	SubscriptionUUID          string
	SubscriptionExternalID    string
	SubscriptionSetExternalID *string
	PlanUUID                  string
	// PlanExternalID names the plan instead of PlanUUID, as a bulk
	// import's line items may (resolved in the invoice's data source).
	PlanExternalID          string
	ServicePeriodStart      *time.Time
	ServicePeriodEnd        *time.Time
	AmountInCents           int64
	Quantity                int64
	Prorated                bool
	ProrationType           *string
	CancelledAt             *time.Time
	DiscountAmountInCents   int64
	DiscountCode            string
	DiscountDescription     *string
	TaxAmountInCents        int64
	TransactionFeesInCents  int64
	TransactionFeesCurrency *string
	AccountCode             string
	Description             *string
	EventOrder              *int64
	BalanceTransfer         bool
	Disabled                Disabled
	// UserCreated marks a line added to its invoice after the import.
	UserCreated bool
}

// HasSubscription reports whether the line belongs to a subscription.
func (l LineItem) HasSubscription() bool { return l.Type == LineSubscription || l.Type == LineTrial }

// Transaction is a payment or refund attempt against an invoice.
type Transaction struct {
	ID                      int64
	UUID                    string
	ExternalID              *string
	Type                    string
	Result                  string
	Date                    time.Time
	AmountInCents           *int64
	TransactionFeesInCents  *int64
	TransactionFeesCurrency *string
	Disabled                Disabled
	// UserCreated marks a transaction added to its invoice after the
	// import.
	UserCreated bool
}

// Disabled is the disabled state of an invoice, line item, transaction or
// subscription event (issue 13): a disabled object is kept and listed on
// request but counts in no metric. A nil At is enabled; By is the author
// (an API key's prefix). A line or transaction of a disabled invoice counts
// in nothing either, whatever its own state says.
type Disabled struct {
	At *time.Time
	By *string
}

// IsDisabled reports whether the object itself is disabled.
func (d Disabled) IsDisabled() bool { return d.At != nil }

// Messages the Go client compares verbatim (api-reference.md §1.9).
const (
	MsgDuplicateInvoice     = "The external ID for this invoice already exists in our system."
	MsgDuplicateLineItem    = "The external ID for this line item already exists in our system."
	MsgDuplicateTransaction = "has already been taken"
)

// ValidateInvoice checks an invoice's own fields (api.md rule 5) and adds
// what is wrong to errs, keyed as ChartMogul keys them: `line_items.<field>`
// and `transactions.<field>`, the message naming the line. References to
// plans and duplicates are checked where the data is (the store).
func ValidateInvoice(inv *Invoice, errs FieldErrors) {
	ValidateInvoiceHeader(inv, errs)
	for i := range inv.LineItems {
		ValidateLine(fmt.Sprintf("Line item #%d", i+1), "line_items.", &inv.LineItems[i], errs)
	}
	for i := range inv.Transactions {
		ValidateTransaction(fmt.Sprintf("transactions (#%d)", i+1), "transactions.", &inv.Transactions[i], errs)
	}
}

// ValidateInvoiceHeader is ValidateInvoice without the lines' and
// transactions' own fields: a bulk import validates those as objects of
// their own, and the invoice once they are attached to it.
func ValidateInvoiceHeader(inv *Invoice, errs FieldErrors) {
	if inv.ExternalID == "" {
		errs["external_id"] = "An external ID is required for each invoice."
	}
	checkLength(errs, "external_id", "The external ID must be ", inv.ExternalID, MaxIDLength)
	checkLength(errs, "customer_external_id", "The customer external ID must be ", inv.CustomerExternalID, MaxIDLength)
	checkLength(errs, "data_source_uuid", "The data source UUID must be ", inv.DataSourceUUID, MaxIDLength)
	CheckCount(errs, "line_items", len(inv.LineItems), MaxItems)
	CheckCount(errs, "transactions", len(inv.Transactions), MaxItems)
	if inv.Date.IsZero() && errs["date"] == "" {
		errs["date"] = "A date is required for each invoice."
	}
	if !money.Valid(inv.Currency) && errs["currency"] == "" {
		errs["currency"] = fmt.Sprintf("%q is not an ISO 4217 currency code.", inv.Currency)
	}
	if len(inv.LineItems) == 0 && errs["line_items"] == "" {
		errs["line_items"] = "An invoice needs at least one line item."
	}
}

// addErr keeps the first message for a key: ChartMogul's flat keys cannot
// hold one message per line.
func addErr(errs FieldErrors, key, msg string) {
	if _, ok := errs[key]; !ok {
		errs[key] = msg
	}
}

// ValidateLine checks one line item: what names it in messages ("Line item
// #2" inside an invoice, "The line item" on its own) and prefix is
// prepended to keys ("line_items." inside an invoice, "" on its own), as
// for transactions. An invoice's lines and a line added to or edited in an
// imported invoice are checked by this one function.
func ValidateLine(what, prefix string, l *LineItem, errs FieldErrors) {
	at := what + ": "
	switch l.Type {
	case LineSubscription, LineTrial, LineOneTime:
	default:
		addErr(errs, prefix+"type", at+"the type must be subscription, one_time or trial.")
		return
	}
	if l.Quantity == 0 {
		addErr(errs, prefix+"quantity", at+"the quantity must not be zero.")
	}
	checkAmount(errs, prefix+"amount_in_cents", at+"the amount must be ", l.AmountInCents)
	checkAmount(errs, prefix+"discount_amount_in_cents", at+"the discount must be ", l.DiscountAmountInCents)
	checkAmount(errs, prefix+"tax_amount_in_cents", at+"the tax must be ", l.TaxAmountInCents)
	checkAmount(errs, prefix+"transaction_fees_in_cents", at+"the fees must be ", l.TransactionFeesInCents)
	checkLengthPtr(errs, prefix+"external_id", at+"the external ID must be ", l.ExternalID, MaxIDLength)
	checkLength(errs, prefix+"subscription_external_id", at+"the subscription external ID must be ", l.SubscriptionExternalID, MaxIDLength)
	checkLengthPtr(errs, prefix+"subscription_set_external_id", at+"the subscription set external ID must be ", l.SubscriptionSetExternalID, MaxIDLength)
	checkLength(errs, prefix+"plan_uuid", at+"the plan UUID must be ", l.PlanUUID, MaxIDLength)
	checkLength(errs, prefix+"plan_external_id", at+"the plan external ID must be ", l.PlanExternalID, MaxIDLength)
	checkLength(errs, prefix+"discount_code", at+"the discount code must be ", l.DiscountCode, MaxIDLength)
	checkLength(errs, prefix+"account_code", at+"the account code must be ", l.AccountCode, MaxIDLength)
	if l.TransactionFeesCurrency != nil && !money.Valid(*l.TransactionFeesCurrency) {
		addErr(errs, prefix+"transaction_fees_currency", at+"not an ISO 4217 currency code.")
	}
	if l.ProrationType != nil && !ProrationTypes[*l.ProrationType] {
		addErr(errs, prefix+"proration_type", at+"the proration type must be differential, full or differential_mrr.")
	}
	if !l.HasSubscription() {
		return
	}
	if l.SubscriptionExternalID == "" {
		addErr(errs, prefix+"subscription_external_id", at+"a subscription line needs a subscription_external_id.")
	}
	if l.PlanUUID == "" && l.PlanExternalID == "" {
		addErr(errs, prefix+"plan_uuid", at+"a subscription line needs a plan_uuid.")
	}
	if l.ServicePeriodStart == nil {
		addErr(errs, prefix+"service_period_start", at+"a subscription line needs a service_period_start.")
	}
	if l.ServicePeriodEnd == nil {
		addErr(errs, prefix+"service_period_end", at+"a subscription line needs a service_period_end.")
	}
	if l.ServicePeriodStart != nil && l.ServicePeriodEnd != nil && l.ServicePeriodEnd.Sub(*l.ServicePeriodStart) < time.Second {
		// A period under a second is no billing period; prorated, it would
		// scale a price up by billions (issue 10).
		addErr(errs, prefix+"service_period_end", at+"service_period_end must come at least one second after service_period_start.")
	}
}

// Transaction types and results (api.md rule 5).
var (
	TransactionTypes   = map[string]bool{"payment": true, "refund": true}
	TransactionResults = map[string]bool{"successful": true, "failed": true}
)

// ValidateTransaction checks a transaction; prefix is prepended to keys
// ("transactions." inside an invoice, "" on its own).
func ValidateTransaction(what, prefix string, t *Transaction, errs FieldErrors) {
	if !TransactionTypes[t.Type] {
		addErr(errs, prefix+"type", what+": the type must be payment or refund.")
	}
	if !TransactionResults[t.Result] {
		addErr(errs, prefix+"result", what+": the result must be successful or failed.")
	}
	if t.Date.IsZero() {
		addErr(errs, prefix+"date", what+": a date is required.")
	}
	if t.AmountInCents != nil && *t.AmountInCents < 0 {
		addErr(errs, prefix+"amount_in_cents", what+": the amount must not be negative.")
	}
	checkAmountPtr(errs, prefix+"amount_in_cents", what+": the amount must be ", t.AmountInCents)
	checkAmountPtr(errs, prefix+"transaction_fees_in_cents", what+": the fees must be ", t.TransactionFeesInCents)
	checkLengthPtr(errs, prefix+"external_id", what+": the external ID must be ", t.ExternalID, MaxIDLength)
	if t.TransactionFeesCurrency != nil && !money.Valid(*t.TransactionFeesCurrency) {
		addErr(errs, prefix+"transaction_fees_currency", what+": not an ISO 4217 currency code.")
	}
}

// Subscription is a subscription of the Import API: created on the first
// line item naming its external id in a data source.
type Subscription struct {
	ID                        int64
	UUID                      string
	ExternalID                string
	SubscriptionSetExternalID *string
	CustomerUUID              string
	DataSourceUUID            string
	// PlanUUID is the plan of its latest line item.
	PlanUUID          string
	CancellationDates []time.Time
}
