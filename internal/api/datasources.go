package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

type dataSourceOut struct {
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	System    string `json:"system"`
	CreatedAt string `json:"created_at"`
	Status    string `json:"status"`
	// The with_* flags' extras (api.md, data sources); absent unless asked.
	ProcessingStatus *processingStatus `json:"processing_status,omitempty"`
	AutoChurnSetting *autoChurnSetting `json:"auto_churn_subscription_setting,omitempty"`
	InvoiceHandling  *invoiceHandling  `json:"invoice_handling_setting,omitempty"`
}

type processingStatus struct {
	Processed int64 `json:"processed"`
	Pending   int64 `json:"pending"`
	Failed    int64 `json:"failed"`
}

type autoChurnSetting struct {
	Enabled  bool `json:"enabled"`
	Interval *int `json:"interval"`
}

type invoiceHandling struct {
	Manual    invoiceHandlingRules `json:"manual"`
	Automatic invoiceHandlingRules `json:"automatic"`
}

type invoiceHandlingRules struct {
	CreateWhen        string `json:"create_subscription_when_invoice_is"`
	UpdateWhen        string `json:"update_subscription_when_invoice_is"`
	PreventVoided     bool   `json:"prevent_subscription_for_invoice_voided"`
	PreventRefunded   bool   `json:"prevent_subscription_for_invoice_refunded"`
	PreventWrittenOff bool   `json:"prevent_subscription_for_invoice_written_off"`
}

// tallyInvoiceHandling is what Tally does with every invoice, whatever its
// source (metrics.md rules 5 and 8; docs/metrics.md "invoice handling"):
// an imported invoice makes or changes its subscription at once, paid or
// not ("open"), and a voided, written-off or refunded invoice keeps its
// MRR (a refund changes cash flow, never MRR). Tally has no automatic
// sources, so both kinds answer the same rules.
var tallyInvoiceHandling = func() *invoiceHandling {
	r := invoiceHandlingRules{CreateWhen: "open", UpdateWhen: "open"}
	return &invoiceHandling{Manual: r, Automatic: r}
}()

// dataSourceExtras are the with_* flags of a data source list or
// retrieve: each "true" adds its field, "false" or absent leaves it out.
type dataSourceExtras struct{ processing, autoChurn, invoiceHandling bool }

func parseDataSourceExtras(r *http.Request) (dataSourceExtras, error) {
	var x dataSourceExtras
	var err error
	if x.processing, err = boolQuery(r, "with_processing_status"); err != nil {
		return x, err
	}
	if x.autoChurn, err = boolQuery(r, "with_auto_churn_subscription_setting"); err != nil {
		return x, err
	}
	x.invoiceHandling, err = boolQuery(r, "with_invoice_handling_setting")
	return x, err
}

// add fills in the extras asked for; processed maps a source's id to the
// objects it holds (store.ProcessedObjects), read only when asked.
func (x dataSourceExtras) add(out *dataSourceOut, id int64, processed map[int64]int64) {
	if x.processing {
		// Tally imports synchronously: nothing waits, and an object it
		// cannot process is refused with its request (422), never kept.
		out.ProcessingStatus = &processingStatus{Processed: processed[id]}
	}
	if x.autoChurn {
		// metrics.md rule 8: no past-due auto-churn (as GET /v1/account's
		// include=auto_churn_subscription says).
		out.AutoChurnSetting = &autoChurnSetting{}
	}
	if x.invoiceHandling {
		out.InvoiceHandling = tallyInvoiceHandling
	}
}

func (a *API) processedObjects(r *http.Request, x dataSourceExtras) (map[int64]int64, error) {
	if !x.processing {
		return nil, nil
	}
	return a.store.ProcessedObjects(r.Context(), account(r).ID)
}

func dataSourceWire(d billing.DataSource) dataSourceOut {
	return dataSourceOut{UUID: d.UUID, Name: d.Name, System: d.System, CreatedAt: billing.FormatImportTime(d.CreatedAt), Status: d.Status}
}

func (a *API) createDataSource(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   *string `json:"name"`
		System *string `json:"system"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return errField("name", billing.MsgDataSourceNameRequired)
	}
	system := billing.SystemImportAPI
	if in.System != nil && strings.TrimSpace(*in.System) != "" {
		system = strings.TrimSpace(*in.System)
	}
	errs := billing.FieldErrors{}
	billing.CheckLength(errs, "name", strings.TrimSpace(*in.Name), billing.MaxIDLength)
	billing.CheckLength(errs, "system", system, billing.MaxIDLength)
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	d, err := a.store.CreateDataSource(r.Context(), account(r).ID, strings.TrimSpace(*in.Name), system)
	if errors.Is(err, store.ErrConflict) {
		return errField("name", billing.MsgDuplicateDataSourceName)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, dataSourceWire(d))
	return nil
}

func (a *API) listDataSources(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	x, err := parseDataSourceExtras(r)
	if err != nil {
		return err
	}
	list, err := a.store.ListDataSources(r.Context(), account(r).ID, q.Get("name"), q.Get("system"))
	if err != nil {
		return err
	}
	processed, err := a.processedObjects(r, x)
	if err != nil {
		return err
	}
	out := make([]dataSourceOut, len(list))
	for i, d := range list {
		out[i] = dataSourceWire(d)
		x.add(&out[i], d.ID, processed)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data_sources": out})
	return nil
}

func (a *API) getDataSource(w http.ResponseWriter, r *http.Request) error {
	x, err := parseDataSourceExtras(r)
	if err != nil {
		return err
	}
	d, err := a.store.DataSource(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	processed, err := a.processedObjects(r, x)
	if err != nil {
		return err
	}
	out := dataSourceWire(d)
	x.add(&out, d.ID, processed)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteDataSource(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteDataSource(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// emptyDataSource is ChartMogul's /all: everything under the source goes,
// customers included; the source itself stays.
func (a *API) emptyDataSource(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.EmptyDataSource(r.Context(), account(r).ID, r.PathValue("uuid"), false); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// purgeDataSource is ChartMogul's /dependent: like /all but customers stay.
func (a *API) purgeDataSource(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.EmptyDataSource(r.Context(), account(r).ID, r.PathValue("uuid"), true); err != nil {
		return err
	}
	noContent(w)
	return nil
}
