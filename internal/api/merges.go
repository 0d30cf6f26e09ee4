package api

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

type customerRefIn struct {
	CustomerUUID   optString `json:"customer_uuid"`
	DataSourceUUID optString `json:"data_source_uuid"`
	ExternalID     optString `json:"external_id"`
}

func (in *customerRefIn) ref(field string) (store.CustomerRef, error) {
	if in == nil {
		return store.CustomerRef{}, errField(field, "Name the customer by customer_uuid, or by data_source_uuid and external_id.")
	}
	r := store.CustomerRef{UUID: trimmed(in.CustomerUUID), DataSourceUUID: trimmed(in.DataSourceUUID), ExternalID: trimmed(in.ExternalID)}
	if r.UUID == "" && (r.DataSourceUUID == "" || r.ExternalID == "") {
		return r, errField(field, "Name the customer by customer_uuid, or by data_source_uuid and external_id.")
	}
	return r, nil
}

// mergeCustomers is POST /v1/customers/merges: 202 {} once merged.
func (a *API) mergeCustomers(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		From *customerRefIn `json:"from"`
		Into *customerRefIn `json:"into"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	from, err := in.From.ref("from")
	if err != nil {
		return err
	}
	into, err := in.Into.ref("into")
	if err != nil {
		return err
	}
	if err := a.store.MergeCustomers(r.Context(), account(r).ID, from, into); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
	return nil
}

// unmergeCustomer is POST /v1/customers/unmerges. move_to_new_customer
// names the kinds of CRM objects ("tasks", "opportunities", "notes", the
// last with the call logs) that go with the identity split out: those
// first made on it, before it was merged. Contacts always go with the
// identity they belong to.
func (a *API) unmergeCustomer(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		customerRefIn
		MoveToNewCustomer []string `json:"move_to_new_customer"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	cus, ds, ext := trimmed(in.CustomerUUID), trimmed(in.DataSourceUUID), trimmed(in.ExternalID)
	if cus == "" || ds == "" || ext == "" {
		return errField("customer_uuid", "customer_uuid, data_source_uuid and external_id are required.")
	}
	var moves store.UnmergeMoves
	for _, kind := range in.MoveToNewCustomer {
		switch kind {
		case "tasks":
			moves.Tasks = true
		case "opportunities":
			moves.Opportunities = true
		case "notes":
			moves.Notes = true
		default:
			return errField("move_to_new_customer", "Each value must be tasks, opportunities or notes.")
		}
	}
	if _, err := a.store.UnmergeCustomer(r.Context(), account(r).ID, cus, ds, ext, moves); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
	return nil
}

type subscriptionRefIn struct {
	UUID           optString `json:"uuid"`
	DataSourceUUID optString `json:"data_source_uuid"`
	ExternalID     optString `json:"external_id"`
}

