-- +goose Up
-- Activity lists and exports page by (date, UUID): a recomputation writes
-- a customer's activities anew with new row ids, but a movement keeps its
-- UUID, so a client paging while writes arrive neither skips nor repeats
-- one. The indexes follow the order.
DROP INDEX activities_account;
DROP INDEX activities_type;
CREATE INDEX activities_account ON activities (account_id, at, uuid);
CREATE INDEX activities_type ON activities (account_id, type, at, uuid);
DROP INDEX activities_customer;
CREATE INDEX activities_customer ON activities (customer_id, at, uuid);

-- +goose Down
DROP INDEX activities_customer;
CREATE INDEX activities_customer ON activities (customer_id, at);
DROP INDEX activities_type;
DROP INDEX activities_account;
CREATE INDEX activities_account ON activities (account_id, at, id);
CREATE INDEX activities_type ON activities (account_id, type, at, id);
