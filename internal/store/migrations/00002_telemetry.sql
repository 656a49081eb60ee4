-- +goose Up
-- What the metrics collector measured: one row per datastore, kind
-- ('instance' or 'database'), series key (instance ID or database name)
-- and time, with the measurements as a JSON object of name → number.
-- Timestamps are BIGINT microseconds since the Unix epoch in UTC.
CREATE TABLE telemetry_samples (
    datastore_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    series_key TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    ts BIGINT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (datastore_id, kind, ts, series_key)
);
CREATE INDEX telemetry_samples_ts ON telemetry_samples (ts);

-- How far the log shipper got in each log file of a datastore whose logs
-- are exported (file_id tells a rotated or replaced file from the one the
-- offset was taken in).
CREATE TABLE log_export_offsets (
    datastore_id TEXT NOT NULL,
    path TEXT NOT NULL,
    log_group TEXT NOT NULL,
    file_id TEXT NOT NULL DEFAULT '',
    byte_offset BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (datastore_id, path)
);

-- +goose Down
DROP TABLE log_export_offsets;
DROP TABLE telemetry_samples;
