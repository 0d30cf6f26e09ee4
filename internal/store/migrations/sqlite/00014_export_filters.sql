-- +goose Up
-- An activities export keeps the CFL filters it was asked with (issue
-- 12); the customers they select are worked out when the file is read,
-- as the activity list does for each page.
ALTER TABLE activity_exports ADD COLUMN filters TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE activity_exports DROP COLUMN filters;
