package web

import (
	"net/http"
	"strconv"
	"strings"
)

// cohortIntervals are the cohorts' periods (cohort-interval).
var cohortIntervals = []string{"month", "quarter", "year"}

// cohortAnswer is /v1/metrics/cohorts as the API wrote it.
type cohortAnswer struct {
	Entries []cohortEntry `json:"entries"`
}

type cohortEntry struct {
	Cohort    string           `json:"cohort"`
	Customers any              `json:"customers"`
	MRR       any              `json:"mrr"`
	Cells     []map[string]any `json:"cells"`
}

// cohortsPage is the heat map: a row per cohort, a column per age.
type cohortsPage struct {
	// Show is the percentage the cells show and are coloured by:
	// customers or mrr.
	Show string
	Ages []int
	Rows []cohortRow
}

type cohortRow struct {
	Cohort         string
	Customers, MRR any
	Cells          []cohortCell
}

// cohortCell is the API's cell, with its colour and its customers' link;
// a cell past end-date is Empty.
type cohortCell struct {
	Empty bool
	Age   int
	Date  string
	// Customers, CustomersPct, MRR, MRRPct are the API's values.
	Customers, CustomersPct, MRR, MRRPct any
	// Shown is the percentage shown, Heat its colour class.
	Shown any
	Heat  string
	Link  string
}

// heat is the colour class of a percentage: heat-0 … heat-10 by tenths,
// heat-over above 100 (an MRR cohort that grew).
func heat(v any) string {
	f, err := strconv.ParseFloat(str(v), 64)
	if err != nil {
		return ""
	}
	switch {
	case f > 100:
		return "heat-over"
	case f <= 0:
		return "heat-0"
	}
	return "heat-" + strconv.Itoa(min(10, int(f/10)+1))
}

// cohortParams are the parameters of the cohorts and of a cell's
// customers: the range, cohort-interval and the selection.
var cohortParams = []string{"start-date", "end-date", "cohort-interval", "geo", "plans", "filters", "segment"}

// cohorts serves /metrics/cohorts, the heat map, and its CSV: a row per
// cohort (the period of its customers' first new business), a cell per
// age, as /v1/metrics/cohorts answers.
func (w *Web) cohorts(rw http.ResponseWriter, r *http.Request) error {
	pg, asCSV, done, err := w.selectionPage(rw, r, "Cohorts", "metrics/cohorts")
	if done || err != nil {
		return err
	}
	p, q, err := w.periodOf(r, pg.Filters, "cohort-interval", cohortIntervals)
	if err != nil {
		return err
	}
	pg.Period = &p
	if pg.Version, err = w.version(r); err != nil {
		return err
	}
	var ans cohortAnswer
	if err := w.get(r, "/v1/metrics/cohorts", pass(q, cohortParams...), &ans); err != nil {
		return w.refuse(rw, r, pg, err)
	}
	if asCSV {
		return writeCSV(rw, "cohorts", cohortsCSV(ans))
	}
	data := cohortsPage{Show: "customers"}
	if r.URL.Query().Get("show") == "mrr" {
		data.Show = "mrr"
	}
	ages := 0
	for _, e := range ans.Entries {
		ages = max(ages, len(e.Cells))
	}
	for k := range ages {
		data.Ages = append(data.Ages, k)
	}
	for _, e := range ans.Entries {
		row := cohortRow{Cohort: e.Cohort, Customers: e.Customers, MRR: e.MRR}
		for k := range ages {
			if k >= len(e.Cells) {
				row.Cells = append(row.Cells, cohortCell{Empty: true, Age: k})
				continue
			}
			c := e.Cells[k]
			cell := cohortCell{Age: k, Date: str(c["date"]), Customers: c["customers"], CustomersPct: c["customers-percentage"],
				MRR: c["mrr"], MRRPct: c["mrr-percentage"]}
			cell.Shown = cell.CustomersPct
			if data.Show == "mrr" {
				cell.Shown = cell.MRRPct
			}
			cell.Heat = heat(cell.Shown)
			if age, err := strconv.Atoi(str(c["age"])); err == nil {
				cell.Age = age
			}
			lq := pass(q, cohortParams...)
			lq.Set("cohort", e.Cohort)
			lq.Set("age", strconv.Itoa(cell.Age))
			cell.Link = pg.Base + "metrics/cohorts/customers?" + lq.Encode()
			row.Cells = append(row.Cells, cell)
		}
		data.Rows = append(data.Rows, row)
	}
	pg.Data = data
	w.render(rw, r, http.StatusOK, "cohorts", pg)
	return nil
}