func (a *API) subscriptionRefs(r *http.Request, least int) ([]store.SubscriptionRef, error) {
	var in struct {
		Subscriptions *[]subscriptionRefIn `json:"subscriptions"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.Subscriptions == nil || len(*in.Subscriptions) < least {
		return nil, errField("subscriptions", "Name at least "+itoa(int64(least))+" subscriptions.")
	}
	if len(*in.Subscriptions) > billing.MaxItems {
		return nil, errField("subscriptions", "Name at most "+itoa(billing.MaxItems)+" subscriptions.")
	}
	refs := make([]store.SubscriptionRef, 0, len(*in.Subscriptions))
	for _, s := range *in.Subscriptions {
		ref := store.SubscriptionRef{UUID: trimmed(s.UUID), DataSourceUUID: trimmed(s.DataSourceUUID), ExternalID: trimmed(s.ExternalID)}
		if ref.UUID == "" && (ref.DataSourceUUID == "" || ref.ExternalID == "") {
			return nil, errField("subscriptions", "Name each subscription by uuid, or by data_source_uuid and external_id.")
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// connectSubscriptions is POST /v1/customers/{uuid}/connect_subscriptions.
func (a *API) connectSubscriptions(w http.ResponseWriter, r *http.Request) error {
	refs, err := a.subscriptionRefs(r, 2)
	if err != nil {
		return err
	}
	if err := a.store.ConnectSubscriptions(r.Context(), account(r).ID, r.PathValue("uuid"), refs); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
	return nil
}

// disconnectSubscriptions undoes a connection.
func (a *API) disconnectSubscriptions(w http.ResponseWriter, r *http.Request) error {
	refs, err := a.subscriptionRefs(r, 1)
	if err != nil {
		return err
	}
	if err := a.store.DisconnectSubscriptions(r.Context(), account(r).ID, r.PathValue("uuid"), refs); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
	return nil
}

// railsError is api-reference.md §1.4 shape 4, which the plan-group
// endpoints answer with: per-field arrays plus error_details.
func railsError(fields billing.FieldErrors) *Error {
	body := map[string]any{}
	var details []map[string]string
	for _, param := range slices.Sorted(maps.Keys(fields)) {
		msg := fields[param]
		body[param] = []string{msg}
		code := "invalid"
		if strings.HasSuffix(msg, "can't be blank") {
			code = "blank"
		}
		details = append(details, map[string]string{"param": param, "code": code, "message": msg})
	}
	body["error_details"] = details
	return &Error{Status: http.StatusUnprocessableEntity, Body: body}
}

type planGroupIn struct {
	Name  optString `json:"name"`
	Plans *[]string `json:"plans"`
}

// check refuses what a create or an update must not store, in shape 4: a
// name or a list beyond the limits, and a blank or null plan (which
// would otherwise vanish silently).
func (in planGroupIn) check() error {
	errs := billing.FieldErrors{}
	billing.CheckLength(errs, "name", trimmed(in.Name), billing.MaxIDLength)
	if in.Plans != nil {
		billing.CheckCount(errs, "plan_ids", len(*in.Plans), billing.MaxItems)
		for _, p := range *in.Plans {
			if strings.TrimSpace(p) == "" {
				errs["plan_ids"] = "Plan ids must not be blank or null"
				break
			}
		}
	}
	if len(errs) > 0 {
		return railsError(errs)
	}
	return nil
}

// planGroupWrite answers an unknown plan in shape 4, like the group's
// other validation errors.
func planGroupWrite(err error) error {
	var fe billing.FieldErrors
	if errors.As(err, &fe) {
		return railsError(fe)
	}
	return err
}

type planGroupOut struct {
	UUID       string `json:"uuid"`
	Name       string `json:"name"`
	PlansCount int    `json:"plans_count"`
}

func planGroupWire(g billing.PlanGroup) planGroupOut {
	return planGroupOut{UUID: g.UUID, Name: g.Name, PlansCount: g.PlansCount}
}

// createPlanGroup answers 200, as recorded (api-reference.md §2.7).
func (a *API) createPlanGroup(w http.ResponseWriter, r *http.Request) error {
	var in planGroupIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	errs := billing.FieldErrors{}
	if trimmed(in.Name) == "" {
		errs["name"] = "Name can't be blank"
	}
	if in.Plans == nil || len(*in.Plans) == 0 {
		errs["plan_ids"] = "Plan ids can't be blank"
	}
	if len(errs) > 0 {
		return railsError(errs)
	}
	g, err := a.store.CreatePlanGroup(r.Context(), account(r).ID, trimmed(in.Name), *in.Plans)
	if err != nil {
		return planGroupWrite(err)
	}
	writeJSON(w, http.StatusOK, planGroupWire(g))
	return nil
}

func (a *API) listPlanGroups(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	l, err := a.store.ListPlanGroups(r.Context(), account(r).ID, pr.page)
	if err != nil {
		return err
	}
	out := wireAll(l.Items, planGroupWire)
	writeJSON(w, http.StatusOK, struct {
		PlanGroups []planGroupOut `json:"plan_groups"`
		pageMeta
	}{out, newPageMeta(pr, l)})
	return nil
}

func (a *API) getPlanGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := a.store.PlanGroup(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, planGroupWire(g))
	return nil
}

func (a *API) updatePlanGroup(w http.ResponseWriter, r *http.Request) error {
	var in planGroupIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	var name *string
	if in.Name.Set {
		n := trimmed(in.Name)
		if n == "" {
			return railsError(billing.FieldErrors{"name": "Name can't be blank"})
		}
		name = &n
	}
	if in.Plans != nil && len(*in.Plans) == 0 {
		return railsError(billing.FieldErrors{"plan_ids": "Plan ids can't be blank"})
	}
	g, err := a.store.UpdatePlanGroup(r.Context(), account(r).ID, r.PathValue("uuid"), name, in.Plans)
	if err != nil {
		return planGroupWrite(err)
	}
	writeJSON(w, http.StatusOK, planGroupWire(g))
	return nil
}

func (a *API) deletePlanGroup(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeletePlanGroup(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (a *API) planGroupPlans(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	l, err := a.store.PlanGroupPlans(r.Context(), account(r).ID, r.PathValue("uuid"), pr.page)
	if err != nil {
		return err
	}
	out := planList{Plans: wireAll(l.Items, planWire), pageMeta: newPageMeta(pr, l)}
	writeJSON(w, http.StatusOK, out)
	return nil
}
