package billing

import "time"

// Access is what an API key may do.
type Access string

const (
	AccessFull Access = "full"
	AccessRead Access = "read"
)

// Account is one tenant of a Tally server; every other object belongs to
// exactly one account.
type Account struct {
	ID                      int64
	UUID                    string
	Name                    string
	Currency                string
	TimeZone                string
	WeekStartOn             string
	ChurnRecognition        string
	ActivityGroupingMinutes int
	CreatedAt               time.Time
}

// APIKey is a stored key: only its hash and a short prefix are kept.
type APIKey struct {
	ID          int64
	AccountID   int64
	AccountName string
	Prefix      string
	Access      Access
	CreatedAt   time.Time
	RevokedAt   *time.Time
}

// DataSource is a billing system the account imports from.
type DataSource struct {
	ID        int64
	UUID      string
	Name      string
	System    string
	CreatedAt time.Time
	// Status is derived: never_imported until the source holds data.
	Status string
}

// CustomAttribute is one typed custom attribute of a customer.
type CustomAttribute struct {
	Type   string `json:"type"`
	Value  any    `json:"value"`
	Source string `json:"source,omitempty"`
}

// Customer is a customer as imported; MRR and status are derived later by
// the metrics engine and only stored here for reading.
type Customer struct {
	ID                 int64
	UUID               string
	DataSourceUUID     string
	DataSourceSystem   string
	ExternalID         string
	Name               string
	Email              string
	Company            string
	Country            *string
	State              *string
	City               string
	Zip                *string
	WebsiteURL         *string
	Owner              *string
	LeadCreatedAt      *time.Time
	FreeTrialStartedAt *time.Time
	Tags               []string
	// Custom holds the custom attributes by key; the wire shows only values.
	Custom map[string]CustomAttribute
	// Identities are every (data source, external id) the customer is
	// known by: its own first, then those of customers merged into it.
	Identities    []Identity
	Status        string
	MRR           int64
	CustomerSince *time.Time
	CreatedAt     time.Time
}

// Identity is one (data source, external id) of a customer.
type Identity struct {
	DataSourceUUID string
	ExternalID     string
}

// Plan is a subscription plan of one data source.
type Plan struct {
	ID             int64
	UUID           string
	DataSourceUUID string
	ExternalID     string
	Name           string
	IntervalCount  int
	IntervalUnit   string
	CreatedAt      time.Time
}

// Customer statuses the store writes before the metrics engine runs.
const StatusNewLead = "New Lead"

// The statuses a customer's MRR timeline gives it: Active while a
// customer, Cancelled after having been one (statusExpr in the store
// works out the same).
const (
	StatusActive    = "Active"
	StatusCancelled = "Cancelled"
)

// SystemImportAPI is the system of a data source created through the API.
const SystemImportAPI = "Import API"

// PlanGroup is a named set of plans, for filtering and reporting.
type PlanGroup struct {
	ID         int64
	UUID       string
	Name       string
	PlansCount int
}
