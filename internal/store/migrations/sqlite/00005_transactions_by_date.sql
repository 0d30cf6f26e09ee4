-- +goose Up
-- Cash flow reads an account's transactions by date range.
CREATE INDEX transactions_account_date ON transactions (account_id, date);

-- +goose Down
DROP INDEX transactions_account_date;
