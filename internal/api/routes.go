package api

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/telemetry"
)

// Options configure the API.
type Options struct {
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body (413 above it); default 16 MiB.
	MaxBodyBytes int64
	// RateLimit is requests per second per key (0 turns limiting off);
	// RateBurst the bucket size.
	RateLimit float64
	RateBurst int
	// MaxInvoices bounds one import request (413 above it); default 1,000.
	MaxInvoices int
	// MaxEntries bounds the entries of one Metrics API answer (400 above
	// it); default 5,000.
	MaxEntries int
	// MaxInFlight bounds one key's requests in flight at once to the
	// endpoints whose cost grows with the account (metrics, activities,
	// exports); 429 above it. Default 4.
	MaxInFlight int
	// SnapshotMinCustomers is the customers from which an account's
	// cache is written as snapshots for faster starts (0: 2,000;
	// negative: never written nor read).
	SnapshotMinCustomers int
	// BodyTimeout bounds the time a request's body may take to arrive
	// (0: none; the server sets one, default a minute).
	BodyTimeout time.Duration
	// WriteTimeout bounds the time an answer may take to be taken by the
	// client, from the start of its writing and again at each write (0:
	// none; the server sets one, default a minute).
	WriteTimeout time.Duration
	// PublicURL is the server's address as clients reach it (scheme, host
	// and any path prefix); export file URLs start with it. Empty: taken
	// from the request.
	PublicURL string
	// Telemetry records recomputations and the results cache for
	// Prometheus (nil: nothing recorded).
	Telemetry *telemetry.Metrics
}

// DefaultOptions are api.md's defaults: 16 MiB bodies, 200 requests/s per
// key with a burst of 400.
func DefaultOptions() Options {
	return Options{MaxBodyBytes: 16 << 20, RateLimit: 200, RateBurst: 400, MaxInvoices: 1000, MaxEntries: 5000, MaxInFlight: 4}
}

// API serves ChartMogul's v1 REST API over a store.
type API struct {
	store  *store.Store
	opts   Options
	log    *slog.Logger
	limits limiters
	// inFlight counts each key's requests to expensive endpoints.
	inFlight inFlight
	// exportPage is the rows an export file reads at a time.
	exportPage int
	// results caches engine results for the Metrics API.
	results resultsCache
	// ids is the permutation of public ids (see ids.go).
	ids atomic.Pointer[idPerms]
	// recomputing runs one recomputation per account at a time (see
	// recompute.go).
	recomputing sync.Map // account id → *accountRecompute
	// reads is the API behind authentication, for Read.
	reads http.Handler
}

// New returns the whole API as one handler, middleware included.
func New(s *store.Store, opts Options) http.Handler {
	return newAPI(s, opts).handler()
}

// NewServer returns the API, whose Handler serves it over HTTP and whose
// Read answers its GET endpoints in process (for the dashboard).
func NewServer(s *store.Store, opts Options) *API { return newAPI(s, opts) }

// Handler is the whole API as one handler, middleware included.
func (a *API) Handler() http.Handler { return a.handler() }

func newAPI(s *store.Store, opts Options) *API {
	def := DefaultOptions()
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = def.MaxBodyBytes
	}
	if opts.MaxInvoices <= 0 {
		opts.MaxInvoices = def.MaxInvoices
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = def.MaxEntries
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = def.MaxInFlight
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = max(1, int(2*opts.RateLimit))
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &API{store: s, opts: opts, log: log, limits: limiters{m: map[int64]*rate.Limiter{}},
		inFlight: inFlight{n: map[int64]int{}}, exportPage: 1000, results: resultsCache{tel: opts.Telemetry, snapMin: opts.SnapshotMinCustomers}}
	if a.results.snapMin == 0 {
		a.results.snapMin = defaultSnapshotMin
	}
	a.reads = plainText(jsonMux(a.routes()))
	return a
}

func (a *API) handler() http.Handler {
	m := a.routes()
	// The route is noted before authentication, so that the request
	// metrics count a refused request under the route it was sent to.
	return telemetry.Routed(m, a.edge(a.authenticate(plainText(a.currentAtOnce(jsonMux(m))))))
}

