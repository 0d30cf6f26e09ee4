package segment

import (
	"fmt"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
)

// benchFacts are n customers spread over countries, plans, tags and MRR.
func benchFacts(n int) []Facts {
	countries := []string{"US", "DE", "FR", "GB", "ES", ""}
	out := make([]Facts, n)
	for i := range out {
		since := time.Date(2020, 1, 1+i%1500, 0, 0, 0, 0, time.UTC)
		out[i] = Facts{
			Country: countries[i%len(countries)], DataSources: []string{"ds_stripe"},
			Currencies: []string{"USD"}, Tags: []string{fmt.Sprintf("t%d", i%7), "vip"},
			Custom: map[string]billing.CustomAttribute{
				"channel": attr("String", fmt.Sprintf("channel %d", i%11)),
				"seats":   attr("Integer", int64(i%50)),
			},
			Plans:  []string{plans[i%len(plans)].uuid},
			Status: "Active", MRR: int64(i % 100000), Since: &since, Quantity: int64(i % 20),
		}
	}
	return out
}

func BenchmarkMatch(b *testing.B) {
	facts := benchFacts(100_000)
	for _, expr := range []string{
		"region~ANY~'US','FR','DE'",
		"region~ANY~'US','FR','DE'~AND~mrr~GT~150~AND~plan~ANY~'Pro'",
		"custom.channel~CONTAINS~'Channel 1'~AND~custom.seats~BETWEEN~10,20~AND~subscriber_since~GTE~2021-01-01",
	} {
		b.Run(expr, func(b *testing.B) {
			f := compile(&testing.T{}, expr, &resolver{})
			n := 0
			for b.Loop() {
				n = 0
				for i := range facts {
					if f.Match(&facts[i]) {
						n++
					}
				}
			}
			b.ReportMetric(float64(n), "selected")
		})
	}
}
