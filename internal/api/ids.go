package api

import (
	"context"
	"strconv"

	"github.com/tally-analytics/tally/internal/obfuscate"
)

// Customers' and subscription events' numeric ids come from sequences
// shared by every account; on the wire they pass through a keyed
// permutation (internal/obfuscate) so that they reveal nothing of other
// accounts' volumes. The key is the database's, loaded on the first
// authenticated request.
//
// Those ids are permuted within [1, 2^32): chartmogul-go reads a
// customer's id into a uint32, and ChartMogul's own ids fit. Cursors are
// strings, and carry ids of any table: theirs are permuted within
// [1, 2^53).
type idPerms struct {
	wire, cursor *obfuscate.Perm
}

const (
	wireIDBits   = 32
	cursorIDBits = 53
)

// loadIDs makes sure the permutation is ready.
func (a *API) loadIDs(ctx context.Context) error {
	if a.ids.Load() != nil {
		return nil
	}
	secret, err := a.store.IDSecret(ctx)
	if err != nil {
		return err
	}
	wire, err := obfuscate.New(secret, wireIDBits)
	if err != nil {
		return err
	}
	cursor, err := obfuscate.New(secret, cursorIDBits)
	if err != nil {
		return err
	}
	a.ids.CompareAndSwap(nil, &idPerms{wire: wire, cursor: cursor})
	return nil
}

type idsKey struct{}

// idsOf is the permutation the authentication put in ctx, for the code
// that has no API at hand (cursors).
func idsOf(ctx context.Context) *obfuscate.Perm {
	p, _ := ctx.Value(idsKey{}).(*idPerms)
	if p == nil {
		return nil
	}
	return p.cursor
}

// publicID is the id a client sees for an internal one.
func (a *API) publicID(id int64) int64 { return a.ids.Load().wire.Encode(id) }

// publicRowID is the id a client sees for a row no client ever names
// back (activities, subscriptions in the Metrics API, cancellations): the
// cursor's wider permutation, since these ids (activities are written anew
// by every recomputation) may pass 2^32.
func (a *API) publicRowID(id int64) int64 { return a.ids.Load().cursor.Encode(id) }

// publicIDPtr is publicID of an optional id.
func (a *API) publicIDPtr(id *int64) *int64 {
	if id == nil {
		return nil
	}
	v := a.publicID(*id)
	return &v
}

// publicIDText is publicID of an id kept as text (activity sources).
func (a *API) publicIDText(id string) string {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return id
	}
	return strconv.FormatInt(a.publicID(n), 10)
}

// internalID is the internal id a client's id names; one that no id
// encodes to becomes -1, which names no row, so it is answered exactly as
// an unknown id is.
func (a *API) internalID(public int64) int64 {
	if id, ok := a.ids.Load().wire.Decode(public); ok {
		return id
	}
	return -1
}
