package api

import (
	"encoding/json"
	"testing"
)

// BenchmarkAddTags is issue 10's 200,000-tag request: linear through a set
// (it took 24 s with a search of the list per tag).
func BenchmarkAddTags(b *testing.B) {
	have := numbered("have", 1000)
	add := numbered("t", 200_000)
	for b.Loop() {
		if got := addTags(have, add); len(got) != 201_000 {
			b.Fatal(len(got))
		}
	}
}

// BenchmarkCheckStrings is decode's NUL and length check on a full import
// request of 1,000 invoices (BenchmarkImportInvoices' body).
func BenchmarkCheckStrings(b *testing.B) {
	batch := invoiceBatch(0, 1000, "pl_x")
	var v map[string]any
	if err := json.Unmarshal(batch, &v); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		if err := checkStrings(batch); err != nil {
			b.Fatal(err)
		}
	}
}
