// Package metrics is Tally's metrics engine: it turns a customer's billing
// history (subscription lines, cancellations, connections) into MRR
// timelines and the movements between them, following shared/spec/metrics.md
// rule by rule.
//
// It is pure and deterministic: no I/O, no clock, no SQL, no map-order
// dependence. The same history gives the same numbers whatever order it
// arrived in. Money is integer minor units; ratios are exact (math/big) and
// rounded once.
package metrics
