package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/sheet"
)

// The Metrics API answers CSV with format=csv (Tally's own, issue 12):
// the same answer as the JSON, written from the same values, so the two
// cannot disagree. Only the entries go in it, one line each; the summary
// (and cmrr's scheduled list) stays in the JSON.

// wantsCSV reads format: json (or none) or csv; anything else is the
// client's mistake.
func wantsCSV(r *http.Request) (bool, error) {
	switch r.URL.Query().Get("format") {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	}
	return false, errBadRequest("format must be json or csv.", "format")
}

// respond answers a Metrics API request: body as JSON, byte for byte as
// before, or with format=csv its rows as a CSV file. rows are the body's
// own values, one map per line, never computed again (a nested answer
// passes its innermost objects with their parents' fields copied in);
// columns are their keys in the documented order, date first. A key
// missing from columns is still written, after them, in name order: a
// column is never dropped. name is the endpoint's (one of ours, never
// the client's text): the file is name-start-end.csv.
func respond(w http.ResponseWriter, r *http.Request, name string, body map[string]any, rows []map[string]any, columns []string) error {
	asCSV, err := wantsCSV(r)
	if err != nil {
		return err
	}
	if !asCSV {
		writeJSON(w, http.StatusOK, body)
		return nil
	}
	columns = withEveryKey(rows, columns)
	// The whole file is written before the status goes out, as writeJSON
	// encodes first: a value that cannot be written is a logged 500, never
	// a 200 cut short.
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write(columns)
	line := make([]string, len(columns))
	for _, row := range rows {
		for i, c := range columns {
			line[i] = csvCell(row[c])
		}
		_ = cw.Write(line)
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvFilename(r, name)+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}

// withEveryKey is columns (no name twice) with any key of rows it lacks
// appended.
func withEveryKey(rows []map[string]any, columns []string) []string {
	var extra []string
	for _, row := range rows {
		// Lookups first: a row whose keys are all columns is the rule,
		// and walking every map costs more (a third of the file's time).
		n := 0
		for _, c := range columns {
			if _, ok := row[c]; ok {
				n++
			}
		}
		if n == len(row) {
			continue
		}
		for k := range row {
			if !slices.Contains(columns, k) && !slices.Contains(extra, k) {
				extra = append(extra, k)
			}
		}
	}
	if extra == nil {
		return columns
	}
	slices.Sort(extra)
	return append(slices.Clip(columns), extra...)
}

// csvCell is a value as the JSON answer writes it: a number in the same
// digits (an integer stays one, cents stay cents), text through
// sheet.Text, nothing for null.
func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return sheet.Text(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		// encoding/json's own form between 1e-6 and 1e21, and for zero;
		// outside it (exponents, NaN, ±Inf) json.Marshal below decides.
		if a := math.Abs(x); a == 0 || (a >= 1e-6 && a < 1e21) {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		// As writeJSON: a value the JSON could not carry is a server bug.
		panic(fmt.Sprintf("write a CSV cell: %v", err))
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		return sheet.Text(s) // a type that is text in the JSON
	}
	return string(b)
}

// csvFilename is name and the request's range, e.g.
// mrr-2024-01-01-2024-12-31.csv.
func csvFilename(r *http.Request, name string) string {
	q := r.URL.Query()
	for _, p := range []string{"start-date", "end-date"} {
		if t, err := billing.ParseDate(query(q, p)); err == nil {
			name += "-" + t.Format(time.DateOnly)
		}
	}
	return name + ".csv"
}

// metricColumns are the columns of /v1/metrics/{name} (docs/api.md):
// each metric and then its change, in the order of allKeys; for mrr the
// five movements after them, and net new MRR when asked.
func metricColumns(name string, keys []string, withNetNew bool) []string {
	cols := []string{"date"}
	for _, k := range keys {
		if name == "all" {
			cols = append(cols, k, k+"-percentage-change")
		} else {
			cols = append(cols, k, "percentage-change")
		}
	}
	if name == "mrr" {
		cols = append(cols, "mrr-new-business", "mrr-expansion", "mrr-contraction", "mrr-churn", "mrr-reactivation")
		if withNetNew {
			cols = append(cols, "net-new-mrr", "net-new-mrr-percentage-change")
		}
	}
	return cols
}

// fieldColumns are the columns of an endpoint whose entries are a field
// table (cash flow, retention): date, then the fields in their order.
func fieldColumns[E any](fields []field[E]) []string {
	cols := []string{"date"}
	for _, f := range fields {
		cols = append(cols, f.key)
	}
	return cols
}

// cmrrColumns are the columns of /v1/metrics/cmrr (docs/committed-mrr.md).
var cmrrColumns = []string{"date", "cmrr", "mrr", "scheduled-new-business", "scheduled-expansion", "scheduled-contraction",
	"scheduled-churn", "scheduled-reactivation"}

// cohortColumns are the columns of /v1/metrics/cohorts' CSV: a line per
// cell, its cohort's fields first (the cohort's size and MRR renamed
// cohort-customers and cohort-mrr), its age, then the cell's own fields.
var cohortColumns = []string{"cohort", "cohort-customers", "cohort-mrr", "age", "date", "customers", "customers-percentage",
	"mrr", "mrr-percentage"}

// cohortLines are a cohorts answer's rows as the lines of its CSV (see
// cohortColumns): each row holds its cells, one per age, as a list of
// maps under cells. The values are the answer's own, moved, never computed again;
// age is a cell's position in its row when the cell does not carry it.
// The cohorts handler answers with
//
//	respond(w, r, "cohorts", body, cohortLines(rows, "cells"), cohortColumns)
func cohortLines(rows []map[string]any, cells string) []map[string]any {
	var out []map[string]any
	for _, row := range rows {
		var list []map[string]any
		switch l := row[cells].(type) {
		case []map[string]any:
			list = l
		case []any:
			for _, c := range l {
				m, _ := c.(map[string]any)
				list = append(list, m)
			}
		}
		for age, c := range list {
			line := make(map[string]any, len(row)+len(c)+1)
			for k, v := range row {
				switch k {
				case cells:
				case "cohort":
					line[k] = v
				default:
					line["cohort-"+k] = v
				}
			}
			line["age"] = age
			for k, v := range c {
				line[k] = v
			}
			out = append(out, line)
		}
	}
	return out
}
