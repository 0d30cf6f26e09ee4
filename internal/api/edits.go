package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// disabledOut is an object's disabled state on the wire (issue 13).
type disabledOut struct {
	Disabled   bool    `json:"disabled"`
	DisabledAt *string `json:"disabled_at"`
	DisabledBy *string `json:"disabled_by"`
}

func disabledWire(d billing.Disabled) disabledOut {
	var at *string
	if d.At != nil {
		s := formatDisabledAt(*d.At)
		at = &s
	}
	return disabledOut{Disabled: d.IsDisabled(), DisabledAt: at, DisabledBy: d.By}
}

// formatDisabledAt writes the moment an object was disabled or edited with
// milliseconds, as ChartMogul writes disabled_at.
func formatDisabledAt(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// editAuthor is who an edit is recorded as: the key's prefix, which may be
// shown again (never the key).
func editAuthor(r *http.Request) string { return principal(r).Key.Prefix }

// editedValue is one field's first and latest value.
type editedValue struct {
	OriginalValue json.RawMessage `json:"original_value"`
	EditedValue   json.RawMessage `json:"edited_value"`
}

// editHistorySummary is edit_history_summary: for each field edited, its
// value before the first edit and after the latest, and who made the
// latest edit and when. An object never edited has an empty summary ({}),
// as ChartMogul shows it.
type editHistorySummary struct {
	ValuesChanged         map[string]editedValue `json:"values_changed,omitempty"`
	LatestEditAuthor      *string                `json:"latest_edit_author,omitempty"`
	LatestEditPerformedAt *string                `json:"latest_edit_performed_at,omitempty"`
}

// summarizeEdits folds an object's edit records (oldest first) into its
// summary. A field edited back to its original value is left out.
func summarizeEdits(records []store.EditRecord) *editHistorySummary {
	sum := &editHistorySummary{}
	if len(records) == 0 {
		return sum
	}
	changed := map[string]editedValue{}
	for _, r := range records {
		v, seen := changed[r.Field]
		if !seen {
			v.OriginalValue = r.Original
		}
		v.EditedValue = r.Edited
		changed[r.Field] = v
	}
	for f, v := range changed {
		if string(v.OriginalValue) == string(v.EditedValue) {
			delete(changed, f)
		}
	}
	if len(changed) > 0 {
		sum.ValuesChanged = changed
	}
	last := records[len(records)-1]
	at := formatDisabledAt(last.At)
	sum.LatestEditAuthor, sum.LatestEditPerformedAt = &last.Author, &at
	return sum
}
