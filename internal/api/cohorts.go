package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/money"
	"github.com/tally-analytics/tally/internal/store"
)

// cohortRow and cohortCell are a signup cohort on the wire
// (docs/segments.md "Cohorts"), hyphenated like the Metrics API's.
type cohortRow struct {
	Cohort    string       `json:"cohort"`
	Customers int64        `json:"customers"`
	MRR       int64        `json:"mrr"`
	Cells     []cohortCell `json:"cells"`
}

type cohortCell struct {
	Age                 int     `json:"age"`
	Date                string  `json:"date"`
	Customers           int64   `json:"customers"`
	CustomersPercentage float64 `json:"customers-percentage"`
	MRR                 int64   `json:"mrr"`
	MRRPercentage       float64 `json:"mrr-percentage"`
}

// errTooManyCells is a cohort table over --max-entries cells.
func errTooManyCells(max int) *Error {
	return errBadRequest("This request asks for more than "+strconv.Itoa(max)+
		" cohort cells, the most one answer holds (--max-entries; n periods make n(n+1)/2 cells): use a longer cohort-interval or a shorter range.",
		"cohort-interval")
}

// parseCohorts reads a cohort request: start-date, end-date and the
// segment as the Metrics API takes them, and cohort-interval (month by
// default). The table's cells count against --max-entries; the request
// is checked before anything is loaded.
func (a *API) parseCohorts(r *http.Request) (metrics.CohortRequest, seriesQuery, error) {
	interval := query(r.URL.Query(), "cohort-interval")
	if interval == "" {
		interval = "month"
	}
	if !metrics.CohortIntervals[interval] {
		return metrics.CohortRequest{}, seriesQuery{}, errBadRequest("cohort-interval must be month, quarter or year.", "cohort-interval")
	}
	// The series' own checks run over the cohorts' periods.
	sq, err := a.parseSeries(withQueryValue(r, "interval", interval))
	if e, ok := errors.AsType[*Error](err); ok {
		if b, ok := e.Body.(codeBody); ok && b.Param != nil && *b.Param == "interval" {
			return metrics.CohortRequest{}, sq, errTooManyCells(a.opts.MaxEntries)
		}
	}
	if err != nil {
		return metrics.CohortRequest{}, sq, err
	}
	cr := metrics.CohortRequest{Start: sq.req.Start, End: sq.req.End, Interval: interval, Location: sq.req.Location,
		MaxCells: a.opts.MaxEntries}
	if _, err := metrics.CohortStarts(cr); err != nil {
		if _, ok := errors.AsType[*metrics.TooManyEntriesError](err); ok {
			return cr, sq, errTooManyCells(a.opts.MaxEntries)
		}
		return cr, sq, errBadRequest(err.Error(), "cohort-interval")
	}
	return cr, sq, nil
}

// withQueryValue is r with the query parameter name set to value.
func withQueryValue(r *http.Request, name, value string) *http.Request {
	u := *r.URL
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	r2 := r.Clone(r.Context())
	r2.URL = &u
	return r2
}

// getCohorts serves GET /v1/metrics/cohorts (Tally's own, issue 12): the
// signup cohorts of the range, a row per period with a cell per age.
func (a *API) getCohorts(w http.ResponseWriter, r *http.Request) error {
	cr, sq, err := a.parseCohorts(r)
	if err != nil {
		return err
	}
	parts, err := a.seriesParts(r, sq)
	if err != nil {
		return err
	}
	rows, err := metrics.SignupCohorts(cr, parts...)
	if errors.Is(err, money.ErrOverflow) {
		return err
	}
	if err != nil {
		return errBadRequest(err.Error(), "cohort-interval")
	}
	out := make([]cohortRow, len(rows))
	for i, row := range rows {
		o := cohortRow{Cohort: row.Cohort.Format(time.DateOnly), Customers: row.Customers, MRR: row.MRR,
			Cells: make([]cohortCell, len(row.Cells))}
		for k, c := range row.Cells {
			o.Cells[k] = cohortCell{Age: c.Age, Date: c.Date.Format(time.DateOnly), Customers: c.Customers,
				CustomersPercentage: c.CustomersPercentage, MRR: c.MRR, MRRPercentage: c.MRRPercentage}
		}
		out[i] = o
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}

// getCohortCustomers serves GET /v1/metrics/cohorts/customers (Tally's
// own): the customers behind one cell, named by cohort (its first day)
// and age, in the customer list's shape and paging, by customer creation.
func (a *API) getCohortCustomers(w http.ResponseWriter, r *http.Request) error {
	cr, sq, err := a.parseCohorts(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := q.Get("cohort")
	if v == "" {
		return errBadRequest("cohort is required (YYYY-MM-DD): the first day of a cohort's period.", "cohort")
	}
	cohort, err := billing.ParseDate(v)
	if err != nil || len(v) != len(time.DateOnly) {
		return errBadRequest("cohort must be a date (YYYY-MM-DD).", "cohort")
	}
	starts, _ := metrics.CohortStarts(cr) // checked by parseCohorts
	row := slices.IndexFunc(starts, func(t time.Time) bool { return t.Format(time.DateOnly) == v })
	if row < 0 {
		return errBadRequest("cohort must be the first day of one of the range's "+cr.Interval+
			" periods (start-date, then the first day of each period).", "cohort")
	}
	v = q.Get("age")
	if v == "" {
		return errBadRequest("age is required: 0 for the cohort's own period, 1 for the next, and so on.", "age")
	}
	age, err := strconv.Atoi(v)
	if err != nil || age < 0 || row+age >= len(starts) {
		return errBadRequest("age must be a whole number from 0 to "+strconv.Itoa(len(starts)-1-row)+
			" for this cohort (its periods up to end-date).", "age")
	}
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	if pr.key != nil {
		return errBadRequest("The cursor is not valid: pass the cursor of the previous page unchanged.", "cursor")
	}
	parts, err := a.seriesParts(r, sq)
	if err != nil {
		return err
	}
	ids, err := metrics.SignupCohortMembers(cr, cohort, age, parts...)
	if errors.Is(err, money.ErrOverflow) {
		return err
	}
	if err != nil {
		return errBadRequest(err.Error(), "cohort")
	}
	// The page: the members after the cursor's, or past the legacy
	// page's offset, in id order (the list's order by creation).
	from, _ := slices.BinarySearch(ids, pr.page.AfterID+1)
	from = min(from+pr.page.Offset, len(ids))
	to := min(from+pr.page.Limit, len(ids))
	page := ids[from:to]
	cs, err := a.store.CustomersByID(r.Context(), account(r).ID, page)
	if err != nil {
		return err
	}
	l := store.Listed[billing.Customer]{Items: cs, HasMore: to < len(ids), Total: len(ids)}
	if len(page) > 0 {
		l.LastID = page[len(page)-1]
	}
	out := customerList{Entries: make([]customerOut, len(cs)), pageMeta: newPageMeta(pr, l)}
	out.TotalPages = max(out.TotalPages, 1)
	for i, c := range cs {
		out.Entries[i] = a.customerWire(c, account(r))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
