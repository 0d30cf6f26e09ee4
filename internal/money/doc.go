// Package money knows currencies: the ISO 4217 codes Tally accepts and how
// many minor units each has. Amounts are int64 minor units everywhere; this
// package never uses floating point for money.
package money
