package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/obfuscate"
	"github.com/tally-analytics/tally/internal/store"
)

// customerIn is a customer body of POST, PATCH or PUT. Read-only keys that
// clients echo back (uuid, mrr, …) are ignored.
type customerIn struct {
	DataSourceUUID     optString        `json:"data_source_uuid"`
	ExternalID         optString        `json:"external_id"`
	Name               optString        `json:"name"`
	Email              optString        `json:"email"`
	Company            optString        `json:"company"`
	Country            optString        `json:"country"`
	State              optString        `json:"state"`
	City               optString        `json:"city"`
	Zip                optString        `json:"zip"`
	WebsiteURL         optString        `json:"website_url"`
	Owner              optString        `json:"owner"`
	LeadCreatedAt      optString        `json:"lead_created_at"`
	FreeTrialStartedAt optString        `json:"free_trial_started_at"`
	Attributes         *customerAttrsIn `json:"attributes"`
}

type customerAttrsIn struct {
	Tags   *[]string       `json:"tags"`
	Custom json.RawMessage `json:"custom"`
}

// apply copies the fields that were sent onto c and returns what is wrong.
func (in *customerIn) apply(c *billing.Customer) billing.FieldErrors {
	errs := billing.FieldErrors{}
	setText := func(o optString, dst *string) {
		if o.Set {
			*dst = strings.TrimSpace(o.Value)
		}
	}
	setPtr := func(o optString, dst **string) {
		if o.Set {
			*dst = o.ptr()
		}
	}
	setText(in.Name, &c.Name)
	setText(in.Email, &c.Email)
	setText(in.Company, &c.Company)
	setText(in.City, &c.City)
	setPtr(in.State, &c.State)
	setPtr(in.Zip, &c.Zip)
	setPtr(in.WebsiteURL, &c.WebsiteURL)
	setPtr(in.Owner, &c.Owner)
	if in.Country.Set {
		c.Country = in.Country.ptr()
		if c.Country != nil {
			up := strings.ToUpper(strings.TrimSpace(*c.Country))
			c.Country = &up
		}
	}
	setDate := func(field string, o optString, dst **time.Time) {
		if !o.Set {
			return
		}
		if o.ptr() == nil {
			*dst = nil
			return
		}
		if d := dateField(errs, field, o); d != nil {
			*dst = d
		}
	}
	setDate("lead_created_at", in.LeadCreatedAt, &c.LeadCreatedAt)
	setDate("free_trial_started_at", in.FreeTrialStartedAt, &c.FreeTrialStartedAt)
	if in.Attributes != nil {
		if in.Attributes.Tags != nil {
			c.Tags = addTags(nil, *in.Attributes.Tags)
		}
		if len(in.Attributes.Custom) > 0 && string(in.Attributes.Custom) != "null" {
			if c.Custom == nil {
				c.Custom = map[string]billing.CustomAttribute{}
			}
			if err := applyCustom(c.Custom, in.Attributes.Custom, "attributes.custom"); err != nil {
				maps.Copy(errs, err)
			}
		}
	}
	billing.ValidateCustomer(c, errs)
	return errs
}

