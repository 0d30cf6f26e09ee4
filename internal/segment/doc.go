// Package segment reads expressions of the ChartMogul Filter Language
// (CFL) and decides which customers they select (docs/segments.md).
//
// It is pure: what it needs from the database (which plans a plan group
// holds, which names a plan goes by, the account currency) comes through a
// Resolver, and a customer's attributes come as Facts worked out by the
// caller. It reads no clock: the now-dependent facts are the caller's.
//
// Parse checks everything that does not depend on the account and gives
// an Expr; Compile looks up its names and gives a Filter, which matches
// Facts. Every mistake in an expression is an *Error naming the offending
// text, never a panic.
package segment
