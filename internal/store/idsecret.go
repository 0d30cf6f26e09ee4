package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// IDSecret returns the server's secret for public ids, 32 random bytes,
// creating it on first use. Servers sharing a database race to insert it;
// the first wins and every one reads the winner's.
func (s *Store) IDSecret(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	if _, err := s.w.ExecContext(ctx, `INSERT INTO id_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`,
		hex.EncodeToString(fresh)); err != nil {
		return nil, fmt.Errorf("store id secret: %w", err)
	}
	var text string
	if err := s.w.QueryRowContext(ctx, `SELECT secret FROM id_secret WHERE id = 1`).Scan(&text); err != nil {
		return nil, fmt.Errorf("read id secret: %w", err)
	}
	secret, err := hex.DecodeString(text)
	if err != nil || len(secret) != 32 {
		return nil, fmt.Errorf("read id secret: the stored secret is not 32 bytes of hex")
	}
	return secret, nil
}
