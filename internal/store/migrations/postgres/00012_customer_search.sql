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
-- email): name_key the name, which the name order also sorts, byte by
-- byte on both stores (hence COLLATE "C"); external_keys the external ids
-- of all the customer's identities, one a line, which the recomputation
-- rewrites after a merge, an unmerge or a data source's deletion. '' until
-- the store fills them in after migrating.
ALTER TABLE customers ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN external_keys TEXT NOT NULL DEFAULT '';
CREATE INDEX customers_name ON customers (account_id, name_key, id);

-- Substring search: pg_trgm's trigram indexes of the keys, which serve
-- LIKE '%…%' (all on customers, so that the planner weighs them against
-- reading the account's customers in the list's order). pg_trgm ships
-- with PostgreSQL (contrib) and is a trusted extension: the database's
-- owner may create it. It goes into public when there is one: extensions
-- are per database, and one in a schema that is later dropped would take
-- every trigram index with it.
-- Where it cannot be had, the search still answers, by reading every
-- customer of the account (a warning says so). Two servers migrating at
-- once may both try to create it: the loser uses the winner's.
-- +goose StatementBegin
DO $$
DECLARE
    trgm name;
BEGIN
    SELECT n.nspname INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    IF trgm IS NULL THEN
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
                CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
            ELSE
                CREATE EXTENSION IF NOT EXISTS pg_trgm;
            END IF;
        EXCEPTION
            WHEN unique_violation OR duplicate_object THEN
                NULL;
            WHEN OTHERS THEN
                RAISE WARNING 'customer search without an index: cannot create extension pg_trgm: %', SQLERRM;
                RETURN;
        END;
        SELECT n.nspname INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
        IF trgm IS NULL THEN
            RAISE WARNING 'customer search without an index: extension pg_trgm was not created';
            RETURN;
        END IF;
    END IF;
    EXECUTE format('CREATE INDEX customers_name_search ON customers USING gin (name_key %I.gin_trgm_ops)', trgm);
    EXECUTE format('CREATE INDEX customers_email_search ON customers USING gin (email_key %I.gin_trgm_ops)', trgm);
    EXECUTE format('CREATE INDEX customers_external_search ON customers USING gin (external_keys %I.gin_trgm_ops)', trgm);
END
$$;
-- +goose StatementEnd

-- +goose Down
-- pg_trgm stays: other schemas of the database may use it.
DROP INDEX IF EXISTS customers_external_search;
DROP INDEX IF EXISTS customers_email_search;
DROP INDEX IF EXISTS customers_name_search;
DROP INDEX customers_name;
ALTER TABLE customers DROP COLUMN external_keys;
ALTER TABLE customers DROP COLUMN name_key;
DROP INDEX customers_status;
CREATE INDEX customers_status ON customers (account_id, status, id);
DROP INDEX customers_country;
DROP INDEX customers_mrr;
DROP TABLE customer_plans;
ALTER TABLE customers DROP COLUMN mrr;
