package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

type planOut struct {
	UUID           string `json:"uuid"`
	DataSourceUUID string `json:"data_source_uuid"`
	ExternalID     string `json:"external_id"`
	Name           string `json:"name"`
	IntervalCount  int    `json:"interval_count"`
	IntervalUnit   string `json:"interval_unit"`
}

func planWire(p billing.Plan) planOut {
	return planOut{UUID: p.UUID, DataSourceUUID: p.DataSourceUUID, ExternalID: p.ExternalID, Name: p.Name,
		IntervalCount: p.IntervalCount, IntervalUnit: p.IntervalUnit}
}

type planIn struct {
	DataSourceUUID optString `json:"data_source_uuid"`
	ExternalID     optString `json:"external_id"`
	Name           optString `json:"name"`
	IntervalCount  *int      `json:"interval_count"`
	IntervalUnit   optString `json:"interval_unit"`
}

func (in planIn) apply(p *billing.Plan) billing.FieldErrors {
	if in.Name.Set {
		p.Name = strings.TrimSpace(in.Name.Value)
	}
	if in.IntervalCount != nil {
		p.IntervalCount = *in.IntervalCount
	}
	if in.IntervalUnit.Set {
		p.IntervalUnit = strings.ToLower(strings.TrimSpace(in.IntervalUnit.Value))
	}
	errs := billing.FieldErrors{}
	billing.ValidatePlan(p, errs)
	return errs
}

func (a *API) createPlan(w http.ResponseWriter, r *http.Request) error {
	var in planIn
	if err := decode(r, &in); err != nil {
		return err
	}
	p := billing.Plan{DataSourceUUID: strings.TrimSpace(in.DataSourceUUID.Value), ExternalID: strings.TrimSpace(in.ExternalID.Value)}
	errs := in.apply(&p)
	if p.DataSourceUUID == "" {
		errs["data_source_uuid"] = "A data source UUID is required for each plan."
	}
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	err := a.store.CreatePlan(r.Context(), account(r).ID, &p)
	var missing *store.MissingError
	switch {
	case errors.Is(err, store.ErrConflict):
		return errField("external_id", billing.MsgDuplicatePlan)
	case errors.As(err, &missing):
		return errField("data_source_uuid", "No data source with this UUID exists in the account.")
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusCreated, planWire(p))
	return nil
}

type planList struct {
	Plans []planOut `json:"plans"`
	pageMeta
}

func (a *API) listPlans(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.PlanFilter{DataSourceUUID: q.Get("data_source_uuid"), ExternalID: q.Get("external_id"), System: q.Get("system")}
	l, err := a.store.ListPlans(r.Context(), account(r).ID, f, pr.page)
	if err != nil {
		return err
	}
	out := planList{Plans: wireAll(l.Items, planWire), pageMeta: newPageMeta(pr, l)}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := a.store.Plan(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, planWire(p))
	return nil
}

// updatePlan answers 202 with the plan, as recorded (api-reference.md §2.6).
func (a *API) updatePlan(w http.ResponseWriter, r *http.Request) error {
	var in planIn
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := a.store.UpdatePlan(r.Context(), account(r).ID, r.PathValue("uuid"), func(p *billing.Plan) error {
		if errs := in.apply(p); len(errs) > 0 {
			return errInvalid(errs)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, planWire(p))
	return nil
}

func (a *API) deletePlan(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeletePlan(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
