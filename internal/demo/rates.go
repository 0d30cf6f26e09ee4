package demo

import (
	"fmt"
	"time"
)

// rates is a synthetic daily USD-per-EUR series over [from, to]. A day's
// rate depends on the day alone (two slow waves and a little hashed noise
// around 1.10, in integer ten-thousandths), never on the seed or the
// anchor: the rate table is shared by every account on a server, so two
// demos must never disagree about a day.
func rates(from, to time.Time) []Rate {
	var out []Rate
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, Rate{Day: d, PerEUR: usdPerEUR(d)})
	}
	return out
}

func usdPerEUR(day time.Time) string {
	n := day.Unix() / 86400
	v := 11000 + triangle(n, 430, 450) + triangle(n+31, 97, 160) + int64(splitmix(uint64(n))%81) - 40
	return fmt.Sprintf("%d.%04d", v/10000, v%10000)
}

// triangle is a triangle wave of the given period and amplitude.
func triangle(n, period, amp int64) int64 {
	t := ((n % period) + period) % period
	d := 2*t - period
	if d < 0 {
		d = -d
	}
	return amp * (2*d - period) / period
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
