// Package billing holds Tally's domain types (accounts, data sources,
// customers, plans) and the validation rules that apply to them before they
// are stored. It does no I/O and knows nothing of JSON or SQL.
package billing
