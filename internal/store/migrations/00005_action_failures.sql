-- +goose Up
-- Failures of an action, apart from its attempts: an attempt cut short by
-- a crash of dbaasd (the lease expired) is not a failure of the action.
ALTER TABLE actions ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE actions DROP COLUMN failures;
