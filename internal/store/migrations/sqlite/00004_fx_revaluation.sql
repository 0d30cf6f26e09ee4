-- +goose Up
-- The part of an MRR change that only revalues the old price at a new
-- exchange rate (metrics.md rule 20): it moves MRR but is no movement.
-- Results written before this migration hold 0 until `tally recompute`.
ALTER TABLE mrr_points ADD COLUMN fx BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscription_steps ADD COLUMN fx BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE subscription_steps DROP COLUMN fx;
ALTER TABLE mrr_points DROP COLUMN fx;
