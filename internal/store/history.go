package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	mathrand "math/rand/v2"
	"strconv"
	"time"
)

// markDirty records, inside a write's transaction, which customers the
// write touched: those whose id the query selects (one column). Each mark
// carries a random seq, new with every write: a recomputation that read
// the history before this write sees its mark's seq changed and leaves the
// results to a later one (a counter would not do: a mark cleared and made
// again would start over and could match a stale reading). A customer
// already waiting also loses any recorded failure: the new data may be
// what it needed, so the write's own recomputation tries it at once.
func markDirty(ctx context.Context, tx querier, selectIDs string, args ...any) error {
	return markDirtySeq(ctx, tx, mathrand.Int64(), selectIDs, args...)
}

// markDirtySeq is markDirty with the write's seq chosen by the caller (a
// bulk import hands it to its recomputation with the histories it wrote).
func markDirtySeq(ctx context.Context, tx querier, seq int64, selectIDs string, args ...any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO dirty_customers (customer_id, account_id, seq)
		SELECT c.id, c.account_id, $`+strconv.Itoa(len(args)+1)+` FROM customers c WHERE c.id IN (`+selectIDs+`)
		ON CONFLICT (customer_id) DO UPDATE SET seq = excluded.seq, failed_at = NULL, retry_at = NULL, attempts = 0, error = NULL`, append(args, seq)...)
	if err != nil {
		return fmt.Errorf("mark customers for recomputation: %w", err)
	}
	return nil
}

// markDirtyIDs marks the customers of ids for recomputation at seq, as
// markDirtySeq does, through the one IN-list helper.
func markDirtyIDs(ctx context.Context, d Dialect, tx querier, seq int64, ids []int64) error {
	err := queryInExec(ctx, d, tx, `INSERT INTO dirty_customers (customer_id, account_id, seq)
		SELECT c.id, c.account_id, $1 FROM customers c WHERE c.id IN (%s)
		ON CONFLICT (customer_id) DO UPDATE SET seq = excluded.seq, failed_at = NULL, retry_at = NULL, attempts = 0, error = NULL`,
		[]any{seq}, ids)
	if err != nil {
		return fmt.Errorf("mark customers for recomputation: %w", err)
	}
	return nil
}

// HistoryLine is one subscription line of a customer's history.
type HistoryLine struct {
	SubscriptionID int64
	UUID           string
	InvoiceUUID    string
	Type           string
	PlanUUID       string
	PlanExternalID string
	PlanName       string
	IntervalUnit   string
	IntervalCount  int
	Start, End     time.Time
	Amount         int64
	Quantity       int64
	Tax            int64
	Fees           int64
	Currency       string
	Prorated       bool
	ProrationType  string
	EventOrder     *int64
	Seq            int64
	RefundDocument bool
}

// HistorySubscription is one subscription of a customer's history.
type HistorySubscription struct {
	ID            int64
	UUID          string
	ExternalID    string
	Lines         []HistoryLine
	Cancellations []time.Time
	// CancellationSources names where each cancellation came from, for
	// traceability: "cancellation:<id>" (the PATCH history or a line's
	// cancelled_at) or "event:<id>" (a subscription_cancelled event).
	CancellationSources []string
	Group               int64 // connected group, 0 for none
}

// History is what the metrics engine needs of one customer, and the
// currencies of its invoices (the segments' currency filter).
type History struct {
	CustomerID    int64
	CustomerUUID  string
	Subscriptions []*HistorySubscription
	Currencies    []string // distinct, sorted; one-time invoices' too
}

// ResultPoint is one point of a customer's stored MRR timeline.
type ResultPoint struct {
	At     time.Time
	MRR    int64
	Active bool
	FX     int64 // exchange-rate revaluation within the change (metrics.md rule 20)
}

// ResultActivity is one stored MRR movement.
type ResultActivity struct {
	UUID                    string
	At                      time.Time
	Type                    string
	Amount                  int64
	MRRAfter                int64
	SubscriptionExternalIDs []string
	PlanExternalID          string
	PlanName                string
	Sources                 []Source
}

// Source is one thing that caused a movement (issue 6: traceable
// movements): a line item of an invoice, a cancellation, a subscription
// event or a connection of subscriptions.
type Source struct {
	Type        string `json:"type"` // line_item, cancellation, subscription_event, connection
	ID          string `json:"id"`   // line item UUID, cancellation or event id, connection group
	InvoiceUUID string `json:"invoice_uuid,omitempty"`
}

// ResultStep is one step of one subscription (before aggregation).
type ResultStep struct {
	SubscriptionUUID string
	ExternalID       string
	Group            string
	At               time.Time
	MRR              int64
	Live             bool
	Plan             string
	FX               int64 // exchange-rate revaluation within the change (metrics.md rule 20)
}

// Result is what the engine derived for one customer.
type Result struct {
	Points     []ResultPoint
	Activities []ResultActivity
	Steps      []ResultStep
}

// KnownHistories are customers' histories as the write that marked them
// with Seq stored them, so that its recomputation need not read them back
// (a bulk import writes thousands). A customer's is used only while its
// mark still carries Seq: any later write marks it anew.
type KnownHistories struct {
	Seq       int64
	Histories map[int64]*History
}

// get returns the customer's known history if its mark is still seq's.
func (k *KnownHistories) get(id, seq int64) *History {
	if k == nil || k.Seq != seq {
		return nil
	}
	return k.Histories[id]
}

// KnownSet is the known histories of several writes: a recomputation pass
// covers the marks of every write committed before it.
type KnownSet []*KnownHistories

func (ks KnownSet) get(id, seq int64) *History {
	for _, k := range ks {
		if h := k.get(id, seq); h != nil {
			return h
		}
	}
	return nil
}

// bulk reports whether a write of the set knew histories (a bulk import).
func (ks KnownSet) bulk() bool {
	for _, k := range ks {
		if k != nil && len(k.Histories) > 0 {
			return true
		}
	}
	return false
}

// histories loads the histories of the given customers.
func histories(ctx context.Context, d Dialect, q querier, ids []int64) (map[int64]*History, error) {
	out := make(map[int64]*History, len(ids))
	subs := map[int64]*HistorySubscription{}
	bySource := map[string]*HistorySubscription{} // "<data source id>/<external id>"
	err := queryIn(ctx, d, q, `SELECT c.id, c.uuid FROM customers c WHERE c.id IN (%s)`, nil, ids, func(scan func(...any) error) error {
		h := &History{}
		if err := scan(&h.CustomerID, &h.CustomerUUID); err != nil {
			return err
		}
		out[h.CustomerID] = h
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load customers: %w", err)
	}
	err = queryIn(ctx, d, q, `SELECT s.customer_id, s.id, s.uuid, s.external_id, s.data_source_id, COALESCE(sc.group_id, 0)
		FROM subscriptions s LEFT JOIN subscription_connections sc ON sc.subscription_id = s.id
		WHERE s.customer_id IN (%s) ORDER BY s.id`, nil, ids, func(scan func(...any) error) error {
		var cid, dsID int64
		sub := &HistorySubscription{}
		if err := scan(&cid, &sub.ID, &sub.UUID, &sub.ExternalID, &dsID, &sub.Group); err != nil {
			return err
		}
		subs[sub.ID] = sub
		bySource[fmt.Sprint(dsID, "/", sub.ExternalID)] = sub
		out[cid].Subscriptions = append(out[cid].Subscriptions, sub)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	// metrics.md rule 5: an invoice with a refund and no payment documents
	// a refund and carries no MRR. A failed refund documents nothing.
	err = queryIn(ctx, d, q, `SELECT l.subscription_id, l.uuid, i.uuid, l.type, p.uuid, p.external_id, p.name, p.interval_unit, p.interval_count,
		l.service_period_start, l.service_period_end, l.amount_in_cents, l.quantity, l.tax_amount_in_cents, l.transaction_fees_in_cents,
		i.currency, l.prorated, COALESCE(l.proration_type, ''), l.event_order, l.id,
		CASE WHEN EXISTS (SELECT 1 FROM transactions t WHERE t.invoice_id = i.id AND t.type = 'refund' AND t.result = 'successful' AND t.disabled_at IS NULL)
		      AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.invoice_id = i.id AND t.type = 'payment' AND t.disabled_at IS NULL) THEN 1 ELSE 0 END
		FROM line_items l JOIN invoices i ON i.id = l.invoice_id JOIN plans p ON p.id = l.plan_id
		WHERE i.customer_id IN (%s) AND l.subscription_id IS NOT NULL AND l.disabled_at IS NULL AND i.disabled_at IS NULL ORDER BY l.id`, nil, ids, func(scan func(...any) error) error {
		var l HistoryLine
		var start, end int64
		var prorated, refund int
		var order sql.NullInt64
		if err := scan(&l.SubscriptionID, &l.UUID, &l.InvoiceUUID, &l.Type, &l.PlanUUID, &l.PlanExternalID, &l.PlanName, &l.IntervalUnit, &l.IntervalCount,
			&start, &end, &l.Amount, &l.Quantity, &l.Tax, &l.Fees, &l.Currency, &prorated, &l.ProrationType, &order, &l.Seq, &refund); err != nil {
			return err
		}
		l.Start, l.End, l.Prorated, l.EventOrder, l.RefundDocument = fromMillis(start), fromMillis(end), prorated != 0, intPtr(order), refund != 0
		if sub := subs[l.SubscriptionID]; sub != nil {
			sub.Lines = append(sub.Lines, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load line items: %w", err)
	}
	// A line's cancelled_at goes with its line: it counts while the line
	// and its invoice are enabled.
	err = queryIn(ctx, d, q, `SELECT ca.subscription_id, ca.cancelled_at, ca.id FROM cancellations ca JOIN subscriptions s ON s.id = ca.subscription_id
		LEFT JOIN line_items li ON li.id = ca.line_item_id LEFT JOIN invoices li_i ON li_i.id = li.invoice_id
		WHERE s.customer_id IN (%s) AND (ca.line_item_id IS NULL OR (li.disabled_at IS NULL AND li_i.disabled_at IS NULL)) ORDER BY ca.id`, nil, ids, func(scan func(...any) error) error {
		var sid, at, id int64
		if err := scan(&sid, &at, &id); err != nil {
			return err
		}
		if sub := subs[sid]; sub != nil {
			sub.Cancellations = append(sub.Cancellations, fromMillis(at))
			sub.CancellationSources = append(sub.CancellationSources, "cancellation:"+strconv.FormatInt(id, 10))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load cancellations: %w", err)
	}
	// metrics.md rule 9: a subscription_cancelled event (not withdrawn by a
	// subscription_event_retracted) cancels at its effective date.
	err = queryIn(ctx, d, q, `SELECT e.data_source_id, e.subscription_external_id, e.effective_date, e.id FROM subscription_events e
		WHERE e.customer_id IN (%s) AND e.event_type = 'subscription_cancelled' AND e.disabled_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM subscription_events r WHERE r.retracted_event_id = e.id AND r.event_type = 'subscription_event_retracted'
		                  AND r.disabled_at IS NULL)
		ORDER BY e.id`, nil, ids, func(scan func(...any) error) error {
		var dsID, at, id int64
		var ext string
		if err := scan(&dsID, &ext, &at, &id); err != nil {
			return err
		}
		if sub := bySource[fmt.Sprint(dsID, "/", ext)]; sub != nil {
			sub.Cancellations = append(sub.Cancellations, fromMillis(at))
			sub.CancellationSources = append(sub.CancellationSources, "event:"+strconv.FormatInt(id, 10))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load cancellation events: %w", err)
	}
	err = queryIn(ctx, d, q, `SELECT DISTINCT customer_id, currency FROM invoices WHERE customer_id IN (%s) AND disabled_at IS NULL ORDER BY customer_id, currency`, nil, ids,
		func(scan func(...any) error) error {
			var id int64
			var cur string
			if err := scan(&id, &cur); err != nil {
				return err
			}
			if h := out[id]; h != nil {
				h.Currencies = append(h.Currencies, cur)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("load invoice currencies: %w", err)
	}
	return out, nil
}

// factsOf is what a customer's history says of it for segments' filters
// (migration 00013), as customers.currencies and customers.quantities
// hold it: its invoices' currencies, and each subscription's quantity,
// that of its latest line (see CustomerResults.Quantities).
func factsOf(h *History) (currencies, quantities string) {
	cur := h.Currencies
	if cur == nil {
		cur = []string{}
	}
	qty := map[string]int64{}
	for _, sub := range h.Subscriptions {
		var last *HistoryLine
		var at quantityLine
		for i := range sub.Lines {
			l := &sub.Lines[i]
			k := quantityLine{start: millis(l.Start), charge: 1, id: l.Seq}
			if l.Amount < 0 {
				k.charge = 0
			}
			if last == nil || at.before(k) {
				last, at = l, k
			}
		}
		if last != nil {
			qty[sub.UUID] = last.Quantity
		}
	}
	c, _ := json.Marshal(cur)
	q, _ := json.Marshal(qty) // keys sorted: equal facts, equal text
	return string(c), string(q)
}

// lockCustomers serialises recomputations of the same customers on
// PostgreSQL (SQLite runs writes one at a time), so that the last one to
// save has read everything committed before it.
func (s *Store) lockCustomers(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if s.dialect != Postgres {
		return nil
	}
	// One statement for the batch; taken in key order, so two batches
	// never wait on each other in a cycle. The key is the id folded into
	// an int4 (a cast alone fails past 2^31): ids 2^31 apart share a lock.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(2, k) FROM (SELECT DISTINCT (id % 2147483648)::int AS k FROM unnest($1::bigint[]) AS id ORDER BY 1) ks`,
		ids); err != nil {
		return fmt.Errorf("lock customers: %w", err)
	}
	return nil
}

func strPtrOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CustomerHistory loads one customer's history.
func (s *Store) CustomerHistory(ctx context.Context, acct int64, customerUUID string) (*History, error) {
	id, err := resolveCustomer(ctx, s.r, acct, CustomerRef{UUID: customerUUID})
	if err != nil {
		return nil, err
	}
	hs, err := histories(ctx, s.dialect, s.r, []int64{id})
	if err != nil {
		return nil, err
	}
	return hs[id], nil
}

// nextResultsVersion takes the account's next results version (locking
// its row until the transaction ends) and reads its settings version.
func nextResultsVersion(ctx context.Context, tx *sql.Tx, acct int64) (version, settings int64, err error) {
	if err := tx.QueryRowContext(ctx, `UPDATE accounts SET results_seq = results_seq + 1 WHERE id = $1 RETURNING results_seq, settings_version`,
		acct).Scan(&version, &settings); err != nil {
		return 0, 0, fmt.Errorf("bump results version: %w", err)
	}
	return version, settings, nil
}

// stampResults gives the customers results version v.
func stampResults(ctx context.Context, d Dialect, tx *sql.Tx, v int64, ids []int64) error {
	return queryInExec(ctx, d, tx, `UPDATE customers SET results_version = $1 WHERE id IN (%s)`, []any{v}, ids)
}

// customersRemoved records that customers of the account were deleted, so
// that cached results are reloaded whole.
func customersRemoved(ctx context.Context, tx *sql.Tx, acct int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET results_reset = results_reset + 1 WHERE id = $1`, acct); err != nil {
		return fmt.Errorf("record removed customers: %w", err)
	}
	return nil
}
