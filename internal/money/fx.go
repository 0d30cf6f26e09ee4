package money

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"time"
)

// DayRate is one reference rate: PerEUR units of a currency for one euro
// on Day (UTC midnight).
type DayRate struct {
	Currency string
	Day      time.Time
	PerEUR   *big.Rat
}

// ParseECB reads the European Central Bank's historical reference rates
// in their CSV form: a header `Date,USD,JPY,…` (a trailing comma is
// usual), then one line per business day, `N/A` where a currency has no
// rate. Rates are read as exact decimals.
func ParseECB(r io.Reader) ([]DayRate, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read ECB header: %w", err)
	}
	if len(head) < 2 || !strings.EqualFold(strings.TrimSpace(head[0]), "Date") {
		return nil, fmt.Errorf("not an ECB rates file: the first column must be Date, got %q", head[0])
	}
	var out []DayRate
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		day, err := time.Parse("2006-01-02", strings.TrimSpace(rec[0]))
		if err != nil {
			return nil, fmt.Errorf("line %d: date %q is not YYYY-MM-DD", line, rec[0])
		}
		for i := 1; i < len(rec) && i < len(head); i++ {
			cur, v := strings.ToUpper(strings.TrimSpace(head[i])), strings.TrimSpace(rec[i])
			if cur == "" || v == "" || v == "N/A" {
				continue
			}
			rate, ok := new(big.Rat).SetString(v)
			if !ok || rate.Sign() <= 0 {
				return nil, fmt.Errorf("line %d: %s rate %q is not a positive number", line, cur, v)
			}
			out = append(out, DayRate{Currency: cur, Day: day, PerEUR: rate})
		}
	}
}

// RateTable answers conversions from loaded reference rates. A day without
// a rate (a weekend, a holiday) uses the latest rate of the week before.
type RateTable struct {
	byCurrency map[string][]DayRate // oldest first
}

// MaxRateAge is how far back a missing day's rate may be taken from.
const MaxRateAge = 7 * 24 * time.Hour

// NewRateTable indexes rates.
func NewRateTable(rates []DayRate) *RateTable {
	t := &RateTable{byCurrency: map[string][]DayRate{}}
	for _, r := range rates {
		t.byCurrency[r.Currency] = append(t.byCurrency[r.Currency], r)
	}
	for _, rs := range t.byCurrency {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Day.Before(rs[j].Day) })
	}
	return t
}

func (t *RateTable) perEUR(cur string, day time.Time) (*big.Rat, bool) {
	if cur == "EUR" {
		return big.NewRat(1, 1), true
	}
	rs := t.byCurrency[cur]
	d := day.UTC().Truncate(24 * time.Hour)
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Day.After(d) })
	if i == 0 || d.Sub(rs[i-1].Day) > MaxRateAge {
		return nil, false
	}
	return rs[i-1].PerEUR, true
}

// Rate is how many minor units of to one minor unit of from is worth on
// day (exact), through the euro cross rate.
func (t *RateTable) Rate(from, to string, day time.Time) (*big.Rat, bool) {
	f, ok1 := t.perEUR(from, day)
	g, ok2 := t.perEUR(to, day)
	if !ok1 || !ok2 {
		return nil, false
	}
	r := new(big.Rat).Quo(g, f)
	shift := Exponent(to) - Exponent(from)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(shift))), nil))
	if shift >= 0 {
		return r.Mul(r, scale), true
	}
	return r.Quo(r, scale), true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
