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

-- Each subscription's MRR steps as the engine replayed them (before the
-- customer-level aggregation), so that plan-filtered views aggregate
-- again without replaying invoices.
CREATE TABLE subscription_steps (
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    subscription_uuid TEXT NOT NULL,
    external_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    at BIGINT NOT NULL,
    mrr BIGINT NOT NULL,
    live INTEGER NOT NULL,
    plan_uuid TEXT NOT NULL
);
CREATE INDEX subscription_steps_customer ON subscription_steps (customer_id);

-- Results versions: every recomputation takes the account's next number
-- and stamps the customers it wrote, so a reader can reload just those.
ALTER TABLE accounts ADD COLUMN results_seq BIGINT NOT NULL DEFAULT 0;
-- results_reset counts deletions of customers: a cache reloads on a change.
ALTER TABLE accounts ADD COLUMN results_reset BIGINT NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN results_version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX customers_results_version ON customers (account_id, results_version);

-- +goose Down
DROP INDEX customers_results_version;
ALTER TABLE customers DROP COLUMN results_version;
ALTER TABLE accounts DROP COLUMN results_reset;
ALTER TABLE accounts DROP COLUMN results_seq;
DROP TABLE subscription_steps;
DROP TABLE activity_exports;
DROP TABLE fx_rates;
DROP TABLE dirty_customers;
DROP TABLE activities;
DROP TABLE mrr_points;
