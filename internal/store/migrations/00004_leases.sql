-- +goose Up
-- Named leases let several dbaasd replicas split periodic work (probing a
-- datastore, collecting its metrics) instead of doing it twice.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
