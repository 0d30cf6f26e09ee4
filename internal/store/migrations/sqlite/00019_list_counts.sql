-- +goose Up
-- The disabled invoices and subscription events (issue 13), few in any
-- account, each in an index of its own (issue 14): a list's total counts
-- every matching row through the list's own index, which holds no
-- disabled_at, less the disabled ones counted here, instead of reading
-- each row for its disabled_at (1.2 s for 2,000,000 invoices on SQLite,
-- against 0.13 s).
CREATE INDEX invoices_disabled ON invoices (account_id, data_source_id) WHERE disabled_at IS NOT NULL;
CREATE INDEX subscription_events_disabled ON subscription_events (account_id, data_source_id) WHERE disabled_at IS NOT NULL;

-- +goose Down
DROP INDEX subscription_events_disabled;
DROP INDEX invoices_disabled;
