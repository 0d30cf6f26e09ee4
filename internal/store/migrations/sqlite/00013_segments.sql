-- +goose Up
-- Saved segments (issue 12): a name and a CFL expression (the `filters`
-- parameter's text, as sent), per account. The name is unique in its
-- account: a segment is picked by name.
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    filters TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, name)
);
CREATE INDEX segments_account ON segments (account_id, id);

-- What segments' filters ask of a customer's invoices, kept beside it on
-- the terms of its results: the recomputation works them out from the
-- history it reads anyway, so loading the results reads no invoice.
-- currencies: its invoices' distinct currencies, a sorted JSON array.
-- quantities: each subscription's quantity, that of its latest line by
-- service period start (at one start a charge before a credit, then the
-- line imported last), a JSON object by subscription UUID.
ALTER TABLE customers ADD COLUMN currencies TEXT NOT NULL DEFAULT '[]';
ALTER TABLE customers ADD COLUMN quantities TEXT NOT NULL DEFAULT '{}';
UPDATE customers SET
    currencies = COALESCE((SELECT json_group_array(x.currency) FROM
        (SELECT DISTINCT i.currency FROM invoices i WHERE i.customer_id = customers.id ORDER BY i.currency) x), '[]'),
    quantities = COALESCE((SELECT json_group_object(s.uuid, (SELECT l.quantity FROM line_items l WHERE l.subscription_id = s.id
            ORDER BY COALESCE(l.service_period_start, 0) DESC, CASE WHEN l.amount_in_cents < 0 THEN 0 ELSE 1 END DESC, l.id DESC LIMIT 1))
        FROM subscriptions s WHERE s.customer_id = customers.id
            AND EXISTS (SELECT 1 FROM line_items l WHERE l.subscription_id = s.id)), '{}')
    WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = customers.id);

-- +goose Down
ALTER TABLE customers DROP COLUMN quantities;
ALTER TABLE customers DROP COLUMN currencies;
DROP TABLE segments;
