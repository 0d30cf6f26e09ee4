package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/store"
)

// opportunityIn is an opportunity body of POST, PATCH or PUT (ref §2.5).
type opportunityIn struct {
	CustomerUUID       optString       `json:"customer_uuid"`
	Owner              optString       `json:"owner"`
	Pipeline           optString       `json:"pipeline"`
	PipelineStage      optString       `json:"pipeline_stage"`
	EstimatedCloseDate optString       `json:"estimated_close_date"`
	Currency           optString       `json:"currency"`
	AmountInCents      optInt          `json:"amount_in_cents"`
	Type               optString       `json:"type"`
	ForecastCategory   optString       `json:"forecast_category"`
	WinLikelihood      optInt          `json:"win_likelihood"`
	Custom             json.RawMessage `json:"custom"`
}

// ChartMogul's opportunity types and forecast categories.
var (
	opportunityTypes   = map[string]bool{"recurring": true, "one-time": true}
	forecastCategories = map[string]bool{"pipeline": true, "best_case": true, "committed": true, "lost": true, "won": true}
)

// apply checks the fields sent and sets them on o (every required one on
// create), recording what is wrong in errs. Tally keeps no sales
// pipelines: pipeline and stage are any text.
func (in *opportunityIn) apply(o *store.Opportunity, create bool, errs billing.FieldErrors) {
	for _, f := range []struct {
		name string
		v    optString
		dst  *string
		msg  string
	}{
		{"owner", in.Owner, &o.Owner, "An opportunity needs an owner (a user's e-mail address)."},
		{"pipeline", in.Pipeline, &o.Pipeline, "An opportunity needs a pipeline."},
		{"pipeline_stage", in.PipelineStage, &o.PipelineStage, "An opportunity needs a pipeline stage."},
	} {
		crmRequired(errs, f.name, f.v, create, f.msg)
		billing.CheckLength(errs, f.name, strings.TrimSpace(f.v.Value), billing.MaxIDLength)
		if t := crmText(f.v); t != nil {
			*f.dst = *t
		}
	}
	crmRequired(errs, "estimated_close_date", in.EstimatedCloseDate, create, "An opportunity needs an estimated close date (YYYY-MM-DD).")
	if t := crmText(in.EstimatedCloseDate); t != nil {
		o.EstimatedCloseDate = crmDate(errs, "estimated_close_date", *t, true)
	}
	crmRequired(errs, "currency", in.Currency, create, "An opportunity needs a currency (an ISO 4217 code).")
	if t := crmText(in.Currency); t != nil {
		o.Currency = strings.ToUpper(*t)
		if !money.Valid(o.Currency) {
			errs["currency"] = "The currency is not an ISO 4217 code."
		}
	}
	if create && !in.AmountInCents.Set {
		errs["amount_in_cents"] = "An opportunity needs an amount in cents."
	}
	crmRange(errs, "amount_in_cents", in.AmountInCents, 0, money.MaxAmount, false)
	o.AmountInCents = in.AmountInCents.or(o.AmountInCents)
	if in.Type.Set {
		o.Type = crmText(in.Type)
		if o.Type != nil && !opportunityTypes[*o.Type] {
			errs["type"] = "The type must be recurring or one-time."
		}
	}
	if in.ForecastCategory.Set {
		o.ForecastCategory = crmText(in.ForecastCategory)
		if o.ForecastCategory != nil && !forecastCategories[*o.ForecastCategory] {
			errs["forecast_category"] = "The forecast category must be pipeline, best_case, committed, lost or won."
		}
	}
	crmRange(errs, "win_likelihood", in.WinLikelihood, 0, 100, true)
	if in.WinLikelihood.Set {
		o.WinLikelihood = in.WinLikelihood.ptr()
	}
	o.Custom = crmCustom(o.Custom, in.Custom, "custom", errs)
}

