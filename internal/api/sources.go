package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// sourceRefs is an activity's causes as the Activities API lists them.
// A subscription event's id is its public one, as everywhere; a
// cancellation's and a connection's go through the row-id permutation,
// as /sources shows the cancellation's.
func (a *API) sourceRefs(srcs []store.Source) []map[string]any {
	out := make([]map[string]any, 0, len(srcs))
	for _, s := range srcs {
		m := map[string]any{"type": s.Type, "id": s.ID}
		switch s.Type {
		case "subscription_event":
			m["id"] = a.publicIDText(s.ID)
		case "cancellation", "connection": // row ids of sequences every account shares
			if n, err := strconv.ParseInt(s.ID, 10, 64); err == nil {
				m["id"] = strconv.FormatInt(a.publicRowID(n), 10)
			}
		}
		if s.InvoiceUUID != "" {
			m["invoice_uuid"] = s.InvoiceUUID
		}
		out = append(out, m)
	}
	return out
}

// activitySources serves GET /v1/activities/{uuid}/sources (Tally's own):
// the activity and, in full, every object that caused it, so that any
// number on any chart traces to its documents in one call.
func (a *API) activitySources(w http.ResponseWriter, r *http.Request) error {
	acct := account(r)
	act, err := a.store.ActivityByUUID(r.Context(), acct.ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	invoices := map[string]any{} // each invoice once, however many of its lines caused it
	var out []map[string]any
	for _, src := range act.Sources {
		m := map[string]any{"type": src.Type}
		switch src.Type {
		case "line_item":
			m["line_item_uuid"], m["invoice_uuid"] = src.ID, src.InvoiceUUID
			if _, ok := invoices[src.InvoiceUUID]; !ok {
				inv, err := a.store.Invoice(r.Context(), acct.ID, src.InvoiceUUID)
				if err != nil {
					return err
				}
				invoices[src.InvoiceUUID] = invoiceWire(inv)
			}
		case "cancellation":
			id, _ := strconv.ParseInt(src.ID, 10, 64)
			c, err := a.store.Cancellation(r.Context(), acct.ID, id)
			if err != nil {
				return err
			}
			cancellation := map[string]any{"id": a.publicRowID(c.ID), "subscription_uuid": c.SubscriptionUUID,
				"subscription_external_id": c.SubscriptionExternalID, "cancelled_at": billing.FormatImportTime(time.UnixMilli(c.CancelledAt).UTC()),
				"via": "subscription", "line_item_uuid": nil}
			if c.LineItemUUID != "" {
				cancellation["via"], cancellation["line_item_uuid"] = "line_item", c.LineItemUUID
			}
			m["cancellation"] = cancellation
		case "subscription_event":
			id, _ := strconv.ParseInt(src.ID, 10, 64)
			e, err := a.store.Event(r.Context(), acct.ID, store.EventRef{ID: id})
			if err != nil {
				return err
			}
			m["subscription_event"] = a.eventWire(e)
		case "connection":
			group, _ := strconv.ParseInt(src.ID, 10, 64)
			subs, err := a.store.ConnectionGroup(r.Context(), acct.ID, group)
			if err != nil {
				return err
			}
			members := make([]map[string]any, len(subs))
			for i, s := range subs {
				members[i] = map[string]any{"uuid": s.UUID, "external_id": s.ExternalID}
			}
			m["connected_subscriptions"] = members
		default:
			return errors.New("activity " + act.UUID + ": unknown source type " + src.Type)
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"activity": a.activityWire(act, acct, true), "sources": out, "invoices": invoices})
	return nil
}
