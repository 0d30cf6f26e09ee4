// Package demo is Tally's sample business: `tally demo` and `tally serve
// --demo`. Generate builds a synthetic SaaS book (customers, plans,
// invoices with line items and transactions, cancellations, refunds,
// scheduled subscription events) from a seed and an anchor date; it is
// pure and deterministic. Load sends a book to the API exactly as a client
// would, one HTTP request at a time with an API key, so the demo exercises
// the import path and the recomputation behind it. Install ties the two to
// a store: it makes sure exchange rates exist (the one thing not sent over
// HTTP, as `tally fx import` does not go over HTTP either) and loads the
// book through the API's own handler in-process.
//
// It must not write billing data to the store directly: everything a
// client could send goes through the API. Its request bodies are wire
// shapes written from the client's side, so they carry JSON tags.
package demo