// addTags appends the new tags that are not there yet, keeping order. It
// is linear: a set, not a search of the list per tag (issue 10: 200,000
// tags took 24 s inside the writer transaction).
func addTags(have, add []string) []string {
	out := slices.Clone(have)
	seen := make(map[string]bool, len(have)+len(add))
	for _, t := range have {
		seen[t] = true
	}
	for _, t := range add {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// applyCustom merges custom attributes into have. raw is either the list
// form `[{"type","key","value","source"}]` (create, POST attributes) or the
// object form `{"key": value | {"value":…,"source":…}}` (PATCH, PUT).
func applyCustom(have map[string]billing.CustomAttribute, raw json.RawMessage, field string) billing.FieldErrors {
	errs := billing.FieldErrors{}
	var list []struct {
		Type   string `json:"type"`
		Key    string `json:"key"`
		Value  any    `json:"value"`
		Source string `json:"source"`
	}
	if err := unmarshalNumbers(raw, &list); err == nil {
		if len(list) > billing.MaxCustomAttributes {
			return billing.FieldErrors{field: "A customer has at most " + itoa(billing.MaxCustomAttributes) + " custom attributes."}
		}
		for i, item := range list {
			v, ok := jsonValue(item.Value)
			if !ok {
				errs[field+"["+itoa(int64(i))+"]"] = "value is beyond the range of a number"
				continue
			}
			a, err := billing.NormalizeCustomAttribute(item.Key, billing.CustomAttribute{Type: item.Type, Value: v, Source: item.Source})
			if err != nil {
				errs[field+"["+itoa(int64(i))+"]"] = err.Error()
				continue
			}
			have[strings.TrimSpace(item.Key)] = a
		}
		return limitCustom(have, field, errs)
	}
	var obj map[string]any
	if err := unmarshalNumbers(raw, &obj); err != nil {
		errs[field] = "must be a list of {type, key, value} or an object of key: value"
		return errs
	}
	if len(obj) > billing.MaxCustomAttributes {
		return billing.FieldErrors{field: "A customer has at most " + itoa(billing.MaxCustomAttributes) + " custom attributes."}
	}
	for key, v := range obj {
		source := ""
		if m, ok := v.(map[string]any); ok {
			v = m["value"]
			source, _ = m["source"].(string)
		}
		value, ok := jsonValue(v)
		if !ok {
			errs[field+"."+key] = "value is beyond the range of a number"
			continue
		}
		typ := billing.InferAttributeType(value)
		if old, ok := have[key]; ok {
			typ = old.Type
		}
		a, err := billing.NormalizeCustomAttribute(key, billing.CustomAttribute{Type: typ, Value: value, Source: source})
		if err != nil {
			errs[field+"."+key] = err.Error()
			continue
		}
		have[key] = a
	}
	return limitCustom(have, field, errs)
}

// limitCustom refuses a merge that leaves more than
// billing.MaxCustomAttributes attributes.
func limitCustom(have map[string]billing.CustomAttribute, field string, errs billing.FieldErrors) billing.FieldErrors {
	if len(have) > billing.MaxCustomAttributes && len(errs) == 0 {
		errs[field] = "A customer has at most " + itoa(billing.MaxCustomAttributes) + " custom attributes."
	}
	return errs
}

func unmarshalNumbers(raw []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	return dec.Decode(v)
}

// jsonValue turns json.Number into int64 when integral, else float64;
// false for a number beyond float64 (1e999), which JSON cannot echo.
func jsonValue(v any) (any, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return v, true
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	return f, true
}

type addressOut struct {
	Country *string `json:"country"`
	State   *string `json:"state"`
	City    string  `json:"city"`
	Zip     *string `json:"address_zip"`
}

type attributesOut struct {
	Tags     []string       `json:"tags"`
	Stripe   map[string]any `json:"stripe"`
	Clearbit map[string]any `json:"clearbit"`
	Custom   map[string]any `json:"custom"`
}

// customerOut is the one representation of POST, GET and PATCH
// (api-reference.md §2.4), hyphenated keys included.
type customerOut struct {
	ID                 int64         `json:"id"`
	UUID               string        `json:"uuid"`
	ExternalID         string        `json:"external_id"`
	Name               string        `json:"name"`
	Email              string        `json:"email"`
	Status             string        `json:"status"`
	CustomerSince      *string       `json:"customer-since"`
	Attributes         attributesOut `json:"attributes"`
	DataSourceUUID     string        `json:"data_source_uuid"`
	DataSourceUUIDs    []string      `json:"data_source_uuids"`
	ExternalIDs        []string      `json:"external_ids"`
	Company            string        `json:"company"`
	Country            *string       `json:"country"`
	State              *string       `json:"state"`
	City               string        `json:"city"`
	Zip                *string       `json:"zip"`
	LeadCreatedAt      *string       `json:"lead_created_at"`
	FreeTrialStartedAt *string       `json:"free_trial_started_at"`
	Address            addressOut    `json:"address"`
	MRR                int64         `json:"mrr"`
	ARR                int64         `json:"arr"`
	BillingSystemURL   *string       `json:"billing-system-url"`
	ChartMogulURL      *string       `json:"chartmogul-url"`
	BillingSystemType  string        `json:"billing-system-type"`
	Currency           string        `json:"currency"`
	CurrencySign       string        `json:"currency-sign"`
	Owner              *string       `json:"owner"`
	WebsiteURL         *string       `json:"website_url"`
}

func importTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := billing.FormatImportTime(*t)
	return &s
}

func customAttributeValues(c map[string]billing.CustomAttribute) map[string]any {
	out := make(map[string]any, len(c))
	for k, a := range c {
		out[k] = a.Value
	}
	return out
}

func attributesWire(c billing.Customer) attributesOut {
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	return attributesOut{Tags: tags, Stripe: map[string]any{}, Clearbit: map[string]any{}, Custom: customAttributeValues(c.Custom)}
}

func (a *API) customerWire(c billing.Customer, acct billing.Account) customerOut {
	return customerOut{
		ID: a.publicID(c.ID), UUID: c.UUID, ExternalID: c.ExternalID, Name: c.Name, Email: c.Email, Status: c.Status,
		CustomerSince: importTimePtr(c.CustomerSince), Attributes: attributesWire(c),
		DataSourceUUID: c.DataSourceUUID, DataSourceUUIDs: dataSourceUUIDs(c), ExternalIDs: externalIDs(c),
		Company: c.Company, Country: c.Country, State: c.State, City: c.City, Zip: c.Zip,
		LeadCreatedAt: importTimePtr(c.LeadCreatedAt), FreeTrialStartedAt: importTimePtr(c.FreeTrialStartedAt),
		Address: addressOut{Country: c.Country, State: c.State, City: c.City, Zip: c.Zip},
		MRR:     c.MRR, ARR: 12 * c.MRR, BillingSystemType: c.DataSourceSystem,
		Currency: acct.Currency, CurrencySign: currencySign(acct.Currency), Owner: c.Owner, WebsiteURL: c.WebsiteURL,
	}
}

func currencySign(code string) string { return money.Sign(code) }

func (a *API) createCustomer(w http.ResponseWriter, r *http.Request) error {
	var in customerIn
	if err := decode(r, &in); err != nil {
		return err
	}
	c := billing.Customer{DataSourceUUID: strings.TrimSpace(in.DataSourceUUID.Value), ExternalID: strings.TrimSpace(in.ExternalID.Value)}
	errs := in.apply(&c)
	if c.DataSourceUUID == "" {
		errs["data_source_uuid"] = "A data source UUID is required for each customer."
	}
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	err := a.store.CreateCustomer(r.Context(), account(r).ID, &c)
	if err != nil {
		return customerWriteError(err)
	}
	writeJSON(w, http.StatusCreated, a.customerWire(c, account(r)))
	return nil
}

// customerWriteError names the field a store error is about.
func customerWriteError(err error) error {
	var missing *store.MissingError
	switch {
	case errors.Is(err, store.ErrConflict):
		return errField("external_id", billing.MsgDuplicateCustomer)
	case errors.As(err, &missing) && missing.What == "data source":
		return errField("data_source_uuid", "No data source with this UUID exists in the account.")
	}
	return err
}

type customerList struct {
	Entries []customerOut `json:"entries"`
	pageMeta
}

func (a *API) writeCustomers(w http.ResponseWriter, r *http.Request, f store.CustomerFilter, pr pageRequest, notFound error) error {
	l, err := a.store.ListCustomers(r.Context(), account(r).ID, f, pr.page)
	if fe, ok := errors.AsType[*store.FilterError](err); ok {
		return errBadRequest(fe.Message, fe.Param)
	}
	if err != nil {
		return err
	}
	if notFound != nil && l.Total == 0 {
		return notFound
	}
	out := customerList{Entries: make([]customerOut, len(l.Items)), pageMeta: newPageMeta(pr, l)}
	if f.Sort != store.SortCreated && l.HasMore {
		c := encodeSortCursor(pr.ids, pr.number+1, f.Sort, l.Items[len(l.Items)-1])
		out.Cursor = &c
	}
	// An empty customer list reports one (empty) page, as recorded after
	// DELETE /data_sources/{ds}/all (api-reference.md §2.3).
	out.TotalPages = max(out.TotalPages, 1)
	for i, c := range l.Items {
		out.Entries[i] = a.customerWire(c, account(r))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) listCustomers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	// Tally's own parameters (api.md "Customer search"): q, plan,
	// country, sort; the store checks their values.
	f := store.CustomerFilter{DataSourceUUID: q.Get("data_source_uuid"), ExternalID: q.Get("external_id"),
		Status: q.Get("status"), System: q.Get("system"), Query: q.Get("q"), Plan: q.Get("plan"),
		Sort: store.CustomerSort(q.Get("sort"))}
	if v := q.Get("country"); v != "" {
		f.Countries = strings.Split(v, ",")
	}
	if !f.Sort.Valid() {
		return errBadRequest("sort must be mrr, -mrr, name or -name.", "sort")
	}
	var err error
	if f.CustomerIDs, err = a.filteredCustomers(r); err != nil {
		return err
	}
	// A sorted list's cursor holds its last customer's place in the
	// order; parsePage reads the rest of the request without it.
	var after *store.CustomerKey
	number := 0
	if c := q.Get("cursor"); c != "" {
		n, order, key, ok := decodeSortCursor(idsOf(r.Context()), c)
		switch {
		case ok && order != f.Sort:
			return errBadRequest("The cursor is for the list in another order: pass the same sort as on the page before.", "cursor")
		case ok:
			after, number = &key, n
			r = withoutQuery(r, "cursor")
		case f.Sort != store.SortCreated:
			return errBadRequest("The cursor is not valid for a sorted list: pass the cursor of the previous page unchanged.", "cursor")
		}
	}
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	if after != nil {
		f.After, pr.number, pr.page = after, number, store.Page{Limit: pr.perPage}
	}
	return a.writeCustomers(w, r, f, pr, nil)
}

// withoutQuery is r without the query parameter name.
func withoutQuery(r *http.Request, name string) *http.Request {
	u := *r.URL
	q := u.Query()
	q.Del(name)
	u.RawQuery = q.Encode()
	r2 := r.Clone(r.Context())
	r2.URL = &u
	return r2
}

// A sorted list's cursor is "<page>&s<sort>.<public row id>.<key>": the
// page number, the order, and the last customer listed, with its MRR or
// name as listed (the next page starts after it even if that customer
// is gone or changed meanwhile).
func encodeSortCursor(ids *obfuscate.Perm, number int, order store.CustomerSort, c billing.Customer) string {
	key := strconv.FormatInt(c.MRR, 10)
	if order == store.SortName || order == store.SortNameDesc {
		key = c.Name
	}
	raw := strconv.Itoa(number) + "&s" + string(order) + "." + strconv.FormatInt(ids.Encode(c.ID), 10) + "." + key
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeSortCursor(ids *obfuscate.Perm, cursor string) (number int, order store.CustomerSort, k store.CustomerKey, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(cursor, "="))
	if err != nil {
		return 0, "", k, false
	}
	n, rest, found := strings.Cut(string(b), "&s")
	if !found {
		return 0, "", k, false
	}
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) != 3 {
		return 0, "", k, false
	}
	number, err = strconv.Atoi(n)
	if err != nil || number < 1 || number >= math.MaxInt32 {
		return 0, "", k, false
	}
	order = store.CustomerSort(parts[0])
	public, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || order == store.SortCreated || !order.Valid() || public < 1 {
		return 0, "", k, false
	}
	if k.ID, ok = ids.Decode(public); !ok {
		return 0, "", k, false
	}
	switch order {
	case store.SortMRR, store.SortMRRDesc:
		if k.MRR, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
			return 0, "", k, false
		}
	default:
		if !utf8.ValidString(parts[2]) {
			return 0, "", k, false
		}
		k.Name = parts[2]
	}
	return number, order, k, true
}

