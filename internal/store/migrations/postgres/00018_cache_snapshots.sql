-- +goose Up
-- What a server keeps in memory for an account's metrics (issue 14: cold
-- starts), written now and then so that a server starting up reads one row
-- instead of every result and transaction. A snapshot holds the results as
-- of the account's results_seq and results_reset when it was taken; a
-- server loads it, then the customers whose results_version is above that
-- seq, exactly as it keeps its memory current. A snapshot taken before a
-- removal of customers (results_reset moved on) is not used. kind is what
-- it holds ('results' or 'cash'); data its encoding, with a format number
-- first, so that a server of another version ignores one it cannot read.
CREATE TABLE cache_snapshots (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    results_seq BIGINT NOT NULL,
    results_reset BIGINT NOT NULL,
    written_at BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (account_id, kind)
);

-- +goose Down
DROP TABLE cache_snapshots;
