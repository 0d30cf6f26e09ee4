package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tally-analytics/tally/internal/api"
	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/recompute"
	"github.com/tally-analytics/tally/internal/store"
)

// Options choose the book.
type Options struct {
	Seed uint64
	// Anchor is the book's "today" (Book.Anchor); zero means the first
	// day of the current month (UTC), so the demo ends about now yet gives
	// the same numbers all month.
	Anchor time.Time
	// Customers is the book's size; zero means DefaultCustomers.
	Customers int
}

// DefaultAnchor is the anchor Options' zero value stands for.
func DefaultAnchor(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Result is what Install did.
type Result struct {
	Account        billing.Account
	AccountCreated bool
	Book           *Book
	DataSourceUUID string
	RatesSaved     int
	Requests       int
	Headline       Headline
	Elapsed        time.Duration
}

// Install loads the demo book into the named account of s (created if
// need be): ErrLoaded when the account already has it, ErrNotEmpty when it
// holds other data sources. Rates come first, straight into the store as
// `tally fx import` saves them; everything else goes through the API's
// handler in-process, with a full-access key made for the purpose and
// revoked at the end.
func Install(ctx context.Context, s *store.Store, account string, o Options) (res Result, err error) {
	start := time.Now()
	acct, created, err := s.EnsureAccount(ctx, account)
	if err != nil {
		return res, err
	}
	res.Account, res.AccountCreated = acct, created
	// The same check Load makes over HTTP, made first so that a second run
	// leaves no key behind.
	existing, err := s.ListDataSources(ctx, acct.ID, "", "")
	if err != nil {
		return res, err
	}
	for _, d := range existing {
		if d.Name == DataSourceName {
			return res, ErrLoaded
		}
	}
	if len(existing) > 0 {
		return res, fmt.Errorf("%w (%d data sources)", ErrNotEmpty, len(existing))
	}

	if o.Anchor.IsZero() {
		o.Anchor = DefaultAnchor(time.Now())
	}
	if o.Customers <= 0 {
		o.Customers = DefaultCustomers
	}
	res.Book = Generate(o.Seed, o.Anchor, o.Customers)
	if res.RatesSaved, err = EnsureRates(ctx, s, res.Book.Rates); err != nil {
		return res, err
	}

	key := auth.NewKey()
	if err := s.CreateAPIKey(ctx, acct.ID, auth.Prefix(key), auth.Hash(key), billing.AccessFull); err != nil {
		return res, err
	}
	defer func() {
		if rerr := s.RevokeAPIKeyByHash(context.WithoutCancel(ctx), auth.Hash(key)); rerr != nil && err == nil {
			err = rerr
		}
	}()
	c := &Client{HTTP: HandlerClient(api.New(s, api.Options{})), BaseURL: "http://tally.demo", Key: key}
	if res.DataSourceUUID, err = Load(ctx, c, res.Book); err != nil {
		return res, err
	}
	res.Headline, err = c.Headline(ctx, res.Book)
	res.Requests, res.Elapsed = c.Requests, time.Since(start)
	return res, err
}

// EnsureRates saves the USD-per-EUR rates of the days for which the store
// has no rate of that day or of the week before (money.MaxRateAge), with
// the store method `tally fx import` uses. Rates already there (real ECB
// ones, say, or an earlier demo's) are kept and the days they cover are
// left alone. It returns how many it saved.
func EnsureRates(ctx context.Context, s *store.Store, rates []Rate) (int, error) {
	known := recompute.NewStoreRates(ctx, s) // the lookup the engine makes
	var rows []store.FXRate
	for _, r := range rates {
		if _, ok := known.Rate("EUR", "USD", r.Day); !ok {
			if err := known.Err(); err != nil {
				return 0, err
			}
			rows = append(rows, store.FXRate{Currency: "USD", Day: r.Day, PerEUR: r.PerEUR})
		}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if err := s.SaveFXRates(ctx, rows); err != nil {
		return 0, fmt.Errorf("save demo rates: %w", err)
	}
	return len(rows), nil
}

// Skipped reports whether err only says the demo was not loaded because
// the account already had data.
func Skipped(err error) bool { return errors.Is(err, ErrLoaded) || errors.Is(err, ErrNotEmpty) }
