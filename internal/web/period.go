package web

import (
	"maps"
	"net/url"
	"slices"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

const day = 24 * time.Hour

// period is the range a page shows, in the API's own parameters.
type period struct {
	Start, End time.Time // dates (UTC midnight), End inclusive
	Interval   string
	// Today is the account's date now: a period reaching it is not over.
	Today time.Time
	// First is the date of the account's first activity (the "all"
	// preset); zero when it has none.
	First time.Time
	// NoDrill says why the page's cells do not drill down: "geo" (a
	// geo or plans filter, which the activity list does not take) or
	// "plan" (a plan condition: the figures view customers through the
	// plans named, the activity list shows them whole); "" they do.
	NoDrill string
	// Keep is the selection (filters, segment) a drill-down keeps: the
	// activity list takes it as the metrics do.
	Keep url.Values
	// Param names the interval's parameter: interval, or cohort-interval
	// on the cohorts page, whose Choices are fewer.
	Param   string
	Choices []string
	// Cohorts: the page is the cohorts'.
	Cohorts bool
}

var intervals = []string{"day", "week", "month", "quarter", "year"}

// parsePeriod reads start-date, end-date and the interval (in param:
// interval, or the cohorts' cohort-interval, one of choices) as the API
// does; missing ones take the default: the last 12 months by month,
// ending today (the first of them starts on the first of its month). A
// malformed value is passed on as is, for the API to refuse in its own
// words.
func parsePeriod(q url.Values, today time.Time, param string, choices []string) (period, url.Values) {
	p := period{Today: today, Interval: q.Get(param), Param: param, Choices: choices}
	if p.Interval == "" {
		p.Interval = "month"
	}
	p.End = today
	p.Start = time.Date(today.Year(), today.Month()-11, 1, 0, 0, 0, 0, time.UTC)
	raw := url.Values{param: {p.Interval}, "start-date": {p.Start.Format(time.DateOnly)}, "end-date": {p.End.Format(time.DateOnly)}}
	for _, name := range []string{"start-date", "end-date"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		// Read as the API reads it (a date, or a time whose date
		// counts), and asked on as a plain date, so the page and its
		// answer cut the same periods; what the API cannot read goes on
		// as is, for it to refuse in its own words.
		raw.Set(name, v)
		if t, err := billing.ParseDate(v); err == nil {
			y, m, d := t.Date()
			t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
			raw.Set(name, t.Format(time.DateOnly))
			if name == "start-date" {
				p.Start = t
			} else {
				p.End = t
			}
		}
	}
	return p, raw
}

// Params is the period as query parameters.
func (p period) Params() url.Values {
	return url.Values{"start-date": {p.Start.Format(time.DateOnly)}, "end-date": {p.End.Format(time.DateOnly)}, p.ParamName(): {p.Interval}}
}

// ParamName is the interval's parameter.
func (p period) ParamName() string {
	if p.Param == "" {
		return "interval"
	}
	return p.Param
}

// shifted is the period of the same length just before (-1) or after (+1).
func (p period) shifted(dir int) period {
	n := p.End.Sub(p.Start) + day
	out := p
	if dir < 0 {
		out.Start, out.End = p.Start.Add(-n), p.Start.Add(-day)
	} else {
		out.Start, out.End = p.End.Add(day), p.End.Add(n)
	}
	// Whole calendar months stay whole months.
	if p.Start.Day() == 1 && p.End.AddDate(0, 0, 1).Day() == 1 {
		months := (p.End.Year()-p.Start.Year())*12 + int(p.End.Month()-p.Start.Month()) + 1
		out.Start = p.Start.AddDate(0, dir*months, 0)
		out.End = out.Start.AddDate(0, months, -1)
	}
	return out
}

// preset is a link of the period controls.
type preset struct {
	Label  string
	Params url.Values
	Active bool
}

// Presets are the last 30, 90 and 365 days, 12 months, year to date and
// all, each ending today.
func (p period) Presets() []preset {
	t := p.Today
	var out []preset
	mk := func(label string, start time.Time, interval string) {
		if !slices.Contains(p.Intervals(), interval) {
			return
		}
		q := period{Start: start, End: t, Interval: interval, Param: p.Param}
		out = append(out, preset{Label: label, Params: q.Params(), Active: p.Start.Equal(start) && p.End.Equal(t) && p.Interval == interval})
	}
	mk("30 days", t.AddDate(0, 0, -29), "day")
	mk("90 days", t.AddDate(0, 0, -89), "week")
	mk("365 days", t.AddDate(0, 0, -364), "month")
	mk("12 months", time.Date(t.Year(), t.Month()-11, 1, 0, 0, 0, 0, time.UTC), "month")
	mk("Year to date", time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC), "month")
	if p.Cohorts {
		mk("3 years by quarter", time.Date(t.Year()-2, 1, 1, 0, 0, 0, 0, time.UTC), "quarter")
	}
	if !p.First.IsZero() && p.First.Before(t) {
		mk("All", p.First, "month")
	}
	return out
}

// Prev and Next are the period's neighbours as query parameters.
func (p period) Prev() url.Values { return p.shifted(-1).Params() }
func (p period) Next() url.Values { return p.shifted(1).Params() }

// Intervals lists the choices of the interval control.
func (p period) Intervals() []string {
	if p.Choices != nil {
		return p.Choices
	}
	return intervals
}

// Unfinished reports whether the period reaches today or later: its last
// entry is still moving.
func (p period) Unfinished() bool { return !p.End.Before(p.Today) }

// with is q with the period's parameters set (the page's others kept).
func with(q url.Values, params url.Values) string {
	out := maps.Clone(q)
	if out == nil {
		out = url.Values{}
	}
	maps.Copy(out, params)
	// A cursor belongs to the page it came from.
	out.Del("cursor")
	return out.Encode()
}
