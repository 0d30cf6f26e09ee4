-- +goose Up
-- The metrics engine's results per customer, replaced whole whenever a
-- write touches the customer. mrr_points is the customer's MRR timeline:
-- from `at` on, its MRR is `mrr` and it is an active customer or not.
CREATE TABLE mrr_points (
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    mrr BIGINT NOT NULL,
    active INTEGER NOT NULL,
    PRIMARY KEY (customer_id, at)
);
CREATE INDEX mrr_points_account ON mrr_points (account_id, at);

-- Activities are the customer's MRR movements. Their UUID is derived from
-- the customer, instant and type, so it survives recomputation.
CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    type TEXT NOT NULL,
    amount BIGINT NOT NULL,
    mrr_after BIGINT NOT NULL,
    subscription_external_ids TEXT NOT NULL,
    plan_external_id TEXT,
    plan_name TEXT,
    causes TEXT NOT NULL
);
CREATE INDEX activities_account ON activities (account_id, at, id);
CREATE INDEX activities_customer ON activities (customer_id, at);

-- Customers a write touched whose results are not recomputed yet. Writes
-- add rows in their own transaction; the recomputation that follows (before
-- the response) claims and clears them, so a crash in between loses
-- nothing: the next recomputation or `tally recompute` picks them up.
CREATE TABLE dirty_customers (
    customer_id BIGINT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX dirty_customers_account ON dirty_customers (account_id);

-- Exchange rates, server-wide, in the ECB's form: units of `currency` per
-- euro on `day` (Unix ms of the UTC midnight), as an exact decimal string.
CREATE TABLE fx_rates (
    currency TEXT NOT NULL,
    day BIGINT NOT NULL,
    per_eur TEXT NOT NULL,
    PRIMARY KEY (currency, day)
);

-- Activity exports are finished when created; the CSV is generated from
-- their parameters when downloaded.
CREATE TABLE activity_exports (
    uuid TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    activity_type TEXT NOT NULL,
    start_at BIGINT,
    end_at BIGINT,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE activity_exports;
DROP TABLE fx_rates;
DROP TABLE dirty_customers;
DROP TABLE activities;
DROP TABLE mrr_points;
