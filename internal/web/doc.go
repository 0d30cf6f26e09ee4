// Package web is Tally's dashboard: server-rendered pages (html/template,
// embedded assets, no build step) over the numbers the API computes.
//
// It never computes a number of its own: every figure on a page, in a
// chart and in a CSV comes from the API's own answer, read in process
// through a Reader (api.API.Read), so a page, its CSV and the API show
// the same value. It owns what only a browser needs: sign-in with an API
// key into a session cookie, CSRF protection, share links, and the live
// refresh of an open page.
//
// It must not import internal/api (the server passes the Reader in), nor
// touch the database but for sessions, share links and the results
// version the live refresh watches.
package web