func errNoCustomerWithEmail(email string) *Error {
	return coded(http.StatusNotFound, `Can't find any customers with email: "`+email+`"`, "email")
}

func (a *API) searchCustomers(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	if email == "" {
		return errBadRequest("The email parameter is required.", "email")
	}
	return a.writeCustomers(w, r, store.CustomerFilter{Email: email}, pr, errNoCustomerWithEmail(email))
}

func (a *API) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := a.store.Customer(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.customerWire(c, account(r)))
	return nil
}

func (a *API) updateCustomer(w http.ResponseWriter, r *http.Request) error {
	var in customerIn
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.store.UpdateCustomer(r.Context(), account(r).ID, r.PathValue("uuid"), func(c *billing.Customer) error {
		if errs := in.apply(c); len(errs) > 0 {
			return errInvalid(errs)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.customerWire(c, account(r)))
	return nil
}

func (a *API) deleteCustomer(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteCustomer(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// dataSourceUUIDs lists the customer's data sources once each, own first.
func dataSourceUUIDs(c billing.Customer) []string {
	out := []string{c.DataSourceUUID}
	for _, id := range c.Identities {
		if !slices.Contains(out, id.DataSourceUUID) {
			out = append(out, id.DataSourceUUID)
		}
	}
	return out
}

func externalIDs(c billing.Customer) []string {
	out := []string{c.ExternalID}
	for _, id := range c.Identities {
		if !slices.Contains(out, id.ExternalID) {
			out = append(out, id.ExternalID)
		}
	}
	return out
}
