-- +goose Up
-- Dashboard sign-in (issue 11). API keys stay the credential: a browser
-- session, and a one-time sign-in link (`tally ui-link`, serve's first
-- start), are each bound to the key they were made for, and a revoked key
-- ends them at the next request (every lookup joins api_keys and wants it
-- live). Only SHA-256 hashes of their tokens are stored, as for keys.
-- Times are Unix milliseconds; a row has expired when now >= expires_at.
CREATE TABLE ui_sessions (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    api_key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ui_sessions_key ON ui_sessions (api_key_id);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);

-- used_at makes a token one-time: it is set in the statement that accepts
-- the token, and only while it is still NULL.
CREATE TABLE ui_login_tokens (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    api_key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX ui_login_tokens_key ON ui_login_tokens (api_key_id);
CREATE INDEX ui_login_tokens_expires ON ui_login_tokens (expires_at);

-- A read-only view of an account's dashboard for whoever holds the link.
-- uuid is its public id (settings page, revocation); the token in the link
-- is kept as a hash. It lives until revoked, whatever becomes of the key
-- that made it (created_by_key_id says which one did). embed is 0 or 1.
CREATE TABLE ui_share_links (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uuid TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by_key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    embed INTEGER NOT NULL DEFAULT 0 CHECK (embed IN (0, 1)),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX ui_share_links_account ON ui_share_links (account_id, id);
CREATE INDEX ui_share_links_key ON ui_share_links (created_by_key_id);

-- +goose Down
DROP TABLE ui_share_links;
DROP TABLE ui_login_tokens;
DROP TABLE ui_sessions;
