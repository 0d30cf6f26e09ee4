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
	list, err := a.store.ListDataSources(r.Context(), account(r).ID, q.Get("name"), q.Get("system"))
	if err != nil {
		return err
	}
	out := make([]dataSourceOut, len(list))
	for i, d := range list {
		out[i] = dataSourceWire(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data_sources": out})
	return nil
}

func (a *API) getDataSource(w http.ResponseWriter, r *http.Request) error {
	d, err := a.store.DataSource(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, dataSourceWire(d))
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
