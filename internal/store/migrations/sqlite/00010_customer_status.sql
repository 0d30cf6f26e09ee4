-- +goose Up
-- A customer's status kept beside it, so that a list filtered by status
-- reads an index instead of working out every customer's status from its
-- MRR timeline (it counted them all for total_pages). The status is the
-- timeline's at a moment and changes with time alone (a cancellation at a
-- period's end): status_until is the next instant it may change; the
-- recomputation writes both, and the background pass refreshes those
-- whose instant has come. 0 means "not worked out yet" (every customer
-- after this migration, until start-up's pass).
ALTER TABLE customers ADD COLUMN status TEXT NOT NULL DEFAULT 'New Lead';
ALTER TABLE customers ADD COLUMN status_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX customers_status ON customers (account_id, status, id);
CREATE INDEX customers_status_until ON customers (status_until);

-- +goose Down
DROP INDEX customers_status_until;
DROP INDEX customers_status;
ALTER TABLE customers DROP COLUMN status_until;
ALTER TABLE customers DROP COLUMN status;
