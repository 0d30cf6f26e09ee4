package api

import (
	"encoding/base64"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tally-analytics/tally/internal/obfuscate"
	"github.com/tally-analytics/tally/internal/store"
)

// maxPerPage is ChartMogul's cap; larger values are clamped, not refused
// (api-reference.md §1.6).
const maxPerPage = 200

// maxPage bounds the legacy page number (api.md "Pagination"): with
// per_page at most 200, the offset stays far from overflowing, and both
// stores refuse a larger page alike instead of PostgreSQL failing on a
// wrapped negative OFFSET.
const maxPage = 1_000_000

// pageRequest is a list request's position: the cursor's row and page
// number, or the legacy page parameter.
type pageRequest struct {
	page    store.Page
	key     *activityKey // a keyed cursor's last row (activities)
	number  int          // 1-based page number, for the legacy fields
	perPage int
	ids     *obfuscate.Perm // hides the row id in cursors
}

// parsePage reads per_page (or Go's per-page), cursor and the legacy page.
func parsePage(r *http.Request) (pageRequest, error) {
	pr := pageRequest{perPage: maxPerPage, number: 1, ids: idsOf(r.Context())}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return pr, errBadRequest("The query string is not valid: "+err.Error()+".", "")
	}
	if pr.perPage, err = perPage(q); err != nil {
		return pr, err
	}
	pr.page.Limit = pr.perPage
	if c := q.Get("cursor"); c != "" {
		if number, key, ok := decodeKeyCursor(c); ok {
			pr.number, pr.key = number, &key
			return pr, nil
		}
		number, after, ok := decodeCursor(pr.ids, c)
		if !ok {
			return pr, errBadRequest("The cursor is not valid: pass the cursor of the previous page unchanged.", "cursor")
		}
		pr.number, pr.page.AfterID = number, after
		return pr, nil
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxPage {
			return pr, errBadRequest("page must be a whole number from 1 to "+itoa(maxPage)+".", "page")
		}
		pr.number, pr.page.Offset = n, (n-1)*pr.perPage
	}
	return pr, nil
}

// Cursors are opaque to clients: the next page number and the last row's
// id, the id through the permutation of public ids (the row ids come
// from sequences every account shares).
func encodeCursor(ids *obfuscate.Perm, number int, lastID int64) string {
	if lastID > 0 {
		lastID = ids.Encode(lastID)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(number) + "&" + strconv.FormatInt(lastID, 10)))
}

// Rows that a recomputation writes anew (activities) keep no row id
// between two pages, so their cursors carry the last row's place in the
// list's order instead, its date and UUID: "<page>&k<unix ms>.<uuid>".
// The place holds even if that activity is gone by the next page.
type activityKey struct {
	at   int64
	uuid string
}

func encodeKeyCursor(number int, k activityKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(number) + "&k" + strconv.FormatInt(k.at, 10) + "." + k.uuid))
}

func decodeKeyCursor(c string) (number int, k activityKey, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c, "="))
	if err != nil {
		return 0, k, false
	}
	n, key, found := strings.Cut(string(b), "&k")
	at, uuid, dot := strings.Cut(key, ".")
	number, err = strconv.Atoi(n)
	if !found || !dot || err != nil || number < 1 || number >= math.MaxInt32 || !isUUID(uuid) {
		return 0, k, false
	}
	if k.at, err = strconv.ParseInt(at, 10, 64); err != nil {
		return 0, k, false
	}
	k.uuid = uuid
	return number, k, true
}

// isUUID accepts the text form of a UUID (what activities are named by),
// so that nothing else from a cursor reaches a query.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f'):
			return false
		}
	}
	return true
}

func decodeCursor(ids *obfuscate.Perm, c string) (number int, after int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c, "="))
	if err != nil {
		return 0, 0, false
	}
	n, id, found := strings.Cut(string(b), "&")
	if !found {
		return 0, 0, false
	}
	number, err1 := strconv.Atoi(n)
	after, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || number < 1 || number >= math.MaxInt32 || after < 0 {
		return 0, 0, false
	}
	if after > 0 {
		if after, ok = ids.Decode(after); !ok {
			return 0, 0, false
		}
	}
	return number, after, true
}

// pageMeta is the paging part of a list answer: the cursor fields and the
// legacy offset fields real responses still carry.
type pageMeta struct {
	Cursor      *string `json:"cursor"`
	HasMore     bool    `json:"has_more"`
	PerPage     int     `json:"per_page"`
	Page        int     `json:"page"`
	CurrentPage int     `json:"current_page"`
	TotalPages  int     `json:"total_pages"`
}

func newPageMeta[T any](pr pageRequest, l store.Listed[T]) pageMeta {
	m := pageMeta{HasMore: l.HasMore, PerPage: pr.perPage, Page: pr.number, CurrentPage: pr.number,
		TotalPages: (l.Total + pr.perPage - 1) / pr.perPage}
	if l.HasMore {
		c := encodeCursor(pr.ids, pr.number+1, l.LastID)
		m.Cursor = &c
	}
	return m
}

// perPage reads per_page (or Go's per-page): at most maxPerPage, the
// default.
func perPage(q url.Values) (int, error) {
	raw := query(q, "per-page")
	if raw == "" {
		return maxPerPage, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, errBadRequest("per_page must be a whole number of at least 1.", "per_page")
	}
	return min(n, maxPerPage), nil
}

// wireAll renders a page's items in their wire form.
func wireAll[T, O any](items []T, wire func(T) O) []O {
	out := make([]O, len(items))
	for i, x := range items {
		out[i] = wire(x)
	}
	return out
}