// routes lists every route of the API. Routes whose cost grows with the
// account (the Metrics API, activities, exports) or with a body of many
// megabytes (bulk imports) are expensive: a key may
// have only --max-in-flight of them running at once.
func (a *API) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /v1/ping", handler(a.ping))
	m.Handle("GET /v1/account", handler(a.getAccount))
	m.Handle("GET /v1/account/settings", handler(a.getSettings))
	m.Handle("PATCH /v1/account/settings", handler(a.updateSettings))

	m.Handle("POST /v1/data_sources", handler(a.createDataSource))
	m.Handle("GET /v1/data_sources", handler(a.listDataSources))
	m.Handle("GET /v1/data_sources/{uuid}", handler(a.getDataSource))
	m.Handle("DELETE /v1/data_sources/{uuid}", handler(a.deleteDataSource))
	m.Handle("DELETE /v1/data_sources/{uuid}/all", handler(a.emptyDataSource))
	m.Handle("DELETE /v1/data_sources/{uuid}/dependent", handler(a.purgeDataSource))
	m.Handle("POST /v1/data_sources/{uuid}/json_imports", a.expensive(handler(a.createJSONImport)))
	m.Handle("GET /v1/data_sources/{uuid}/json_imports/{id}", handler(a.getJSONImport))

	m.Handle("POST /v1/customers", handler(a.createCustomer))
	m.Handle("GET /v1/customers", handler(a.listCustomers))
	m.Handle("GET /v1/customers/search", handler(a.searchCustomers))
	m.Handle("GET /v1/customers/{uuid}", handler(a.getCustomer))
	m.Handle("PATCH /v1/customers/{uuid}", handler(a.updateCustomer))
	m.Handle("PUT /v1/customers/{uuid}", handler(a.updateCustomer))
	m.Handle("DELETE /v1/customers/{uuid}", handler(a.deleteCustomer))

	m.Handle("GET /v1/customers/{uuid}/attributes", handler(a.getAttributes))
	m.Handle("POST /v1/customers/{uuid}/attributes/tags", handler(a.addTags))
	m.Handle("DELETE /v1/customers/{uuid}/attributes/tags", handler(a.removeTags))
	m.Handle("POST /v1/customers/attributes/tags", handler(a.addTagsByEmail))
	m.Handle("POST /v1/customers/{uuid}/attributes/custom", handler(a.addCustom))
	m.Handle("PUT /v1/customers/{uuid}/attributes/custom", handler(a.updateCustom))
	m.Handle("DELETE /v1/customers/{uuid}/attributes/custom", handler(a.removeCustom))
	m.Handle("POST /v1/customers/attributes/custom", handler(a.addCustomByEmail))

	m.Handle("POST /v1/plans", handler(a.createPlan))
	m.Handle("GET /v1/plans", handler(a.listPlans))
	m.Handle("GET /v1/plans/{uuid}", handler(a.getPlan))
	m.Handle("PATCH /v1/plans/{uuid}", handler(a.updatePlan))
	m.Handle("PUT /v1/plans/{uuid}", handler(a.updatePlan))
	m.Handle("DELETE /v1/plans/{uuid}", handler(a.deletePlan))

	m.Handle("POST /v1/import/customers/{uuid}/invoices", handler(a.importInvoices))
	m.Handle("GET /v1/import/customers/{uuid}/invoices", handler(a.customerInvoices))
	m.Handle("GET /v1/invoices", handler(a.allInvoices))
	m.Handle("GET /v1/invoices/{uuid}", handler(a.getInvoice))
	m.Handle("DELETE /v1/invoices/{uuid}", handler(a.deleteInvoice))
	m.Handle("DELETE /v1/invoices", handler(a.deleteInvoice))
	m.Handle("PATCH /v1/invoices/{uuid}", handler(a.editInvoice))
	m.Handle("PATCH /v1/invoices", handler(a.editInvoice))
	m.Handle("PATCH /v1/invoices/{uuid}/disabled_state", handler(a.setInvoiceDisabled))
	m.Handle("PATCH /v1/invoices/disabled_state", handler(a.setInvoiceDisabled))
	m.Handle("DELETE /v1/data_sources/{ds}/customers/{uuid}/invoices", handler(a.deleteCustomerInvoices))
	m.Handle("PUT /v1/data_sources/{ds}/invoices/{external_id}/status", handler(a.setInvoiceStatus))
	m.Handle("POST /v1/import/invoices/{uuid}/transactions", handler(a.addTransaction))
	m.Handle("POST /v1/import/invoices/{uuid}/line_items", handler(a.addLineItem))
	m.Handle("GET /v1/line_items", handler(a.getLineItem))
	m.Handle("PATCH /v1/line_items", handler(a.updateLineItem))
	m.Handle("DELETE /v1/line_items", handler(a.deleteLineItem))
	m.Handle("PATCH /v1/line_items/disabled_state", handler(a.setLineItemDisabled))
	m.Handle("GET /v1/line_items/{uuid}", handler(a.getLineItem))
	m.Handle("PATCH /v1/line_items/{uuid}", handler(a.updateLineItem))
	m.Handle("DELETE /v1/line_items/{uuid}", handler(a.deleteLineItem))
	m.Handle("PATCH /v1/line_items/{uuid}/disabled_state", handler(a.setLineItemDisabled))
	m.Handle("GET /v1/transactions", handler(a.getTransaction))
	m.Handle("PATCH /v1/transactions", handler(a.updateTransaction))
	m.Handle("DELETE /v1/transactions", handler(a.deleteTransaction))
	m.Handle("PATCH /v1/transactions/disabled_state", handler(a.setTransactionDisabled))
	m.Handle("GET /v1/transactions/{uuid}", handler(a.getTransaction))
	m.Handle("PATCH /v1/transactions/{uuid}", handler(a.updateTransaction))
	m.Handle("DELETE /v1/transactions/{uuid}", handler(a.deleteTransaction))
	m.Handle("PATCH /v1/transactions/{uuid}/disabled_state", handler(a.setTransactionDisabled))
	m.Handle("GET /v1/import/customers/{uuid}/subscriptions", handler(a.customerSubscriptions))
	m.Handle("PATCH /v1/import/subscriptions/{uuid}", handler(a.cancelSubscription))

	m.Handle("POST /v1/subscription_events", handler(a.createEvent))
	m.Handle("GET /v1/subscription_events", handler(a.listEvents))
	m.Handle("PATCH /v1/subscription_events", handler(a.updateEvent))
	m.Handle("DELETE /v1/subscription_events", handler(a.deleteEvent))
	m.Handle("PATCH /v1/subscription_events/{id}/disabled_state", handler(a.setEventDisabled))

	m.Handle("POST /v1/customers/merges", handler(a.mergeCustomers))
	m.Handle("POST /v1/customers/unmerges", handler(a.unmergeCustomer))
	m.Handle("POST /v1/customers/{uuid}/connect_subscriptions", handler(a.connectSubscriptions))
	m.Handle("POST /v1/customers/{uuid}/disconnect_subscriptions", handler(a.disconnectSubscriptions))

	m.Handle("POST /v1/plan_groups", handler(a.createPlanGroup))
	m.Handle("GET /v1/plan_groups", handler(a.listPlanGroups))
	m.Handle("GET /v1/plan_groups/{uuid}", handler(a.getPlanGroup))
	m.Handle("PATCH /v1/plan_groups/{uuid}", handler(a.updatePlanGroup))
	m.Handle("DELETE /v1/plan_groups/{uuid}", handler(a.deletePlanGroup))
	m.Handle("GET /v1/plan_groups/{uuid}/plans", handler(a.planGroupPlans))

	m.Handle("POST /v1/segments", handler(a.createSegment))
	m.Handle("GET /v1/segments", handler(a.listSegments))
	m.Handle("GET /v1/segments/{uuid}", handler(a.getSegment))
	m.Handle("PATCH /v1/segments/{uuid}", handler(a.updateSegment))
	m.Handle("DELETE /v1/segments/{uuid}", handler(a.deleteSegment))

	// CRM objects (docs/api.md "CRM objects"); PUT is PATCH, as
	// chartmogul-node's update sends it. The customer-scoped routes name
	// the customer {customer}.
	m.Handle("POST /v1/contacts", handler(a.createContact))
	m.Handle("GET /v1/contacts", handler(a.listContacts))
	m.Handle("GET /v1/contacts/{uuid}", handler(a.getContact))
	m.Handle("PATCH /v1/contacts/{uuid}", handler(a.updateContact))
	m.Handle("PUT /v1/contacts/{uuid}", handler(a.updateContact))
	m.Handle("DELETE /v1/contacts/{uuid}", handler(a.deleteContact))
	m.Handle("POST /v1/contacts/{uuid}/merge/{from}", handler(a.mergeContacts))
	m.Handle("GET /v1/customers/{customer}/contacts", handler(a.listContacts))
	m.Handle("POST /v1/customers/{customer}/contacts", handler(a.createContact))

	m.Handle("POST /v1/customer_notes", handler(a.createNote))
	m.Handle("GET /v1/customer_notes", handler(a.listNotes))
	m.Handle("GET /v1/customer_notes/{uuid}", handler(a.getNote))
	m.Handle("PATCH /v1/customer_notes/{uuid}", handler(a.updateNote))
	m.Handle("PUT /v1/customer_notes/{uuid}", handler(a.updateNote))
	m.Handle("DELETE /v1/customer_notes/{uuid}", handler(a.deleteNote))
	m.Handle("GET /v1/customers/{customer}/notes", handler(a.listNotes))
	m.Handle("POST /v1/customers/{customer}/notes", handler(a.createNote))

	m.Handle("POST /v1/opportunities", handler(a.createOpportunity))
	m.Handle("GET /v1/opportunities", handler(a.listOpportunities))
	m.Handle("GET /v1/opportunities/{uuid}", handler(a.getOpportunity))
	m.Handle("PATCH /v1/opportunities/{uuid}", handler(a.updateOpportunity))
	m.Handle("PUT /v1/opportunities/{uuid}", handler(a.updateOpportunity))
	m.Handle("DELETE /v1/opportunities/{uuid}", handler(a.deleteOpportunity))
	m.Handle("GET /v1/customers/{customer}/opportunities", handler(a.listOpportunities))
	m.Handle("POST /v1/customers/{customer}/opportunities", handler(a.createOpportunity))

	m.Handle("POST /v1/tasks", handler(a.createTask))
	m.Handle("GET /v1/tasks", handler(a.listTasks))
	m.Handle("GET /v1/tasks/{uuid}", handler(a.getTask))
	m.Handle("PATCH /v1/tasks/{uuid}", handler(a.updateTask))
	m.Handle("PUT /v1/tasks/{uuid}", handler(a.updateTask))
	m.Handle("DELETE /v1/tasks/{uuid}", handler(a.deleteTask))
	m.Handle("GET /v1/customers/{customer}/tasks", handler(a.listTasks))
	m.Handle("POST /v1/customers/{customer}/tasks", handler(a.createTask))

	m.Handle("GET /v1/metrics/{name}", a.expensive(handler(a.getMetric)))
	m.Handle("GET /v1/metrics/cash-flow", a.expensive(handler(a.getCashFlow)))
	m.Handle("GET /v1/metrics/retention", a.expensive(handler(a.getRetention)))
	m.Handle("GET /v1/metrics/cmrr", a.expensive(handler(a.getCMRR)))
	m.Handle("GET /v1/metrics/cohorts", a.expensive(handler(a.getCohorts)))
	m.Handle("GET /v1/metrics/cohorts/customers", a.expensive(handler(a.getCohortCustomers)))
	m.Handle("GET /v1/activities", a.expensive(handler(a.activities)))
	m.Handle("GET /v1/activities/{uuid}/sources", handler(a.activitySources))
	m.Handle("POST /v1/activities_export", a.expensive(handler(a.createActivityExport)))
	m.Handle("GET /v1/activities_export/{id}", handler(a.getActivityExport))
	m.Handle("GET /v1/activities_export/{id}/file", a.expensive(handler(a.activityExportFile)))
	m.Handle("GET /v1/customers/{uuid}/activities", a.expensive(handler(a.customerActivities)))
	m.Handle("GET /v1/customers/{uuid}/reconciliation", handler(a.reconcile))
	m.Handle("GET /v1/customers/{uuid}/subscriptions", handler(a.customerMetricSubscriptions))
	return m
}
