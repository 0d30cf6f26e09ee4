// Package browser holds the dashboard's browser suite (issue 11): Go tests
// that build the real tally binary, serve the demo book with it and drive
// Debian's chromium through github.com/chromedp/chromedp, comparing what
// the pages show with what the API answers. It has no code of its own
// outside its tests, and nothing imports it.
//
// The suite fails, never skips, when chromium cannot be found or started:
// scripts/test.sh installs it and sets TALLY_CHROMIUM. Screenshots of every
// page go to $TALLY_ARTIFACTS; `go test ./e2e/browser -update-screenshots`
// rewrites the ones docs/screenshots keeps for the README.
package browser
