package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"
)

// MaxInvoicesPerRequest is the API's limit on one import (api.md,
// invoices: 1,000 per request).
const MaxInvoicesPerRequest = 1000

// ErrLoaded means the account already holds the demo's data source.
var ErrLoaded = errors.New("the demo is already loaded")

// ErrNotEmpty means the account holds other data sources: the demo would
// mix invented customers into real metrics.
var ErrNotEmpty = errors.New("the account already holds other data")

// Client sends requests to the API as a client does: HTTP Basic with the
// API key, JSON bodies.
type Client struct {
	HTTP *http.Client
	// BaseURL is scheme and host; paths start with /v1/.
	BaseURL string
	Key     string
	// Requests counts the requests sent.
	Requests int
}

// HandlerClient is an http.Client that serves every request with h in
// the same process: the whole middleware chain runs, no socket is opened.
func HandlerClient(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	if req.Body != nil {
		req.Body.Close()
	}
	res := rec.Result()
	res.Request = req
	return res, nil
}

// StatusError is an answer other than 2xx.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	body := e.Body
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Status, strings.TrimSpace(body))
}

// Do sends one request with in as its JSON body (nil: none) and decodes a
// 2xx answer into out (nil: ignored).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.Key, "")
	req.Header.Set("Content-Type", "application/json")
	c.Requests++
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		return &StatusError{Method: method, Path: path, Status: res.StatusCode, Body: string(b)}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// The request and answer bodies: ChartMogul's v1 wire as a client writes
// it (api-reference.md §2.3–§2.11).
type (
	dataSourceWire struct {
		UUID string `json:"uuid,omitempty"`
		Name string `json:"name"`
	}
	planWire struct {
		UUID           string `json:"uuid,omitempty"`
		DataSourceUUID string `json:"data_source_uuid"`
		Name           string `json:"name"`
		IntervalCount  int    `json:"interval_count"`
		IntervalUnit   string `json:"interval_unit"`
		ExternalID     string `json:"external_id"`
	}
	customAttrWire struct {
		Type  string `json:"type"`
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	customerWire struct {
		DataSourceUUID string `json:"data_source_uuid"`
		ExternalID     string `json:"external_id"`
		Name           string `json:"name"`
		Email          string `json:"email"`
		Company        string `json:"company"`
		Country        string `json:"country"`
		City           string `json:"city"`
		Attributes     struct {
			Tags   []string         `json:"tags"`
			Custom []customAttrWire `json:"custom"`
		} `json:"attributes"`
	}
	lineWire struct {
		Type                   string `json:"type"`
		ExternalID             string `json:"external_id,omitempty"`
		SubscriptionExternalID string `json:"subscription_external_id,omitempty"`
		SubscriptionUUID       string `json:"subscription_uuid,omitempty"` // answers only
		PlanUUID               string `json:"plan_uuid,omitempty"`
		ServicePeriodStart     string `json:"service_period_start,omitempty"`
		ServicePeriodEnd       string `json:"service_period_end,omitempty"`
		AmountInCents          int64  `json:"amount_in_cents"`
		Quantity               int64  `json:"quantity"`
		TaxAmountInCents       int64  `json:"tax_amount_in_cents"`
		Prorated               bool   `json:"prorated,omitempty"`
		CancelledAt            string `json:"cancelled_at,omitempty"`
		Description            string `json:"description,omitempty"`
	}
	transactionWire struct {
		ExternalID    string `json:"external_id"`
		Type          string `json:"type"`
		Result        string `json:"result"`
		Date          string `json:"date"`
		AmountInCents *int64 `json:"amount_in_cents,omitempty"`
	}
	invoiceWire struct {
		UUID         string            `json:"uuid,omitempty"`
		ExternalID   string            `json:"external_id"`
		Date         string            `json:"date"`
		Currency     string            `json:"currency"`
		LineItems    []lineWire        `json:"line_items"`
		Transactions []transactionWire `json:"transactions"`
	}
	eventWire struct {
		DataSourceUUID         string `json:"data_source_uuid"`
		CustomerExternalID     string `json:"customer_external_id"`
		SubscriptionExternalID string `json:"subscription_external_id"`
		PlanExternalID         string `json:"plan_external_id,omitempty"`
		ExternalID             string `json:"external_id"`
		EventType              string `json:"event_type"`
		EventDate              string `json:"event_date"`
		EffectiveDate          string `json:"effective_date"`
		Currency               string `json:"currency,omitempty"`
		AmountInCents          *int64 `json:"amount_in_cents,omitempty"`
		TaxAmountInCents       *int64 `json:"tax_amount_in_cents,omitempty"`
		Quantity               *int64 `json:"quantity,omitempty"`
	}
)

func wireTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func transactionToWire(t Transaction) transactionWire {
	return transactionWire{ExternalID: t.ExternalID, Type: t.Type, Result: t.Result, Date: wireTime(t.Date), AmountInCents: t.Amount}
}

// Check looks at the account's data sources: ErrLoaded when the demo's is
// there, ErrNotEmpty (naming them) when others are.
func (c *Client) Check(ctx context.Context) error {
	var list struct {
		DataSources []dataSourceWire `json:"data_sources"`
	}
	if err := c.Do(ctx, "GET", "/v1/data_sources", nil, &list); err != nil {
		return err
	}
	var names []string
	for _, d := range list.DataSources {
		if d.Name == DataSourceName {
			return ErrLoaded
		}
		names = append(names, fmt.Sprintf("%q", d.Name))
	}
	if len(names) > 0 {
		return fmt.Errorf("%w (data sources %s)", ErrNotEmpty, strings.Join(names, ", "))
	}
	return nil
}

// Load sends the book to the API: the data source, the plans, then each
// customer with its invoices (at most MaxInvoicesPerRequest per request),
// cancellations, late refunds and subscription events. On an account
// that already has data it does nothing and answers Check's error. If a
// request fails, the data source is deleted again, so a retry starts
// clean. It returns the data source's UUID.
func Load(ctx context.Context, c *Client, b *Book) (string, error) {
	if err := c.Check(ctx); err != nil {
		return "", err
	}
	var ds dataSourceWire
	if err := c.Do(ctx, "POST", "/v1/data_sources", dataSourceWire{Name: DataSourceName}, &ds); err != nil {
		return "", err
	}
	if err := load(ctx, c, b, ds.UUID); err != nil {
		// Best effort, even when ctx was cancelled: a half-loaded demo
		// would pass for a loaded one.
		_ = c.Do(context.WithoutCancel(ctx), "DELETE", "/v1/data_sources/"+ds.UUID, nil, nil)
		return "", err
	}
	return ds.UUID, nil
}

func load(ctx context.Context, c *Client, b *Book, ds string) error {
	plans := map[string]string{}
	for _, p := range b.Plans {
		var out planWire
		in := planWire{DataSourceUUID: ds, Name: p.Name, IntervalCount: p.IntervalCount, IntervalUnit: p.IntervalUnit, ExternalID: p.ExternalID}
		if err := c.Do(ctx, "POST", "/v1/plans", in, &out); err != nil {
			return err
		}
		plans[p.ExternalID] = out.UUID
	}
	for i := range b.Customers {
		if err := loadCustomer(ctx, c, &b.Customers[i], ds, plans); err != nil {
			return fmt.Errorf("customer %s: %w", b.Customers[i].ExternalID, err)
		}
	}
	return nil
}

func loadCustomer(ctx context.Context, c *Client, cus *Customer, ds string, plans map[string]string) error {
	in := customerWire{DataSourceUUID: ds, ExternalID: cus.ExternalID, Name: cus.Name, Email: cus.Email, Company: cus.Company,
		Country: cus.Country, City: cus.City}
	in.Attributes.Tags = cus.Tags
	in.Attributes.Custom = []customAttrWire{{Type: "String", Key: "channel", Value: cus.Channel}}
	var out struct {
		UUID string `json:"uuid"`
	}
	if err := c.Do(ctx, "POST", "/v1/customers", in, &out); err != nil {
		return err
	}
	invoices := map[string]string{} // external id → uuid
	subs := map[string]string{}
	for start := 0; start < len(cus.Invoices); start += MaxInvoicesPerRequest {
		batch := cus.Invoices[start:min(start+MaxInvoicesPerRequest, len(cus.Invoices))]
		var body struct {
			Invoices []invoiceWire `json:"invoices"`
		}
		for _, inv := range batch {
			body.Invoices = append(body.Invoices, invoiceToWire(inv, plans))
		}
		var answer struct {
			Invoices []invoiceWire `json:"invoices"`
		}
		if err := c.Do(ctx, "POST", "/v1/import/customers/"+out.UUID+"/invoices", body, &answer); err != nil {
			return err
		}
		for _, inv := range answer.Invoices {
			invoices[inv.ExternalID] = inv.UUID
			for _, l := range inv.LineItems {
				if l.SubscriptionUUID != "" {
					subs[l.SubscriptionExternalID] = l.SubscriptionUUID
				}
			}
		}
	}
	for _, x := range cus.Cancellations {
		uuid, ok := subs[x.SubscriptionExternalID]
		if !ok {
			return fmt.Errorf("cancellation of unknown subscription %s", x.SubscriptionExternalID)
		}
		if err := c.Do(ctx, "PATCH", "/v1/import/subscriptions/"+uuid, map[string]string{"cancelled_at": wireTime(x.At)}, nil); err != nil {
			return err
		}
	}
	for _, t := range cus.LateTransactions {
		uuid, ok := invoices[t.InvoiceExternalID]
		if !ok {
			return fmt.Errorf("transaction on unknown invoice %s", t.InvoiceExternalID)
		}
		if err := c.Do(ctx, "POST", "/v1/import/invoices/"+uuid+"/transactions", transactionToWire(t.Transaction), nil); err != nil {
			return err
		}
	}
	for _, e := range cus.Events {
		w := eventWire{DataSourceUUID: ds, CustomerExternalID: cus.ExternalID, SubscriptionExternalID: e.SubscriptionExternalID,
			PlanExternalID: e.PlanExternalID, ExternalID: e.ExternalID, EventType: e.Type, EventDate: wireTime(e.EventDate),
			EffectiveDate: wireTime(e.EffectiveDate), Currency: e.Currency}
		if e.PlanExternalID != "" {
			w.AmountInCents, w.TaxAmountInCents, w.Quantity = &e.Amount, &e.Tax, &e.Quantity
		}
		if err := c.Do(ctx, "POST", "/v1/subscription_events", map[string]eventWire{"subscription_event": w}, nil); err != nil {
			return err
		}
	}
	return nil
}

func invoiceToWire(inv Invoice, plans map[string]string) invoiceWire {
	w := invoiceWire{ExternalID: inv.ExternalID, Date: wireTime(inv.Date), Currency: inv.Currency,
		LineItems: make([]lineWire, 0, len(inv.Lines)), Transactions: make([]transactionWire, 0, len(inv.Transactions))}
	for _, l := range inv.Lines {
		lw := lineWire{Type: l.Type, ExternalID: l.ExternalID, AmountInCents: l.Amount, Quantity: l.Quantity,
			TaxAmountInCents: l.Tax, Description: l.Description}
		if l.Type == LineSubscription {
			lw.SubscriptionExternalID, lw.PlanUUID = l.SubscriptionExternalID, plans[l.PlanExternalID]
			lw.ServicePeriodStart, lw.ServicePeriodEnd, lw.Prorated = wireTime(l.Start), wireTime(l.End), l.Prorated
		}
		if l.CancelledAt != nil {
			lw.CancelledAt = wireTime(*l.CancelledAt)
		}
		w.LineItems = append(w.LineItems, lw)
	}
	for _, t := range inv.Transactions {
		w.Transactions = append(w.Transactions, transactionToWire(t))
	}
	return w
}

// Headline is the book's key metrics on its last day before the anchor.
type Headline struct {
	Currency  string
	MRR       int64
	Customers int64
	ARPA      int64
}

// Headline reads the key metrics at the end of the day before the anchor
// (the last day of the book) back through the Metrics API.
func (c *Client) Headline(ctx context.Context, b *Book) (Headline, error) {
	var acct struct {
		Currency string `json:"currency"`
	}
	if err := c.Do(ctx, "GET", "/v1/account", nil, &acct); err != nil {
		return Headline{}, err
	}
	q := url.Values{"start-date": {b.Anchor.AddDate(0, -1, 0).Format(time.DateOnly)}, "end-date": {b.Anchor.AddDate(0, 0, -1).Format(time.DateOnly)}}
	var all struct {
		Entries []struct {
			MRR       int64 `json:"mrr"`
			Customers int64 `json:"customers"`
			ARPA      int64 `json:"arpa"`
		} `json:"entries"`
	}
	if err := c.Do(ctx, "GET", "/v1/metrics/all?"+q.Encode(), nil, &all); err != nil {
		return Headline{}, err
	}
	if len(all.Entries) == 0 {
		return Headline{}, errors.New("metrics/all answered no entries")
	}
	last := all.Entries[len(all.Entries)-1]
	return Headline{Currency: acct.Currency, MRR: last.MRR, Customers: last.Customers, ARPA: last.ARPA}, nil
}
