package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// FXRate is one ECB reference rate: PerEUR units of Currency for one euro.
type FXRate struct {
	Currency string
	Day      time.Time
	PerEUR   string // exact decimal as published
}

// SaveFXRates stores rates, replacing those of the same currency and day.
func (s *Store) SaveFXRates(ctx context.Context, rates []FXRate) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		rows := make([][]any, 0, len(rates))
		for _, r := range rates {
			rows = append(rows, []any{r.Currency, millis(r.Day), r.PerEUR})
		}
		if err := s.bulkInsertWith(ctx, tx, "fx_rates", []string{"currency", "day", "per_eur"}, rows,
			` ON CONFLICT (currency, day) DO UPDATE SET per_eur = excluded.per_eur`); err != nil {
			return fmt.Errorf("save rates: %w", err)
		}
		return nil
	})
}

// FXRates loads every rate of the given currencies, oldest first.
func (s *Store) FXRates(ctx context.Context, currencies []string) ([]FXRate, error) {
	var out []FXRate
	err := queryIn(ctx, s.dialect, s.r, `SELECT currency, day, per_eur FROM fx_rates WHERE currency IN (%s) ORDER BY currency, day`, nil, currencies,
		func(scan func(...any) error) error {
			var r FXRate
			var day int64
			if err := scan(&r.Currency, &day, &r.PerEUR); err != nil {
				return err
			}
			r.Day = fromMillis(day)
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("load rates: %w", err)
	}
	return out, nil
}
