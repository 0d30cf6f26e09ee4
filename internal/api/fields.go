package api

import (
	"time"

	"github.com/tally-analytics/tally/internal/metrics"
)

// field is one published figure of an entry of E (Tally's own metric
// endpoints): its key and how to read it, in one table per endpoint so
// that the keys and the values cannot drift apart.
type field[E any] struct {
	key string
	get func(E) float64
}

// entryMaps renders entries as the Metrics API does: a date and each
// field.
func entryMaps[E any](entries []E, date func(E) time.Time, fields []field[E]) []map[string]any {
	out := make([]map[string]any, len(entries))
	for i, e := range entries {
		m := map[string]any{"date": date(e).Format("2006-01-02")}
		for _, f := range fields {
			m[f.key] = f.get(e)
		}
		out[i] = m
	}
	return out
}

// summaryMap is a summary of cur against prev: current-, previous- and
// -percentage-change for each field (metrics.md rule 18).
func summaryMap[E any](fields []field[E], cur, prev E) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		c, p := f.get(cur), f.get(prev)
		out["current-"+f.key], out["previous-"+f.key] = c, p
		out[f.key+"-percentage-change"] = metrics.PercentChange(p, c)
	}
	return out
}
