package web

import (
	"encoding/csv"
	"net/http"

	"github.com/tally-analytics/tally/internal/sheet"
)

// writeCSV answers rows as a CSV download. Numbers are the API's own
// text (minor units, rates as the API gives them), never reformatted, so
// the file, the page and the API agree to the digit.
func writeCSV(rw http.ResponseWriter, name string, rows [][]string) error {
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	rw.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(rw)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return nil
}

// text is a cell of text a client wrote (a name, an email, an id), kept
// from running as a spreadsheet formula (sheet.Text).
func text(v any) string { return sheet.Text(str(v)) }

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
		name, email, ext := text(c["name"]), text(c["email"]), text(c["external_id"])
		if shared {
			name, email, ext = "", "", ""
		}
		out = append(out, []string{str(c["uuid"]), ext, name, email, str(c["status"]), text(c["country"]),
			str(c["customer-since"]), str(c["mrr"]), str(c["arr"]), currency})
	}
	return out
}

func activitiesCSV(entries []map[string]any, shared bool) [][]string {
	out := [][]string{{"uuid", "date", "type", "customer-uuid", "customer-name", "description", "activity-mrr-movement", "activity-mrr", "activity-arr", "currency"}}
	for _, a := range entries {
		name := text(a["customer-name"])
		if shared {
			name = ""
		}
		out = append(out, []string{str(a["uuid"]), str(a["date"]), str(a["type"]), str(a["customer-uuid"]), name,
			text(a["description"]), str(a["activity-mrr-movement"]), str(a["activity-mrr"]), str(a["activity-arr"]), str(a["currency"])})
	}
	return out
}
