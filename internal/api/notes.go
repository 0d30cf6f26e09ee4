package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// noteIn is a customer note body of POST, PATCH or PUT (ref §2.5).
type noteIn struct {
	CustomerUUID optString `json:"customer_uuid"`
	Type         optString `json:"type"`
	Text         optString `json:"text"`
	// Note is text under another name: chartmogul-node's own tests of
	// Customer.createNote send it so.
	Note         optString `json:"note"`
	AuthorEmail  optString `json:"author_email"`
	Author       optString `json:"author"`
	CallDuration optInt    `json:"call_duration"`
	CreatedAt    optString `json:"created_at"`
}

// noteTypes are the kinds of note: a note, or a call log.
var noteTypes = map[string]bool{"note": true, "call": true}

func (in *noteIn) text() optString {
	if !in.Text.Set {
		return in.Note
	}
	return in.Text
}

func (in *noteIn) author() optString {
	if !in.AuthorEmail.Set {
		return in.Author
	}
	return in.AuthorEmail
}

// apply checks the fields sent and sets them on n (every field on
// create), recording what is wrong in errs.
func (in *noteIn) apply(n *store.Note, create bool, errs billing.FieldErrors) {
	if in.Type.Set || create {
		typ := "note" // the default: a call log says so
		if t := crmText(in.Type); t != nil {
			typ = *t
		}
		if !noteTypes[typ] {
			errs["type"] = "The type must be note or call."
		}
		if typ == "note" && !in.CallDuration.Set {
			n.CallDuration = 0
		}
		n.Type = typ
	}
	body := in.text()
	crmRequired(errs, "text", body, create, "A note needs text.")
	if body.Set && crmText(body) != nil {
		n.Text = body.Value
	}
	author := in.author()
	billing.CheckLength(errs, "author_email", strings.TrimSpace(author.Value), billing.MaxIDLength)
	if author.Set {
		n.Author = crmText(author)
	}
	crmRange(errs, "call_duration", in.CallDuration, 0, crmMaxInt, true)
	if in.CallDuration.Set {
		n.CallDuration = in.CallDuration.or(0)
	}
	if n.Type == "note" && n.CallDuration != 0 && errs["type"] == "" {
		errs["call_duration"] = "Only a call has a duration."
	}
	if in.CreatedAt.Set {
		if t := dateField(errs, "created_at", in.CreatedAt); t != nil {
			n.CreatedAt = t.Truncate(time.Millisecond)
		} else if crmText(in.CreatedAt) == nil && !create {
			errs["created_at"] = "A note keeps its creation time; it cannot be cleared."
		}
	}
}

type noteOut struct {
	UUID         string  `json:"uuid"`
	CustomerUUID string  `json:"customer_uuid"`
	Type         string  `json:"type"`
	Text         string  `json:"text"`
	CallDuration int64   `json:"call_duration"`
	Author       *string `json:"author"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
}

func noteWire(n store.Note) noteOut {
	return noteOut{UUID: n.UUID, CustomerUUID: n.CustomerUUID, Type: n.Type, Text: n.Text, CallDuration: n.CallDuration,
		Author: n.Author, CreatedAt: billing.FormatImportTime(n.CreatedAt), UpdatedAt: billing.FormatImportTime(n.UpdatedAt)}
}

// createNote is POST /v1/customer_notes (and POST
// /v1/customers/{uuid}/notes): 201 with the note.
func (a *API) createNote(w http.ResponseWriter, r *http.Request) error {
	var in noteIn
	if err := decodeLong(r, &in, "text", "note"); err != nil {
		return err
	}
	customer := crmCustomerUUID(r, in.CustomerUUID.Value)
	var n store.Note
	errs := billing.FieldErrors{}
	in.apply(&n, true, errs)
	if customer == "" {
		errs["customer_uuid"] = "A note needs its customer's UUID (customer_uuid)."
	}
	if err := crmInvalid(errs); err != nil {
		return err
	}
	if err := a.store.CreateNote(r.Context(), account(r).ID, customer, &n); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, noteWire(n))
	return nil
}

// listNotes is GET /v1/customer_notes (filters customer_uuid, type,
// author) and GET /v1/customers/{uuid}/notes.
func (a *API) listNotes(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.NoteFilter{CustomerUUID: crmCustomerUUID(r, q.Get("customer_uuid")), Type: strings.TrimSpace(q.Get("type")),
		Author: strings.TrimSpace(q.Get("author"))}
	if f.Type != "" && !noteTypes[f.Type] {
		return errBadRequest("type must be note or call.", "type")
	}
	l, err := a.store.ListNotes(r.Context(), account(r).ID, f, pr.page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newCRMPage(pr, l, noteWire))
	return nil
}

func (a *API) getNote(w http.ResponseWriter, r *http.Request) error {
	n, err := a.store.Note(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, noteWire(n))
	return nil
}

// updateNote is PATCH (and PUT) /v1/customer_notes/{uuid}: the fields
// sent change.
func (a *API) updateNote(w http.ResponseWriter, r *http.Request) error {
	var in noteIn
	if err := decodeLong(r, &in, "text", "note"); err != nil {
		return err
	}
	n, err := a.store.UpdateNote(r.Context(), account(r).ID, r.PathValue("uuid"), func(n *store.Note) error {
		errs := billing.FieldErrors{}
		in.apply(n, false, errs)
		return crmInvalid(errs)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, noteWire(n))
	return nil
}

func (a *API) deleteNote(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteNote(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	crmDeleted(w)
	return nil
}
