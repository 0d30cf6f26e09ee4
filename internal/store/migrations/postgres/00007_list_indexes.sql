-- +goose Up
-- Every documented filter of every list reaches its rows through an index
-- (issue 10: the customer lookup by data source and external id read every
-- customer of the account). Lists page in id order, so the indexes of the
-- big tables end in id where a filter can select many rows.
CREATE INDEX customer_identities_external ON customer_identities (account_id, external_id);
CREATE INDEX customers_source ON customers (data_source_id, id);
CREATE INDEX data_sources_system ON data_sources (account_id, system);
CREATE INDEX plans_external ON plans (account_id, external_id);
CREATE INDEX invoices_source ON invoices (data_source_id, id);
CREATE INDEX invoices_external ON invoices (account_id, external_id);
CREATE INDEX subscription_events_source ON subscription_events (data_source_id, id);
CREATE INDEX subscription_events_external ON subscription_events (account_id, external_id);
CREATE INDEX subscription_events_customer_external ON subscription_events (account_id, customer_external_id, id);
CREATE INDEX subscription_events_subscription_external ON subscription_events (account_id, subscription_external_id, id);
CREATE INDEX activities_type ON activities (account_id, type, at, id);

-- +goose Down
DROP INDEX activities_type;
DROP INDEX subscription_events_subscription_external;
DROP INDEX subscription_events_customer_external;
DROP INDEX subscription_events_external;
DROP INDEX subscription_events_source;
DROP INDEX invoices_external;
DROP INDEX invoices_source;
DROP INDEX plans_external;
DROP INDEX data_sources_system;
DROP INDEX customers_source;
DROP INDEX customer_identities_external;
