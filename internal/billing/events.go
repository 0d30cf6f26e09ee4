package billing

import (
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/money"
)

// The ten subscription event types (api-reference.md §2.11).
const (
	EventStart                 = "subscription_start"
	EventStartScheduled        = "subscription_start_scheduled"
	EventStartRetracted        = "scheduled_subscription_start_retracted"
	EventCancelled             = "subscription_cancelled"
	EventCancellationScheduled = "subscription_cancellation_scheduled"
	EventCancellationRetracted = "scheduled_subscription_cancellation_retracted"
	EventUpdated               = "subscription_updated"
	EventUpdateScheduled       = "subscription_update_scheduled"
	EventUpdateRetracted       = "scheduled_subscription_update_retracted"
	EventRetracted             = "subscription_event_retracted"
)

// RetractionTargets maps each typed retraction to the scheduled type it
// withdraws. EventRetracted withdraws any event by retracted_event_id.
var RetractionTargets = map[string]string{
	EventStartRetracted:        EventStartScheduled,
	EventCancellationRetracted: EventCancellationScheduled,
	EventUpdateRetracted:       EventUpdateScheduled,
}

// eventNeedsPlan lists the types that set what a subscription is: they
// need a plan, a currency and an amount.
var eventNeedsPlan = map[string]bool{EventStart: true, EventStartScheduled: true, EventUpdated: true, EventUpdateScheduled: true}

// EventTypes is the set of valid event types.
var EventTypes = map[string]bool{
	EventStart: true, EventStartScheduled: true, EventStartRetracted: true,
	EventCancelled: true, EventCancellationScheduled: true, EventCancellationRetracted: true,
	EventUpdated: true, EventUpdateScheduled: true, EventUpdateRetracted: true, EventRetracted: true,
}

// IsRetraction reports whether the type withdraws another event.
func IsRetraction(eventType string) bool {
	_, typed := RetractionTargets[eventType]
	return typed || eventType == EventRetracted
}

// SubscriptionEvent is one event of the subscription-events endpoint.
type SubscriptionEvent struct {
	ID                        int64
	DataSourceUUID            string
	CustomerExternalID        string
	SubscriptionExternalID    string
	SubscriptionSetExternalID *string
	PlanExternalID            *string
	ExternalID                *string
	EventType                 string
	EventDate                 time.Time
	EffectiveDate             time.Time
	Currency                  *string
	AmountInCents             *int64
	Quantity                  *int64
	TaxAmountInCents          *int64
	EventOrder                *int64
	RetractedEventID          *int64
	// RetractedExternalID names the retracted event by its external id
	// when the client sent one instead of a numeric id.
	RetractedExternalID string
	// Errors holds what is wrong with a stored event (a retraction that
	// matched nothing).
	Errors    FieldErrors
	CreatedAt time.Time
	UpdatedAt time.Time
	Disabled  Disabled
}

// ValidateEvent checks an event's own fields; references (data source,
// customer, plan, retracted event) are checked by the store.
func ValidateEvent(e *SubscriptionEvent, errs FieldErrors) {
	required := map[string]string{
		"data_source_uuid":         e.DataSourceUUID,
		"customer_external_id":     e.CustomerExternalID,
		"subscription_external_id": e.SubscriptionExternalID,
		"event_type":               e.EventType,
	}
	for field, v := range required {
		if strings.TrimSpace(v) == "" {
			addErr(errs, field, "The "+field+" is required.")
		}
	}
	if e.EventType != "" && !EventTypes[e.EventType] {
		addErr(errs, "event_type", "The event type "+e.EventType+" is not one of the ten subscription event types.")
	}
	if e.EventDate.IsZero() {
		addErr(errs, "event_date", "The event_date is required.")
	}
	if e.EffectiveDate.IsZero() {
		addErr(errs, "effective_date", "The effective_date is required.")
	}
	if e.Currency != nil && !money.Valid(*e.Currency) {
		addErr(errs, "currency", "The currency is not an ISO 4217 code.")
	}
	if eventNeedsPlan[e.EventType] {
		if e.PlanExternalID == nil {
			addErr(errs, "plan_external_id", "A "+e.EventType+" event needs a plan_external_id.")
		}
		if e.Currency == nil {
			addErr(errs, "currency", "A "+e.EventType+" event needs a currency.")
		}
		if e.AmountInCents == nil {
			addErr(errs, "amount_in_cents", "A "+e.EventType+" event needs an amount_in_cents.")
		}
	}
	for field, v := range required {
		checkLength(errs, field, "The "+field+" must be ", v, MaxIDLength)
	}
	checkLengthPtr(errs, "subscription_set_external_id", "The subscription_set_external_id must be ", e.SubscriptionSetExternalID, MaxIDLength)
	checkLengthPtr(errs, "plan_external_id", "The plan_external_id must be ", e.PlanExternalID, MaxIDLength)
	checkLengthPtr(errs, "external_id", "The external_id must be ", e.ExternalID, MaxIDLength)
	checkLength(errs, "retracted_event_id", "The retracted_event_id must be ", e.RetractedExternalID, MaxIDLength)
	checkAmountPtr(errs, "amount_in_cents", "The amount must be ", e.AmountInCents)
	checkAmountPtr(errs, "tax_amount_in_cents", "The tax must be ", e.TaxAmountInCents)
	if e.Quantity != nil && *e.Quantity == 0 {
		addErr(errs, "quantity", "The quantity must not be zero.")
	}
	if e.EventType == EventRetracted && e.RetractedEventID == nil && e.RetractedExternalID == "" {
		addErr(errs, "retracted_event_id", "A subscription_event_retracted event needs the retracted_event_id of the event it withdraws.")
	}
	if !IsRetraction(e.EventType) && (e.RetractedEventID != nil || e.RetractedExternalID != "") {
		addErr(errs, "retracted_event_id", "Only retraction events name a retracted_event_id.")
	}
}
