package money

import (
	"math/big"
	"strings"
	"testing"
	"time"
)

const ecb = `Date,USD,JPY,GBP,KWD,
2017-05-02,1.0908,122.00,0.8450,N/A,
2017-04-28,1.0930,121.50,0.8440,0.3300,
`

func TestECBRates(t *testing.T) {
	rates, err := ParseECB(strings.NewReader(ecb))
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 7 { // 3 + 4 values, N/A skipped
		t.Fatalf("%d rates", len(rates))
	}
	tab := NewRateTable(rates)
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	check := func(from, to, on string, want *big.Rat) {
		t.Helper()
		got, ok := tab.Rate(from, to, day(on))
		if !ok || got.Cmp(want) != 0 {
			t.Errorf("%s→%s on %s: %v %v, want %v", from, to, on, got, ok, want)
		}
	}
	// EUR cents → USD cents on 05-02: 1.0908.
	check("EUR", "USD", "2017-05-02", big.NewRat(10908, 10000))
	// 05-01 (a holiday) takes 04-28's 1.0930.
	check("EUR", "USD", "2017-05-01", big.NewRat(10930, 10000))
	// GBP pence → USD cents: 1.0908 / 0.8450 = 10908/8450.
	check("GBP", "USD", "2017-05-02", big.NewRat(10908, 8450))
	// 1 yen (exponent 0) → USD cents: 1.0908 / 122 × 100.
	check("JPY", "USD", "2017-05-02", new(big.Rat).Mul(big.NewRat(10908, 1220000), big.NewRat(100, 1)))
	// 1 fils (exponent 3) → USD cents on 04-28: 1.0930 / 0.33 / 10.
	check("KWD", "USD", "2017-04-28", big.NewRat(10930, 33000))
	if _, ok := tab.Rate("EUR", "USD", day("2017-04-01")); ok {
		t.Error("a rate before the first day")
	}
	if _, ok := tab.Rate("EUR", "USD", day("2017-05-20")); ok {
		t.Error("a rate more than a week old")
	}
	if _, ok := tab.Rate("EUR", "CHF", day("2017-05-02")); ok {
		t.Error("a currency the file lacks")
	}
	for _, bad := range []string{"Day,USD\n2017-01-01,1\n", "Date,USD\n01/02/2017,1\n", "Date,USD\n2017-01-02,-1\n", "Date,USD\n2017-01-02,abc\n"} {
		if _, err := ParseECB(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
