-- +goose Up
-- The secret that keys the permutation of public ids (customers' and
-- subscription events' `id`): one row, made on first use, shared by every
-- server on the database so that they all show the same ids. Hex text.
CREATE TABLE id_secret (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);

-- +goose Down
DROP TABLE id_secret;
