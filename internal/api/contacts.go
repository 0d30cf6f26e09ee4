package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// contactIn is a contact body of POST, PATCH or PUT (ref §2.5).
type contactIn struct {
	CustomerUUID       optString       `json:"customer_uuid"`
	DataSourceUUID     optString       `json:"data_source_uuid"`
	CustomerExternalID optString       `json:"customer_external_id"`
	ExternalID         optString       `json:"external_id"`
	Position           optInt          `json:"position"`
	FirstName          optString       `json:"first_name"`
	LastName           optString       `json:"last_name"`
	Title              optString       `json:"title"`
	Email              optString       `json:"email"`
	Phone              optString       `json:"phone"`
	LinkedIn           optString       `json:"linked_in"`
	Twitter            optString       `json:"twitter"`
	Notes              optString       `json:"notes"`
	Custom             json.RawMessage `json:"custom"`
}

// check records fields that are too long or a position out of range;
// create also needs the data source.
func (in *contactIn) check(create bool, errs billing.FieldErrors) {
	if create {
		crmRequired(errs, "data_source_uuid", in.DataSourceUUID, true, "A data source UUID is required for each contact.")
	}
	for _, f := range []struct {
		name string
		v    optString
	}{{"customer_uuid", in.CustomerUUID}, {"data_source_uuid", in.DataSourceUUID}, {"customer_external_id", in.CustomerExternalID},
		{"external_id", in.ExternalID}, {"first_name", in.FirstName}, {"last_name", in.LastName}, {"title", in.Title},
		{"email", in.Email}, {"phone", in.Phone}} {
		billing.CheckLength(errs, f.name, strings.TrimSpace(f.v.Value), billing.MaxIDLength)
	}
	crmRange(errs, "position", in.Position, 1, crmMaxInt, create)
}

// apply sets the profile fields sent (null or blank clears one).
func (in *contactIn) apply(c *store.Contact) error {
	errs := billing.FieldErrors{}
	for _, f := range []struct {
		v   optString
		dst **string
	}{{in.ExternalID, &c.ExternalID}, {in.FirstName, &c.FirstName}, {in.LastName, &c.LastName}, {in.Title, &c.Title},
		{in.Email, &c.Email}, {in.Phone, &c.Phone}, {in.LinkedIn, &c.LinkedIn}, {in.Twitter, &c.Twitter}, {in.Notes, &c.Notes}} {
		if f.v.Set {
			*f.dst = crmText(f.v)
		}
	}
	if in.Position.Set && !in.Position.Null {
		c.Position = in.Position.Value
	}
	c.Custom = crmCustom(c.Custom, in.Custom, "custom", errs)
	return crmInvalid(errs)
}

type contactOut struct {
	UUID               string       `json:"uuid"`
	CustomerUUID       string       `json:"customer_uuid"`
	CustomerExternalID string       `json:"customer_external_id"`
	DataSourceUUID     string       `json:"data_source_uuid"`
	ExternalID         *string      `json:"external_id"`
	Position           int64        `json:"position"`
	FirstName          *string      `json:"first_name"`
	LastName           *string      `json:"last_name"`
	Title              *string      `json:"title"`
	Email              *string      `json:"email"`
	Phone              *string      `json:"phone"`
	LinkedIn           *string      `json:"linked_in"`
	Twitter            *string      `json:"twitter"`
	Notes              *string      `json:"notes"`
	Custom             store.Custom `json:"custom"`
}

func contactWire(c store.Contact) contactOut {
	return contactOut{UUID: c.UUID, CustomerUUID: c.CustomerUUID, CustomerExternalID: c.CustomerExternalID,
		DataSourceUUID: c.DataSourceUUID, ExternalID: c.ExternalID, Position: c.Position, FirstName: c.FirstName,
		LastName: c.LastName, Title: c.Title, Email: c.Email, Phone: c.Phone, LinkedIn: c.LinkedIn, Twitter: c.Twitter,
		Notes: c.Notes, Custom: crmCustomOut(c.Custom)}
}

