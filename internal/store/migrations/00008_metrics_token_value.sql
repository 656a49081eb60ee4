-- +goose Up
-- A metrics token's value, sealed (AES-256-GCM under the secret key), so
-- that the API can return it in every answer, as the API text shows.
-- Empty for tokens issued before it was kept, until their value is next
-- presented (to the exporter, or in a list filter).
ALTER TABLE prometheus_metrics_tokens ADD COLUMN value TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE prometheus_metrics_tokens DROP COLUMN value;
