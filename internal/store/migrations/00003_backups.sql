-- +goose Up
-- The backup catalogue. Portable SQL (SQLite and PostgreSQL): timestamps
-- are BIGINT microseconds since the Unix epoch in UTC; lists are JSON text.
-- Rows outlive their datastore's deletion until retention prunes them.

-- Base backups (and snapshots) of datastores. files lists the files of
-- the backup in the backup storage under location, with their size and
-- SHA-256: [{"name": …, "size": …, "sha256": …}].
CREATE TABLE backups (
    id TEXT PRIMARY KEY,
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    project_id TEXT NOT NULL,
    engine TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    location TEXT NOT NULL,
    position TEXT NOT NULL DEFAULT '',
    files TEXT NOT NULL DEFAULT '[]',
    size_bytes BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    consistent_at BIGINT
);
CREATE INDEX backups_datastore ON backups (datastore_id, started_at);

-- Files the engines archived for point-in-time recovery (PostgreSQL WAL
-- segments, MySQL binary logs), by datastore. archived_at is the time the
-- archive is complete up to once the file is in it.
CREATE TABLE archived_files (
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    name TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    archived_at BIGINT NOT NULL,
    PRIMARY KEY (datastore_id, name)
);
CREATE INDEX archived_files_time ON archived_files (datastore_id, archived_at);

-- +goose Down
DROP TABLE archived_files;
DROP TABLE backups;