// createContact is POST /v1/contacts and POST /v1/customers/{uuid}/contacts:
// 201 with the contact. The customer is the path's, else customer_uuid,
// else the one with customer_external_id in data_source_uuid.
func (a *API) createContact(w http.ResponseWriter, r *http.Request) error {
	var in contactIn
	if err := decode(r, &in); err != nil {
		return err
	}
	owner := store.ContactOwner{CustomerUUID: crmCustomerUUID(r, in.CustomerUUID.Value),
		DataSourceUUID: strings.TrimSpace(in.DataSourceUUID.Value), CustomerExternalID: strings.TrimSpace(in.CustomerExternalID.Value)}
	errs := billing.FieldErrors{}
	in.check(true, errs)
	if owner.CustomerUUID == "" && owner.CustomerExternalID == "" {
		errs["customer_uuid"] = "A contact needs its customer: customer_uuid, or data_source_uuid and customer_external_id."
	}
	if err := crmInvalid(errs); err != nil {
		return err
	}
	c := store.Contact{}
	if err := in.apply(&c); err != nil {
		return err
	}
	if err := a.store.CreateContact(r.Context(), account(r).ID, owner, &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, contactWire(c))
	return nil
}

// listContacts is GET /v1/contacts (filters customer_uuid,
// data_source_uuid, email, external_id) and GET
// /v1/customers/{uuid}/contacts.
func (a *API) listContacts(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.ContactFilter{CustomerUUID: crmCustomerUUID(r, q.Get("customer_uuid")),
		DataSourceUUID: strings.TrimSpace(q.Get("data_source_uuid")), Email: strings.TrimSpace(q.Get("email")),
		ExternalID: strings.TrimSpace(q.Get("external_id"))}
	l, err := a.store.ListContacts(r.Context(), account(r).ID, f, pr.page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newCRMPage(pr, l, contactWire))
	return nil
}

func (a *API) getContact(w http.ResponseWriter, r *http.Request) error {
	c, err := a.store.Contact(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contactWire(c))
	return nil
}

// updateContact is PATCH (and PUT) /v1/contacts/{uuid}: the fields sent
// change. customer_uuid, data_source_uuid or customer_external_id move the
// contact to another identity: of the customer named (or its own), in the
// data source named (or its own).
func (a *API) updateContact(w http.ResponseWriter, r *http.Request) error {
	var in contactIn
	if err := decode(r, &in); err != nil {
		return err
	}
	acct := account(r).ID
	uuid := r.PathValue("uuid")
	// An unknown contact is a 404 whatever the body says.
	if _, err := a.store.Contact(r.Context(), acct, uuid); err != nil {
		return err
	}
	errs := billing.FieldErrors{}
	if in.check(false, errs); len(errs) > 0 {
		return errInvalid(errs)
	}
	var move *store.ContactOwner
	if o := (store.ContactOwner{CustomerUUID: strings.TrimSpace(in.CustomerUUID.Value), DataSourceUUID: strings.TrimSpace(in.DataSourceUUID.Value),
		CustomerExternalID: strings.TrimSpace(in.CustomerExternalID.Value)}); o != (store.ContactOwner{}) {
		move = &o
	}
	c, err := a.store.UpdateContact(r.Context(), acct, uuid, move, in.apply)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contactWire(c))
	return nil
}

func (a *API) deleteContact(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteContact(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	crmDeleted(w)
	return nil
}

// mergeContacts is POST /v1/contacts/{uuid}/merge/{from} (any body): the
// contact from is merged into the contact uuid and deleted; 200 with the
// survivor. The survivor keeps its customer, position and every field it
// has; each field it lacks, and each custom field, is taken from the
// other.
func (a *API) mergeContacts(w http.ResponseWriter, r *http.Request) error {
	into, from := r.PathValue("uuid"), r.PathValue("from")
	if into == from {
		if _, err := a.store.Contact(r.Context(), account(r).ID, into); err != nil {
			return err
		}
		return errField("from", "A contact cannot be merged into itself.")
	}
	c, err := a.store.MergeContacts(r.Context(), account(r).ID, into, from, func(into *store.Contact, from store.Contact) error {
		fill := func(dst **string, src *string) {
			if *dst == nil {
				*dst = src
			}
		}
		fill(&into.ExternalID, from.ExternalID)
		fill(&into.FirstName, from.FirstName)
		fill(&into.LastName, from.LastName)
		fill(&into.Title, from.Title)
		fill(&into.Email, from.Email)
		fill(&into.Phone, from.Phone)
		fill(&into.LinkedIn, from.LinkedIn)
		fill(&into.Twitter, from.Twitter)
		fill(&into.Notes, from.Notes)
		custom := maps.Clone(from.Custom)
		if custom == nil {
			custom = store.Custom{}
		}
		maps.Copy(custom, into.Custom)
		if len(custom) > billing.MaxCustomAttributes {
			return errField("custom", "The merged contact would have more than "+itoa(billing.MaxCustomAttributes)+" custom fields.")
		}
		into.Custom = custom
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contactWire(c))
	return nil
}
