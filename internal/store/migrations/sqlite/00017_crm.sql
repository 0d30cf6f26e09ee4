-- +goose Up
-- CRM objects (issue 13 item 8): contacts, customer notes and call logs,
-- opportunities and tasks, kept beside the billing data. No metric reads
-- them.
--
-- A contact belongs to one identity of its customer (a data source and the
-- customer's external id there, ref §2.5): it follows that identity when
-- the customer is merged into another, and when the identity is unmerged
-- again. data_source_id repeats the identity's (identities never change
-- source) so that external ids are unique per data source.
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    identity_id BIGINT NOT NULL REFERENCES customer_identities (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    external_id TEXT,
    position BIGINT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    title TEXT,
    email TEXT,
    -- email_key is the email case-folded by Tally, for the email filter.
    email_key TEXT NOT NULL DEFAULT '',
    phone TEXT,
    linked_in TEXT,
    twitter TEXT,
    notes TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX contacts_account ON contacts (account_id, id);
CREATE INDEX contacts_identity ON contacts (identity_id, id);
CREATE INDEX contacts_email ON contacts (account_id, email_key);

-- Notes, opportunities and tasks belong to a customer and move with it in
-- a merge. origin_identity_id is the own identity of the customer they were
-- made on: an unmerge that splits that identity out moves them to the new
-- customer when asked (move_to_new_customer).
CREATE TABLE customer_notes (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    origin_identity_id BIGINT REFERENCES customer_identities (id) ON DELETE SET NULL,
    type TEXT NOT NULL,
    text TEXT NOT NULL,
    call_duration BIGINT NOT NULL DEFAULT 0,
    author TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX customer_notes_account ON customer_notes (account_id, id);
CREATE INDEX customer_notes_customer ON customer_notes (customer_id, id);
CREATE INDEX customer_notes_origin ON customer_notes (origin_identity_id);

-- estimated_close_date is YYYY-MM-DD text, which sorts as the dates do.
CREATE TABLE opportunities (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    origin_identity_id BIGINT REFERENCES customer_identities (id) ON DELETE SET NULL,
    owner TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    pipeline_stage TEXT NOT NULL,
    estimated_close_date TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_in_cents BIGINT NOT NULL,
    type TEXT,
    forecast_category TEXT,
    win_likelihood BIGINT,
    custom TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX opportunities_account ON opportunities (account_id, id);
CREATE INDEX opportunities_customer ON opportunities (customer_id, id);
CREATE INDEX opportunities_origin ON opportunities (origin_identity_id);

-- due_date and completed_at are kept as sent, in UTC: YYYY-MM-DD, or
-- YYYY-MM-DDTHH:MM:SS[.fff]Z; either way the text sorts as the times do
-- against a plain date.
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    origin_identity_id BIGINT REFERENCES customer_identities (id) ON DELETE SET NULL,
    task_details TEXT NOT NULL,
    assignee TEXT NOT NULL,
    due_date TEXT NOT NULL,
    completed_at TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_account ON tasks (account_id, id);
CREATE INDEX tasks_customer ON tasks (customer_id, id);
CREATE INDEX tasks_origin ON tasks (origin_identity_id);

-- +goose Down
DROP TABLE tasks;
DROP TABLE opportunities;
DROP TABLE customer_notes;
DROP TABLE contacts;
