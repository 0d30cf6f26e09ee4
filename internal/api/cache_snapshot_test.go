package api

import (
	"encoding/binary"
	"hash/crc32"
	"reflect"
	"testing"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/metrics"
	"github.com/tally-analytics/tally/internal/store"
)

// TestSnapshotCodecs: encodings decode to what was encoded, and damaged
// ones (every truncation, every byte changed) are refused or decode, but
// never panic.
func TestSnapshotCodecs(t *testing.T) {
	at := func(d int) time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
	amount := int64(-250)
	cash := map[int64][]metrics.CashTransaction{
		3: {{Customer: 3, Country: "DE", At: at(1), Type: "payment", Successful: true, Currency: "EUR",
			Lines: []metrics.CashLine{{Amount: 1000, Plan: "p1"}, {Amount: 50, OneTime: true}}},
			{Customer: 3, Country: "DE", At: at(0), Type: "refund", Successful: false, Amount: &amount, Currency: "EUR", Lines: []metrics.CashLine{}}},
		1: {{Customer: 1, At: at(-400), Type: "payment", Successful: true, Currency: "USD", Lines: []metrics.CashLine{}}},
	}
	book := metrics.NewCashBook("USD", nil).With(nil, cash, nil)
	for _, b := range []*metrics.CashBook{nil, book} {
		got, err := decodeCash(encodeCash(cash, b), "USD", nil)
		if err != nil || !reflect.DeepEqual(got.byCustomer, cash) {
			t.Fatalf("cash: %v\n%+v\nwant\n%+v", err, got.byCustomer, cash)
		}
		if (got.book != nil) != (b != nil) {
			t.Fatalf("a snapshot with book %v decoded with %v", b != nil, got.book != nil)
		}
	}
	if got, err := decodeCash(encodeCash(cash, book), "EUR", nil); err != nil || got.book != nil || !reflect.DeepEqual(got.byCustomer, cash) {
		t.Fatalf("a snapshot of a USD book decoded for EUR: %v, book %v", err, got.book != nil)
	}
	rs := []*store.CustomerResults{{CustomerID: 7, Country: "US", Version: 4,
		Points:      []store.ResultPoint{{At: at(0), MRR: 1000, Active: true}, {At: at(30), MRR: 0, FX: 3}},
		Activities:  []store.ResultActivity{{At: at(0), Type: "new_biz", Amount: 1000, MRRAfter: 1000}, {At: at(30), Type: "churn", Amount: -1000}},
		Steps:       []store.ResultStep{{SubscriptionUUID: "s1", ExternalID: "e1", Group: "g", At: at(0), MRR: 1000, Live: true, Plan: "p1"}, {SubscriptionUUID: "s1", ExternalID: "e1", Group: "g", At: at(30), Plan: "p1"}, {SubscriptionUUID: "s2", At: at(5), Plan: ""}},
		DataSources: []string{"ds1", "ds2"}, Tags: []string{"a"}, Currencies: []string{"EUR", "USD"},
		Custom: map[string]billing.CustomAttribute{"s": {Type: "String", Value: "x"}, "n": {Type: "Integer", Value: 3.0, Source: "crm"},
			"b": {Type: "Boolean", Value: false}, "z": {Type: "String"}, "l": {Type: "List", Value: []any{"a", 1.0}}},
		Quantities: map[string]int64{"s1": 2}},
		{CustomerID: 2}}
	var cs []*cachedCustomer
	hs := map[int64]metrics.History{}
	for _, r := range rs {
		c := toCached(r)
		cs = append(cs, c)
		hs[c.id] = c.history
	}
	mrrBook := metrics.NewBook(hs)
	st, err := decodeResults(encodeResults(cs, mrrBook))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]*cachedCustomer{}
	for _, c := range st.customers {
		byID[c.id] = c
	}
	for _, c := range cs {
		if !reflect.DeepEqual(byID[c.id], c) {
			t.Fatalf("customer %d decoded as\n%+v\nwant\n%+v", c.id, byID[c.id], c)
		}
	}
	if !reflect.DeepEqual(st.book, mrrBook) {
		t.Fatalf("the book decoded differs")
	}
	// signed is body with a valid checksum: damage that a checksum
	// cannot see (a faulty writer's) reaches the decoders.
	signed := func(body []byte) []byte {
		return binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32.ChecksumIEEE(body))
	}
	for _, data := range [][]byte{encodeResults(cs, mrrBook), encodeResults(cs, nil), encodeCash(cash, book), encodeCash(cash, nil)} {
		body := data[:len(data)-4]
		for n := 3; n < len(body); n++ {
			_, _ = decodeResults(signed(body[:n]))
			_, _ = decodeCash(signed(body[:n]), "USD", nil)
			for _, b := range []byte{0, 1, 0x7f, 0x80, 0xff} {
				damaged := signed(body)
				damaged[n] = b
				_, _ = decodeResults(signed(damaged[:len(damaged)-4]))
				_, _ = decodeCash(signed(damaged[:len(damaged)-4]), "USD", nil)
			}
		}
		// Truncated by a byte, checksum and all, or one byte changed
		// under a checksum that no longer matches: refused.
		flipped := append([]byte(nil), data...)
		flipped[len(body)/2] ^= 0x55
		for _, bad := range [][]byte{signed(body[:len(body)-1]), flipped, data[:len(data)-1]} {
			if _, err := decodeResults(bad); err == nil {
				t.Fatalf("a damaged snapshot (%d bytes) decoded as results", len(bad))
			}
			if _, err := decodeCash(bad, "USD", nil); err == nil {
				t.Fatalf("a damaged snapshot (%d bytes) decoded as cash", len(bad))
			}
		}
	}
}
