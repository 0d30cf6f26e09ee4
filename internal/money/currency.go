package money

import "strings"

// exponents lists the active ISO 4217 currencies by their number of minor
// units. Codes not listed have 2.
var exponents = func() map[string]int {
	m := map[string]int{}
	two := `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR
IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN
NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL
THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL`
	for _, c := range strings.Fields(two) {
		m[c] = 2
	}
	for _, c := range strings.Fields(`BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF`) {
		m[c] = 0
	}
	for _, c := range strings.Fields(`BHD IQD JOD KWD LYD OMR TND`) {
		m[c] = 3
	}
	return m
}()

// Valid reports whether code is an active ISO 4217 currency code.
func Valid(code string) bool {
	_, ok := exponents[code]
	return ok
}

// Exponent is the number of minor units of the currency (2 for USD, 0 for
// JPY, 3 for KWD).
func Exponent(code string) int {
	if e, ok := exponents[code]; ok {
		return e
	}
	return 2
}

// MaxAmount bounds every amount Tally accepts, in minor units (api.md
// "Limits"): ±10^13 cents is ±100 billion dollars. Far below int64's edge,
// it leaves room for sums of many amounts; the sums are checked anyway
// (Add, Sub).
const MaxAmount = 10_000_000_000_000

// signs are the symbols the API's currency-sign field gives (and the
// dashboard writes amounts with); other currencies go by their code.
var signs = map[string]string{
	"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$",
	"CHF": "CHF", "SEK": "kr", "NOK": "kr", "DKK": "kr", "BRL": "R$", "PLN": "zł", "KRW": "₩", "RUB": "₽",
}

// Sign is the currency's symbol, or its code when it has none listed.
func Sign(code string) string {
	if s, ok := signs[code]; ok {
		return s
	}
	return code
}
