-- +goose Up
-- Times are Unix milliseconds (UTC) in BIGINT columns on both backends, so
-- SQL never does date arithmetic (STYLE.md).
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    currency TEXT NOT NULL DEFAULT 'USD',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    week_start_on TEXT NOT NULL DEFAULT 'sunday',
    churn_recognition TEXT NOT NULL DEFAULT 'immediate',
    activity_grouping_minutes INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    access TEXT NOT NULL CHECK (access IN ('full', 'read')),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE data_sources (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    system TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE customers (
    -- AUTOINCREMENT: the numeric id is public and must never be reused.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    external_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    -- email_key is the email case-folded by Tally (SQLite's lower() is ASCII-only).
    email_key TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    country TEXT,
    state TEXT,
    city TEXT NOT NULL DEFAULT '',
    zip TEXT,
    website_url TEXT,
    owner TEXT,
    lead_created_at BIGINT,
    free_trial_started_at BIGINT,
    tags TEXT NOT NULL DEFAULT '[]',
    custom TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX customers_account ON customers (account_id, id);
CREATE INDEX customers_email ON customers (account_id, email_key);

CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    interval_count INTEGER NOT NULL,
    interval_unit TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX plans_account ON plans (account_id, id);

-- +goose Down
DROP TABLE plans;
DROP TABLE customers;
DROP TABLE data_sources;
DROP TABLE api_keys;
DROP TABLE accounts;
