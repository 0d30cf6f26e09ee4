package web

import (
	"encoding/csv"
	"net/http"
)

// writeCSV answers rows as a CSV download. Numbers are the API's own
// text (minor units, rates as the API gives them), never reformatted, so
// the file, the page and the API agree to the digit.
func writeCSV(rw http.ResponseWriter, name string, rows [][]string) error {
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	rw.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(rw)
	for _, r := range rows {
		for i, v := range r {
			r[i] = defuse(v)
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return nil
}

// defuse keeps a spreadsheet from running a cell as a formula: text that
// starts with =, +, @ or a tab gets a leading quote. (A leading - is a
// negative number here, and numbers are never text a client wrote.)
func defuse(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

// tableCSV is a metric table: one row per entry, a column per field.
func tableCSV(t table) [][]string {
	head := []string{"date"}
	for _, c := range t.Columns {
		head = append(head, c.Key)
	}
	out := [][]string{head}
	for _, r := range t.Rows {
		line := []string{r.Date}
		for _, c := range r.Cells {
			line = append(line, str(c.Value))
		}
		out = append(out, line)
	}
	return out
}

func customersCSV(entries []map[string]any, shared bool, currency string) [][]string {
	out := [][]string{{"uuid", "external_id", "name", "email", "status", "country", "customer-since", "mrr", "arr", "currency"}}
	for _, c := range entries {
		name, email, ext := str(c["name"]), str(c["email"]), str(c["external_id"])
		if shared {
			name, email, ext = "", "", ""
		}
		out = append(out, []string{str(c["uuid"]), ext, name, email, str(c["status"]), str(c["country"]),
			str(c["customer-since"]), str(c["mrr"]), str(c["arr"]), currency})
	}
	return out
}

func activitiesCSV(entries []map[string]any, shared bool) [][]string {
	out := [][]string{{"uuid", "date", "type", "customer-uuid", "customer-name", "description", "activity-mrr-movement", "activity-mrr", "activity-arr", "currency"}}
	for _, a := range entries {
		name := str(a["customer-name"])
		if shared {
			name = ""
		}
		out = append(out, []string{str(a["uuid"]), str(a["date"]), str(a["type"]), str(a["customer-uuid"]), name,
			str(a["description"]), str(a["activity-mrr-movement"]), str(a["activity-mrr"]), str(a["activity-arr"]), str(a["currency"])})
	}
	return out
}
