package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// The attribute endpoints of api-reference.md §2.4 (C11–C18). Removals
// answer 200 with what remains, which every client decodes.

func (a *API) getAttributes(w http.ResponseWriter, r *http.Request) error {
	c, err := a.store.Customer(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, attributesWire(c))
	return nil
}

type tagsIn struct {
	Email *string   `json:"email"`
	Tags  *[]string `json:"tags"`
}

func (in tagsIn) validate() error {
	if in.Tags == nil {
		return errField("tags", "A list of tags is required.")
	}
	errs := billing.FieldErrors{}
	billing.ValidateTagNames("tags", *in.Tags, errs)
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	return nil
}

// withTags adds tags to the customer, refusing to go beyond
// billing.MaxTags.
func withTags(c *billing.Customer, tags []string) error {
	c.Tags = addTags(c.Tags, tags)
	errs := billing.FieldErrors{}
	billing.ValidateTags("tags", c.Tags, errs)
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	return nil
}

// editCustomer applies change to the customer in the path and answers with
// what answer picks out of the result.
func (a *API) editCustomer(w http.ResponseWriter, r *http.Request, change func(*billing.Customer) error, answer func(billing.Customer) any) error {
	c, err := a.store.UpdateCustomer(r.Context(), account(r).ID, r.PathValue("uuid"), change)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, answer(c))
	return nil
}

func tagsAnswer(c billing.Customer) any { return map[string][]string{"tags": attributesWire(c).Tags} }

func customAnswer(c billing.Customer) any {
	return map[string]map[string]any{"custom": customAttributeValues(c.Custom)}
}

func (a *API) addTags(w http.ResponseWriter, r *http.Request) error {
	var in tagsIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	return a.editCustomer(w, r, func(c *billing.Customer) error {
		return withTags(c, *in.Tags)
	}, tagsAnswer)
}

func (a *API) removeTags(w http.ResponseWriter, r *http.Request) error {
	var in tagsIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	return a.editCustomer(w, r, func(c *billing.Customer) error {
		remove := map[string]bool{} // trimmed as they were when added
		for _, t := range *in.Tags {
			remove[strings.TrimSpace(t)] = true
		}
		c.Tags = slices.DeleteFunc(c.Tags, func(t string) bool { return remove[t] })
		return nil
	}, tagsAnswer)
}

type customIn struct {
	Email  *string         `json:"email"`
	Custom json.RawMessage `json:"custom"`
}

func (in customIn) require() error {
	if len(in.Custom) == 0 || string(in.Custom) == "null" {
		return errField("custom", "Custom attributes are required.")
	}
	return nil
}

// setCustom is POST (list form) and PUT (object form) alike: applyCustom
// reads either.
func (a *API) setCustom(w http.ResponseWriter, r *http.Request) error {
	var in customIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.require(); err != nil {
		return err
	}
	return a.editCustomer(w, r, func(c *billing.Customer) error {
		if errs := applyCustom(c.Custom, in.Custom, "custom"); len(errs) > 0 {
			return errInvalid(errs)
		}
		return nil
	}, customAnswer)
}

func (a *API) addCustom(w http.ResponseWriter, r *http.Request) error    { return a.setCustom(w, r) }
func (a *API) updateCustom(w http.ResponseWriter, r *http.Request) error { return a.setCustom(w, r) }

func (a *API) removeCustom(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Custom *[]string `json:"custom"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Custom == nil {
		return errField("custom", "A list of custom attribute keys is required.")
	}
	if len(*in.Custom) > billing.MaxItems {
		return errField("custom", "At most "+itoa(billing.MaxItems)+" keys at once.")
	}
	return a.editCustomer(w, r, func(c *billing.Customer) error {
		for _, k := range *in.Custom {
			delete(c.Custom, k)
		}
		return nil
	}, customAnswer)
}

// byEmail applies change to every customer with the email and answers
// {"entries":[customers]} (C14, C16).
func (a *API) byEmail(w http.ResponseWriter, r *http.Request, email *string, change func(*billing.Customer) error) error {
	if email == nil || strings.TrimSpace(*email) == "" {
		return errField("email", "An email address is required.")
	}
	acct := account(r)
	var matches []billing.Customer
	page := store.Page{Limit: maxPerPage}
	for {
		l, err := a.store.ListCustomers(r.Context(), acct.ID, store.CustomerFilter{Email: strings.TrimSpace(*email)}, page)
		if err != nil {
			return err
		}
		matches = append(matches, l.Items...)
		if !l.HasMore {
			break
		}
		page.AfterID = l.LastID
	}
	if len(matches) == 0 {
		return errNoCustomerWithEmail(*email)
	}
	uuids := make([]string, len(matches))
	for i, m := range matches {
		uuids[i] = m.UUID
	}
	// All or none: a change refused for one customer (the tag limit, say)
	// leaves the others as they were.
	changed, err := a.store.UpdateCustomers(r.Context(), acct.ID, uuids, change)
	if err != nil {
		return err
	}
	out := make([]customerOut, 0, len(changed))
	for _, c := range changed {
		out = append(out, a.customerWire(c, acct))
	}
	writeJSON(w, http.StatusOK, map[string][]customerOut{"entries": out})
	return nil
}

func (a *API) addTagsByEmail(w http.ResponseWriter, r *http.Request) error {
	var in tagsIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	return a.byEmail(w, r, in.Email, func(c *billing.Customer) error {
		return withTags(c, *in.Tags)
	})
}

func (a *API) addCustomByEmail(w http.ResponseWriter, r *http.Request) error {
	var in customIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := in.require(); err != nil {
		return err
	}
	// Validate once up front so that no customer is changed when the
	// attributes are wrong.
	if errs := applyCustom(map[string]billing.CustomAttribute{}, in.Custom, "custom"); len(errs) > 0 {
		return errInvalid(errs)
	}
	return a.byEmail(w, r, in.Email, func(c *billing.Customer) error {
		if errs := applyCustom(c.Custom, in.Custom, "custom"); len(errs) > 0 {
			return errInvalid(errs)
		}
		return nil
	})
}
