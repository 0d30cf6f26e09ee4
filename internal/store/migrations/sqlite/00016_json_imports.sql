-- +goose Up
-- Bulk imports (issue 13, POST /v1/data_sources/{uuid}/json_imports): one
-- row per request, written in the same transaction as what it imported, so
-- that GET …/json_imports/{id} shows exactly what is stored. uuid is the
-- import's id; external_id the client's, unique in its data source (GET
-- takes either). status_details is the answer's object as JSON text.
CREATE TABLE json_imports (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    data_source_id BIGINT NOT NULL REFERENCES data_sources (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    external_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_details TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (data_source_id, external_id)
);

-- +goose Down
DROP TABLE json_imports;
