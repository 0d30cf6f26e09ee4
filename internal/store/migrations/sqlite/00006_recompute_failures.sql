-- +goose Up
-- A dirty customer's recomputation can fail (the engine refuses its
-- history, a rate is missing). The failure is kept on its row, for the
-- operator (the reconciliation shows it) and for the background pass that
-- retries it at retry_at; the other customers go on. seq is a random stamp
-- of the last write that marked it, so a recomputation that read an older
-- history never overwrites the results of a newer one.
ALTER TABLE dirty_customers ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dirty_customers ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dirty_customers ADD COLUMN failed_at BIGINT;
ALTER TABLE dirty_customers ADD COLUMN retry_at BIGINT;
ALTER TABLE dirty_customers ADD COLUMN error TEXT;
CREATE INDEX dirty_customers_retry ON dirty_customers (retry_at);

-- A settings change that the stored results depend on sets this in its
-- own transaction; the customers are then marked a few thousand at a time
-- (one account's change never holds the writer for long) and the flag is
-- cleared after the last. A crash in between leaves the flag, and start-up
-- marks them again.
ALTER TABLE accounts ADD COLUMN mark_all_pending INTEGER NOT NULL DEFAULT 0;
-- Counts the settings changes the stored results depend on, never reset: a
-- recomputation that read the settings before one saves nothing.
ALTER TABLE accounts ADD COLUMN settings_version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE accounts DROP COLUMN settings_version;
ALTER TABLE accounts DROP COLUMN mark_all_pending;
DROP INDEX dirty_customers_retry;
ALTER TABLE dirty_customers DROP COLUMN error;
ALTER TABLE dirty_customers DROP COLUMN retry_at;
ALTER TABLE dirty_customers DROP COLUMN failed_at;
ALTER TABLE dirty_customers DROP COLUMN attempts;
ALTER TABLE dirty_customers DROP COLUMN seq;