type opportunityOut struct {
	UUID               string       `json:"uuid"`
	CustomerUUID       string       `json:"customer_uuid"`
	Owner              string       `json:"owner"`
	Pipeline           string       `json:"pipeline"`
	PipelineStage      string       `json:"pipeline_stage"`
	EstimatedCloseDate string       `json:"estimated_close_date"`
	Currency           string       `json:"currency"`
	AmountInCents      int64        `json:"amount_in_cents"`
	Type               *string      `json:"type"`
	ForecastCategory   *string      `json:"forecast_category"`
	WinLikelihood      *int64       `json:"win_likelihood"`
	Custom             store.Custom `json:"custom"`
	CreatedAt          string       `json:"created_at"`
	UpdatedAt          string       `json:"updated_at"`
}

func opportunityWire(o store.Opportunity) opportunityOut {
	return opportunityOut{UUID: o.UUID, CustomerUUID: o.CustomerUUID, Owner: o.Owner, Pipeline: o.Pipeline,
		PipelineStage: o.PipelineStage, EstimatedCloseDate: o.EstimatedCloseDate, Currency: o.Currency,
		AmountInCents: o.AmountInCents, Type: o.Type, ForecastCategory: o.ForecastCategory, WinLikelihood: o.WinLikelihood,
		Custom: crmCustomOut(o.Custom), CreatedAt: billing.FormatImportTime(o.CreatedAt), UpdatedAt: billing.FormatImportTime(o.UpdatedAt)}
}

// createOpportunity is POST /v1/opportunities (and POST
// /v1/customers/{uuid}/opportunities): 201 with the opportunity.
func (a *API) createOpportunity(w http.ResponseWriter, r *http.Request) error {
	var in opportunityIn
	if err := decode(r, &in); err != nil {
		return err
	}
	customer := crmCustomerUUID(r, in.CustomerUUID.Value)
	var o store.Opportunity
	errs := billing.FieldErrors{}
	in.apply(&o, true, errs)
	if customer == "" {
		errs["customer_uuid"] = "An opportunity needs its customer's UUID (customer_uuid)."
	}
	if err := crmInvalid(errs); err != nil {
		return err
	}
	if err := a.store.CreateOpportunity(r.Context(), account(r).ID, customer, &o); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, opportunityWire(o))
	return nil
}

// listOpportunities is GET /v1/opportunities (filters customer_uuid,
// owner, pipeline, pipeline_stage, estimated_close_date_on_or_after and
// _on_or_before) and GET /v1/customers/{uuid}/opportunities.
func (a *API) listOpportunities(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.OpportunityFilter{CustomerUUID: crmCustomerUUID(r, q.Get("customer_uuid")), Owner: strings.TrimSpace(q.Get("owner")),
		Pipeline: strings.TrimSpace(q.Get("pipeline")), PipelineStage: strings.TrimSpace(q.Get("pipeline_stage"))}
	if f.CloseFrom, _, err = crmDayParam(q, "estimated_close_date_on_or_after"); err != nil {
		return err
	}
	if _, f.CloseBefore, err = crmDayParam(q, "estimated_close_date_on_or_before"); err != nil {
		return err
	}
	l, err := a.store.ListOpportunities(r.Context(), account(r).ID, f, pr.page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newCRMPage(pr, l, opportunityWire))
	return nil
}

func (a *API) getOpportunity(w http.ResponseWriter, r *http.Request) error {
	o, err := a.store.Opportunity(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, opportunityWire(o))
	return nil
}

// updateOpportunity is PATCH (and PUT) /v1/opportunities/{uuid}: the
// fields sent change; custom fields merge (null removes one).
func (a *API) updateOpportunity(w http.ResponseWriter, r *http.Request) error {
	var in opportunityIn
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := a.store.UpdateOpportunity(r.Context(), account(r).ID, r.PathValue("uuid"), func(o *store.Opportunity) error {
		errs := billing.FieldErrors{}
		in.apply(o, false, errs)
		return crmInvalid(errs)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, opportunityWire(o))
	return nil
}

func (a *API) deleteOpportunity(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteOpportunity(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	crmDeleted(w)
	return nil
}
