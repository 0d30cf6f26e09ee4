package billing

import (
	"sync"
	"time"
)

// Location is the account's time zone (metrics.md rule 14), UTC when its
// name is unknown to this machine. Loaded zones are kept: time.LoadLocation
// reads the zone file on every call, and this runs for every row of an
// activity list or export and every dashboard page.
func (a Account) Location() *time.Location {
	if loc, ok := locations.Load(a.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	locations.Store(a.TimeZone, loc)
	return loc
}

var locations sync.Map // zone name → *time.Location
