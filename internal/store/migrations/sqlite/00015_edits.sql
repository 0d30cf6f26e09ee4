-- +goose Up
-- Issue 13: invoices, line items, transactions and subscription events can
-- be disabled (kept, shown with with_disabled=true, left out of every
-- metric) and edited in place. disabled_at is when (NULL: enabled),
-- disabled_by the author, as the edit history names it. A disabled invoice
-- disables its lines and transactions without touching their own columns,
-- so that enabling it again brings back exactly what was enabled before.
-- user_created marks a line or transaction added to an invoice after its
-- import (POST .../line_items, POST .../transactions).
ALTER TABLE invoices ADD COLUMN disabled_at BIGINT;
ALTER TABLE invoices ADD COLUMN disabled_by TEXT;
ALTER TABLE invoices ADD COLUMN collection_method TEXT;
ALTER TABLE line_items ADD COLUMN disabled_at BIGINT;
ALTER TABLE line_items ADD COLUMN disabled_by TEXT;
ALTER TABLE line_items ADD COLUMN user_created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN disabled_at BIGINT;
ALTER TABLE transactions ADD COLUMN disabled_by TEXT;
ALTER TABLE transactions ADD COLUMN user_created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscription_events ADD COLUMN disabled_at BIGINT;
ALTER TABLE subscription_events ADD COLUMN disabled_by TEXT;

-- What an edit changed, one row per field: the value before and after as
-- the API writes them (JSON text), who (the key's prefix) and when. Each
-- row names its object in exactly one of the four columns, so that rows go
-- with their object when it is deleted.
CREATE TABLE edit_histories (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    invoice_id BIGINT REFERENCES invoices (id) ON DELETE CASCADE,
    line_item_id BIGINT REFERENCES line_items (id) ON DELETE CASCADE,
    transaction_id BIGINT REFERENCES transactions (id) ON DELETE CASCADE,
    subscription_event_id BIGINT REFERENCES subscription_events (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    original_value TEXT,
    edited_value TEXT,
    author TEXT NOT NULL,
    edited_at BIGINT NOT NULL
);
CREATE INDEX edit_histories_invoice ON edit_histories (invoice_id);
CREATE INDEX edit_histories_line_item ON edit_histories (line_item_id);
CREATE INDEX edit_histories_transaction ON edit_histories (transaction_id);
CREATE INDEX edit_histories_subscription_event ON edit_histories (subscription_event_id);

-- +goose Down
DROP TABLE edit_histories;
ALTER TABLE subscription_events DROP COLUMN disabled_by;
ALTER TABLE subscription_events DROP COLUMN disabled_at;
ALTER TABLE transactions DROP COLUMN user_created;
ALTER TABLE transactions DROP COLUMN disabled_by;
ALTER TABLE transactions DROP COLUMN disabled_at;
ALTER TABLE line_items DROP COLUMN user_created;
ALTER TABLE line_items DROP COLUMN disabled_by;
ALTER TABLE line_items DROP COLUMN disabled_at;
ALTER TABLE invoices DROP COLUMN collection_method;
ALTER TABLE invoices DROP COLUMN disabled_by;
ALTER TABLE invoices DROP COLUMN disabled_at;
