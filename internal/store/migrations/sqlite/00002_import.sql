-- +goose Up
-- Every (data source, external id) a customer is known by. A customer's own
-- identity is one row; a merge moves the merged customer's rows here, with
-- a snapshot of its profile so that an unmerge can restore it.
CREATE TABLE customer_identities (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    merged_profile TEXT,
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX customer_identities_customer ON customer_identities (customer_id);
INSERT INTO customer_identities (account_id, customer_id, data_source_id, external_id)
    SELECT account_id, id, data_source_id, external_id FROM customers;

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    identity_id BIGINT NOT NULL REFERENCES customer_identities (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    external_id TEXT NOT NULL,
    subscription_set_external_id TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id, id);

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    identity_id BIGINT NOT NULL REFERENCES customer_identities (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    external_id TEXT NOT NULL,
    date BIGINT NOT NULL,
    due_date BIGINT,
    currency TEXT NOT NULL,
    status TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX invoices_customer ON invoices (customer_id, id);
CREATE INDEX invoices_account ON invoices (account_id, id);

CREATE TABLE line_items (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    external_id TEXT,
    position INTEGER NOT NULL,
    type TEXT NOT NULL,
    subscription_id BIGINT REFERENCES subscriptions (id) ON DELETE CASCADE,
    subscription_set_external_id TEXT,
    plan_id BIGINT REFERENCES plans (id),
    service_period_start BIGINT,
    service_period_end BIGINT,
    amount_in_cents BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    prorated INTEGER NOT NULL DEFAULT 0,
    proration_type TEXT,
    cancelled_at BIGINT,
    discount_amount_in_cents BIGINT NOT NULL DEFAULT 0,
    discount_code TEXT NOT NULL DEFAULT '',
    discount_description TEXT,
    tax_amount_in_cents BIGINT NOT NULL DEFAULT 0,
    transaction_fees_in_cents BIGINT NOT NULL DEFAULT 0,
    transaction_fees_currency TEXT,
    account_code TEXT NOT NULL DEFAULT '',
    description TEXT,
    event_order BIGINT,
    balance_transfer INTEGER NOT NULL DEFAULT 0,
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX line_items_invoice ON line_items (invoice_id);
CREATE INDEX line_items_subscription ON line_items (subscription_id);
CREATE INDEX line_items_plan ON line_items (plan_id);

CREATE TABLE transactions (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    invoice_id BIGINT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    external_id TEXT,
    type TEXT NOT NULL,
    result TEXT NOT NULL,
    date BIGINT NOT NULL,
    amount_in_cents BIGINT,
    transaction_fees_in_cents BIGINT,
    transaction_fees_currency TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX transactions_invoice ON transactions (invoice_id);

-- A subscription's cancellation history. Rows from a line item's
-- cancelled_at go with that line; PATCH cancellation_dates replaces all.
CREATE TABLE cancellations (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    line_item_id BIGINT REFERENCES line_items (id) ON DELETE CASCADE,
    cancelled_at BIGINT NOT NULL
);
CREATE INDEX cancellations_subscription ON cancellations (subscription_id);
CREATE INDEX cancellations_line ON cancellations (line_item_id);

CREATE TABLE subscription_events (
    -- AUTOINCREMENT: the numeric id is public and must never be reused.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    identity_id BIGINT NOT NULL REFERENCES customer_identities (id) ON DELETE CASCADE,
    plan_id BIGINT REFERENCES plans (id),
    external_id TEXT,
    customer_external_id TEXT NOT NULL,
    subscription_external_id TEXT NOT NULL,
    subscription_set_external_id TEXT,
    plan_external_id TEXT,
    event_type TEXT NOT NULL,
    event_date BIGINT NOT NULL,
    effective_date BIGINT NOT NULL,
    currency TEXT,
    amount_in_cents BIGINT,
    quantity BIGINT,
    tax_amount_in_cents BIGINT,
    event_order BIGINT,
    retracted_event_id BIGINT,
    errors TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (data_source_id, external_id)
);
CREATE INDEX subscription_events_account ON subscription_events (account_id, id);
CREATE INDEX subscription_events_customer ON subscription_events (customer_id);
CREATE INDEX subscription_events_subscription ON subscription_events (data_source_id, subscription_external_id);

-- Connected subscriptions share a group (api-reference.md §2.4 C9/C10).
CREATE TABLE subscription_connections (
    subscription_id BIGINT PRIMARY KEY REFERENCES subscriptions (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL
);
CREATE INDEX subscription_connections_customer ON subscription_connections (customer_id);

CREATE TABLE plan_groups (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX plan_groups_account ON plan_groups (account_id, id);

CREATE TABLE plan_group_plans (
    plan_group_id BIGINT NOT NULL REFERENCES plan_groups (id) ON DELETE CASCADE,
    plan_id BIGINT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (plan_group_id, plan_id)
);
CREATE INDEX plan_group_plans_plan ON plan_group_plans (plan_id);

-- +goose Down
DROP TABLE plan_group_plans;
DROP TABLE plan_groups;
DROP TABLE subscription_connections;
DROP TABLE subscription_events;
DROP TABLE cancellations;
DROP TABLE transactions;
DROP TABLE line_items;
DROP TABLE invoices;
DROP TABLE subscriptions;
DROP TABLE customer_identities;
