package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// segmentsPage is /segments: the saved segments, each a name and a CFL
// expression the API keeps (/v1/segments), with forms to make, rename,
// edit and delete them for a full-access session.
type segmentsPage struct {
	Entries []savedSegment
	Next    string
	First   string
	// Name and Filters fill the new segment's form: a refused one's, or
	// the expression a page sent to be saved.
	Name, Filters string
	// Edit is the segment whose refused edit is shown, with Name and
	// Filters.
	Edit string
	// Error is the API's refusal of a form.
	Error string
	// CanSave: the writes are wired (the Reader is also a Writer).
	CanSave bool
}

func (w *Web) segmentsPage(rw http.ResponseWriter, r *http.Request) error {
	in := r.URL.Query()
	return w.renderSegments(rw, r, http.StatusOK, segmentsPage{Filters: in.Get("filters")})
}

// renderSegments shows the list, page by page, with data's forms.
func (w *Web) renderSegments(rw http.ResponseWriter, r *http.Request, status int, data segmentsPage) error {
	pg := w.newPage(r, "Segments", "segments")
	in := r.URL.Query()
	q := url.Values{"per_page": {"50"}}
	if c := in.Get("cursor"); c != "" && r.Method == http.MethodGet {
		q.Set("cursor", c)
		data.First = pg.Base + "segments"
	}
	var out segmentList
	if err := w.get(r, "/v1/segments", q, &out); err != nil {
		return err
	}
	data.Entries = out.list()
	if out.HasMore && out.Cursor != nil {
		data.Next = pg.Base + "segments?" + url.Values{"cursor": {*out.Cursor}}.Encode()
	}
	data.CanSave = w.write != nil
	pg.Data = data
	w.render(rw, r, status, "segments", pg)
	return nil
}

// segmentForm reads a segment form's name and expression.
func segmentForm(r *http.Request) (name, filters string, err error) {
	name = strings.TrimSpace(r.PostFormValue("name"))
	filters = strings.TrimSpace(r.PostFormValue("filters"))
	if !utf8.ValidString(name) || !utf8.ValidString(filters) || strings.ContainsRune(name+filters, 0) {
		return name, filters, errors.New("a segment's name and filters must be text (UTF-8, without NUL characters)")
	}
	return name, filters, nil
}

// writeSegment sends a segment write to the API; a refusal is shown on
// the page with the form as it was sent.
func (w *Web) writeSegment(rw http.ResponseWriter, r *http.Request, method, path string, body any, form segmentsPage) error {
	if w.write == nil {
		form.Error = "This server cannot save segments from the dashboard (its API has no in-process writes)."
		return w.renderSegments(rw, r, http.StatusNotImplemented, form)
	}
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	if _, err := w.write.Write(r.Context(), viewerOf(r).p, method, path, b); err != nil {
		var ae apiError
		if errors.As(err, &ae) && ae.StatusCode() < 500 {
			form.Error = ae.Message()
			return w.renderSegments(rw, r, ae.StatusCode(), form)
		}
		return err
	}
	http.Redirect(rw, r, viewerOf(r).base+"segments", http.StatusSeeOther)
	return nil
}

func (w *Web) createSegment(rw http.ResponseWriter, r *http.Request) error {
	name, filters, err := segmentForm(r)
	form := segmentsPage{Name: name, Filters: filters}
	if err != nil {
		form.Error = err.Error()
		return w.renderSegments(rw, r, http.StatusBadRequest, form)
	}
	return w.writeSegment(rw, r, http.MethodPost, "/v1/segments", map[string]string{"name": name, "filters": filters}, form)
}

// updateSegment renames a segment or changes its expression (PATCH).
func (w *Web) updateSegment(rw http.ResponseWriter, r *http.Request) error {
	uuid := r.PathValue("uuid")
	name, filters, err := segmentForm(r)
	form := segmentsPage{Edit: uuid, Name: name, Filters: filters}
	if err != nil {
		form.Error = err.Error()
		return w.renderSegments(rw, r, http.StatusBadRequest, form)
	}
	return w.writeSegment(rw, r, http.MethodPatch, "/v1/segments/"+url.PathEscape(uuid), map[string]string{"name": name, "filters": filters}, form)
}

func (w *Web) deleteSegment(rw http.ResponseWriter, r *http.Request) error {
	return w.writeSegment(rw, r, http.MethodDelete, "/v1/segments/"+url.PathEscape(r.PathValue("uuid")), nil, segmentsPage{})
}
