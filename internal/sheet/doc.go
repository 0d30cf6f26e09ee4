// Package sheet is what Tally's CSV files share: how a cell of text a
// client wrote is made safe to open in a spreadsheet. The API's exports
// and metric CSVs and the dashboard's CSVs all go through it, so the rule
// is written once. It imports nothing of Tally's.
package sheet
