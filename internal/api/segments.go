package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/segment"
	"github.com/tally-analytics/tally/internal/store"
)

// storeResolver looks up what a CFL expression names in one account.
type storeResolver struct {
	s    *store.Store
	acct billing.Account
}

func (r storeResolver) Plans(ctx context.Context, names []string) (uuids, unknown []string, err error) {
	return r.s.ResolvePlans(ctx, r.acct.ID, names)
}

func (r storeResolver) PlanGroups(ctx context.Context, names []string) (map[string][]string, []string, error) {
	return r.s.ResolvePlanGroups(ctx, r.acct.ID, names)
}

func (r storeResolver) DataSources(ctx context.Context, names []string) (uuids, unknown []string, err error) {
	return r.s.ResolveDataSources(ctx, r.acct.ID, names)
}

func (r storeResolver) Currency() string { return r.acct.Currency }

// compileFilters reads and resolves a CFL expression in the account (the
// filters parameter, a saved segment's filters). An expression that
// cannot be used is a 400 naming filters, whose message says what is
// wrong and quotes the offending part (docs/segments.md "Errors"); a
// blank one is nil, which selects every customer.
func (a *API) compileFilters(ctx context.Context, acct billing.Account, expr string) (*segment.Filter, error) {
	f, err := compile(ctx, a.store, acct, expr)
	var se *segment.Error
	if errors.As(err, &se) {
		return nil, errBadRequest(filtersMessage(se), "filters")
	}
	return f, err
}

func compile(ctx context.Context, s *store.Store, acct billing.Account, expr string) (*segment.Filter, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	e, err := segment.Parse(expr)
	if err != nil {
		return nil, err
	}
	return e.Compile(ctx, storeResolver{s: s, acct: acct})
}

// filtersMessage is an expression's mistake as a client reads it: the
// package's sentence, and the part it is about when the sentence does not
// quote it already.
func filtersMessage(e *segment.Error) string {
	msg := e.Message
	if e.Part != "" && !strings.Contains(msg, e.Part) {
		msg = strings.TrimSuffix(msg, ".") + " (in " + strconv.Quote(e.Part) + ")."
	}
	return msg
}

// maxSegmentFilters bounds a saved segment's expression: the long-text
// bound its field is decoded with, the CFL parser's own.
const maxSegmentFilters = billing.MaxLongTextLength

type segmentIn struct {
	Name    optString `json:"name"`
	Filters optString `json:"filters"`
}

// checkSegment refuses, in the Import API's 422 shape, a name or filters that are
// blank (when required or sent) or too long, and filters that do not
// compile in the account (their message as the filters parameter's 400
// gives it).
func (a *API) checkSegment(ctx context.Context, acct billing.Account, in segmentIn, create bool) error {
	errs := billing.FieldErrors{}
	if (create || in.Name.Set) && trimmed(in.Name) == "" {
		errs["name"] = "A segment needs a name."
	}
	billing.CheckLength(errs, "name", trimmed(in.Name), billing.MaxIDLength)
	if (create || in.Filters.Set) && trimmed(in.Filters) == "" {
		errs["filters"] = "A segment needs filters: a CFL expression, like region~ANY~'US'."
	}
	billing.CheckLength(errs, "filters", trimmed(in.Filters), maxSegmentFilters)
	if len(errs) > 0 {
		return errInvalid(errs)
	}
	if in.Filters.Set {
		_, err := compile(ctx, a.store, acct, trimmed(in.Filters))
		var se *segment.Error
		if errors.As(err, &se) {
			return errField("filters", filtersMessage(se))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type segmentOut struct {
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	Filters   string `json:"filters"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func segmentWire(g store.Segment) segmentOut {
	return segmentOut{UUID: g.UUID, Name: g.Name, Filters: g.Filters,
		CreatedAt: billing.FormatImportTime(g.CreatedAt), UpdatedAt: billing.FormatImportTime(g.UpdatedAt)}
}

// createSegment answers 201 with the segment (docs/api.md "Segments").
func (a *API) createSegment(w http.ResponseWriter, r *http.Request) error {
	var in segmentIn
	if err := decodeLong(r, &in, "filters"); err != nil {
		return err
	}
	acct := account(r)
	if err := a.checkSegment(r.Context(), acct, in, true); err != nil {
		return err
	}
	g := store.Segment{Name: trimmed(in.Name), Filters: trimmed(in.Filters)}
	if err := a.store.CreateSegment(r.Context(), acct.ID, &g); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, segmentWire(g))
	return nil
}

func (a *API) listSegments(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	l, err := a.store.ListSegments(r.Context(), account(r).ID, pr.page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Segments []segmentOut `json:"segments"`
		pageMeta
	}{wireAll(l.Items, segmentWire), newPageMeta(pr, l)})
	return nil
}

func (a *API) getSegment(w http.ResponseWriter, r *http.Request) error {
	g, err := a.store.Segment(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, segmentWire(g))
	return nil
}

// updateSegment changes the name and/or the filters sent (neither
// changes nothing).
func (a *API) updateSegment(w http.ResponseWriter, r *http.Request) error {
	var in segmentIn
	if err := decodeLong(r, &in, "filters"); err != nil {
		return err
	}
	acct := account(r)
	// An unknown segment is a 404 whatever the body says.
	g, err := a.store.Segment(r.Context(), acct.ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	if err := a.checkSegment(r.Context(), acct, in, false); err != nil {
		return err
	}
	var name, filters *string
	if in.Name.Set {
		n := trimmed(in.Name)
		name = &n
	}
	if in.Filters.Set {
		f := trimmed(in.Filters)
		filters = &f
	}
	if name != nil || filters != nil {
		if g, err = a.store.UpdateSegment(r.Context(), acct.ID, g.UUID, name, filters); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, segmentWire(g))
	return nil
}

func (a *API) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteSegment(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// savedSegmentFilter is the filter of the account's saved segment id
// (the segment parameter): a 404 for an unknown one, a 400 naming
// segment when its expression no longer compiles (a plan it names is
// gone).
func (a *API) savedSegmentFilter(ctx context.Context, acct billing.Account, id string) (*segment.Filter, error) {
	g, err := a.store.Segment(ctx, acct.ID, id)
	if err != nil {
		return nil, err
	}
	f, err := compile(ctx, a.store, acct, g.Filters)
	var se *segment.Error
	if errors.As(err, &se) {
		return nil, errBadRequest("The segment "+strconv.Quote(g.Name)+" no longer applies: "+filtersMessage(se), "segment")
	}
	return f, err
}
