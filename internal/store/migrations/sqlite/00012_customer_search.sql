-- +goose Up
-- The customer list's own filters and orders (issue 11: the dashboard's
-- Customers page), each read through an index at 100,000 customers.
--
-- A customer's MRR now and the plans of its live subscriptions, kept
-- beside it with its status (00010) and on the same terms: the
-- recomputation writes them, and the background pass works them out anew
-- when status_until, the next instant any of them may change, has come.
-- status_until goes back to 0 so that start-up's pass works them out for
-- every customer stored before this migration.
ALTER TABLE customers ADD COLUMN mrr BIGINT NOT NULL DEFAULT 0;
CREATE TABLE customer_plans (
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    plan_uuid TEXT NOT NULL,
    PRIMARY KEY (customer_id, plan_uuid)
);
CREATE INDEX customer_plans_plan ON customer_plans (account_id, plan_uuid, customer_id);
UPDATE customers SET status_until = 0;
CREATE INDEX customers_mrr ON customers (account_id, mrr, id);
CREATE INDEX customers_country ON customers (account_id, country, id);
-- The status filter trusts a status whose status_until is still ahead
-- and checks the others against the timeline: with status_until in the
-- status index, counting 60,000 Active customers reads the index alone.
DROP INDEX customers_status;
CREATE INDEX customers_status ON customers (account_id, status, id, status_until);

-- What the search matches, case-folded by Tally (as email_key is the
-- email; SQLite's lower() folds ASCII only): name_key the name, which the
-- name order also sorts, byte by byte on both stores; external_keys the
-- external ids of all the customer's identities, one a line, which the
-- recomputation rewrites after a merge, an unmerge or a data source's
-- deletion. '' until the store fills them in after migrating.
ALTER TABLE customers ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN external_keys TEXT NOT NULL DEFAULT '';
CREATE INDEX customers_name ON customers (account_id, name_key, id);

-- Substring search: a trigram index of the keys (FTS5's trigram
-- tokenizer, case-sensitive since the keys are folded already), without a
-- copy of the text (contentless), kept in step by triggers, cascades
-- included. A phrase of three characters or more matches exactly where a
-- key contains it.
CREATE VIRTUAL TABLE customer_search USING fts5(name_key, email_key, external_keys,
    tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1);
INSERT INTO customer_search (rowid, name_key, email_key, external_keys) SELECT id, name_key, email_key, external_keys FROM customers;
-- +goose StatementBegin
CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customer_search (rowid, name_key, email_key, external_keys) VALUES (new.id, new.name_key, new.email_key, new.external_keys);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER customers_search_update AFTER UPDATE OF name_key, email_key, external_keys ON customers
WHEN old.name_key <> new.name_key OR old.email_key <> new.email_key OR old.external_keys <> new.external_keys BEGIN
    DELETE FROM customer_search WHERE rowid = old.id;
    INSERT INTO customer_search (rowid, name_key, email_key, external_keys) VALUES (new.id, new.name_key, new.email_key, new.external_keys);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
    DELETE FROM customer_search WHERE rowid = old.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER customers_search_delete;
DROP TRIGGER customers_search_update;
DROP TRIGGER customers_search_insert;
DROP TABLE customer_search;
DROP INDEX customers_name;
ALTER TABLE customers DROP COLUMN external_keys;
ALTER TABLE customers DROP COLUMN name_key;
DROP INDEX customers_status;
CREATE INDEX customers_status ON customers (account_id, status, id);
DROP INDEX customers_country;
DROP INDEX customers_mrr;
DROP TABLE customer_plans;
ALTER TABLE customers DROP COLUMN mrr;