// cohortsCSV is the heat map as a table: a row per cell, with its
// cohort's size and MRR, the API's field names and digits.
func cohortsCSV(ans cohortAnswer) [][]string {
	out := [][]string{{"cohort", "cohort-customers", "cohort-mrr", "age", "date", "customers", "customers-percentage", "mrr", "mrr-percentage"}}
	for _, e := range ans.Entries {
		for _, c := range e.Cells {
			out = append(out, []string{e.Cohort, str(e.Customers), str(e.MRR), str(c["age"]), str(c["date"]),
				str(c["customers"]), str(c["customers-percentage"]), str(c["mrr"]), str(c["mrr-percentage"])})
		}
	}
	return out
}

// cohortCustomersPage lists the customers behind a heat map's cell.
type cohortCustomersPage struct {
	Cohort, Interval string
	Age              int
	// Cell is the heat map's cell (nil when its cohort is not in the
	// answer), Size its cohort's customers.
	Cell       *cohortCell
	Size       any
	List       list
	Prev, Next int
	// Back is the heat map the cell is of.
	Back string
}

// cohortCustomers serves /metrics/cohorts/customers?cohort=…&age=…: the
// customers of a cohort with MRR at its age k, as
// /v1/metrics/cohorts/customers lists them (paged like /v1/customers),
// with the cell they make up. Both take the heat map's range, which
// places the cohort.
func (w *Web) cohortCustomers(rw http.ResponseWriter, r *http.Request) error {
	asCSV := strings.HasSuffix(r.URL.Path, ".csv")
	pg := w.newPage(r, "Cohort customers", "metrics/cohorts")
	in := r.URL.Query()
	q := pass(in, append([]string{"cohort", "age", "page"}, cohortParams...)...)
	q.Set("per_page", "50")
	var err error
	if pg.Version, err = w.version(r); err != nil {
		return err
	}
	data := cohortCustomersPage{Cohort: in.Get("cohort"), Interval: in.Get("cohort-interval")}
	if data.Interval == "" {
		data.Interval = "month"
	}
	data.Age, _ = strconv.Atoi(in.Get("age"))
	if err := w.get(r, "/v1/metrics/cohorts/customers", q, &data.List); err != nil {
		return err
	}
	if asCSV {
		return writeCSV(rw, "cohort-customers", customersCSV(data.List.Entries, pg.Shared, pg.Account.Currency))
	}
	// The cell these customers make up, from the heat map's answer.
	var ans cohortAnswer
	if err := w.get(r, "/v1/metrics/cohorts", pass(in, cohortParams...), &ans); err != nil {
		return err
	}
	for _, e := range ans.Entries {
		if e.Cohort != data.Cohort {
			continue
		}
		data.Size = e.Customers
		for _, c := range e.Cells {
			if str(c["age"]) == strconv.Itoa(data.Age) {
				data.Cell = &cohortCell{Age: data.Age, Date: str(c["date"]), Customers: c["customers"], CustomersPct: c["customers-percentage"],
					MRR: c["mrr"], MRRPct: c["mrr-percentage"]}
			}
		}
	}
	if page := data.List.Page; page > 1 {
		data.Prev = page - 1
	}
	if data.List.HasMore {
		data.Next = max(data.List.Page, 1) + 1
	}
	data.Back = pg.Base + "metrics/cohorts?" + pass(in, cohortParams...).Encode()
	pg.Data = data
	w.render(rw, r, http.StatusOK, "cohort-customers", pg)
	return nil
}
