-- +goose Up
-- Portable SQL (SQLite and PostgreSQL): timestamps are BIGINT microseconds
-- since the Unix epoch in UTC; lists and maps are JSON text.
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    source TEXT NOT NULL,
    user_name TEXT NOT NULL DEFAULT '',
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE quotas (
    project_id TEXT NOT NULL REFERENCES projects(id),
    resource TEXT NOT NULL,
    lim BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);

CREATE TABLE datastore_types (
    id TEXT PRIMARY KEY,
    engine TEXT NOT NULL,
    version TEXT NOT NULL,
    full_version TEXT NOT NULL DEFAULT '',
    UNIQUE (engine, version)
);

CREATE TABLE flavors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    vcpus INTEGER NOT NULL,
    ram INTEGER NOT NULL,
    disk INTEGER NOT NULL,
    fl_size TEXT NOT NULL,
    subtype TEXT NOT NULL DEFAULT '',
    host_line TEXT NOT NULL DEFAULT '',
    host_processor TEXT NOT NULL DEFAULT '',
    host_total_count INTEGER NOT NULL DEFAULT 0,
    is_public BOOLEAN NOT NULL DEFAULT TRUE,
    template TEXT NOT NULL DEFAULT '',
    datastore_type_ids TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE configuration_parameters (
    id TEXT PRIMARY KEY,
    datastore_type_id TEXT NOT NULL REFERENCES datastore_types(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    min_template TEXT NOT NULL DEFAULT '',
    max_template TEXT NOT NULL DEFAULT '',
    default_value_template TEXT NOT NULL DEFAULT '',
    choices TEXT NOT NULL DEFAULT '[]',
    invalid_values TEXT NOT NULL DEFAULT '[]',
    is_restart_required BOOLEAN NOT NULL DEFAULT FALSE,
    is_changeable BOOLEAN NOT NULL DEFAULT TRUE,
    can_be_empty BOOLEAN NOT NULL DEFAULT FALSE,
    is_multiple_choice_available BOOLEAN NOT NULL DEFAULT FALSE,
    is_available_for_customer BOOLEAN NOT NULL DEFAULT TRUE,
    factor DOUBLE PRECISION NOT NULL DEFAULT 1,
    UNIQUE (datastore_type_id, name)
);

CREATE TABLE available_extensions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    datastore_type_ids TEXT NOT NULL DEFAULT '[]',
    dependency_ids TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE datastores (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    type_id TEXT NOT NULL,
    subnet_id TEXT NOT NULL DEFAULT '',
    flavor_id TEXT NOT NULL DEFAULT '',
    vcpus INTEGER NOT NULL,
    ram INTEGER NOT NULL,
    disk INTEGER NOT NULL,
    disk_type TEXT NOT NULL DEFAULT 'local',
    node_count INTEGER NOT NULL,
    status TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    is_protected BOOLEAN NOT NULL DEFAULT FALSE,
    is_maintenance BOOLEAN NOT NULL DEFAULT FALSE,
    allow_restore BOOLEAN NOT NULL DEFAULT FALSE,
    backup_retention_days INTEGER NOT NULL DEFAULT 7,
    config TEXT NOT NULL DEFAULT '{}',
    firewall TEXT NOT NULL DEFAULT '[]',
    pooler_mode TEXT NOT NULL DEFAULT '',
    pooler_size INTEGER NOT NULL DEFAULT 0,
    pooler_port INTEGER NOT NULL DEFAULT 0,
    log_group TEXT NOT NULL DEFAULT '',
    security_groups TEXT NOT NULL DEFAULT '[]',
    redis_password TEXT NOT NULL DEFAULT '',
    admin_password TEXT NOT NULL DEFAULT '',
    restore_datastore_id TEXT NOT NULL DEFAULT '',
    restore_target_time BIGINT,
    floating_ips_master INTEGER NOT NULL DEFAULT 0,
    floating_ips_replica INTEGER NOT NULL DEFAULT 0,
    disk_used BIGINT NOT NULL DEFAULT 0,
    creation_finished_at BIGINT,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at BIGINT,
    generation BIGINT NOT NULL DEFAULT 1,
    observed_generation BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX datastores_project ON datastores (project_id, deleted, created_at);

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    idx INTEGER NOT NULL,
    role TEXT NOT NULL,
    role_name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT '',
    port INTEGER NOT NULL DEFAULT 0,
    floating_ip TEXT UNIQUE,
    hostname TEXT NOT NULL DEFAULT '',
    availability_zone TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (datastore_id, idx)
);
CREATE INDEX instances_project ON instances (project_id);

CREATE TABLE ports (
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    datastore_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (host, port)
);
CREATE INDEX ports_owner ON ports (owner);
CREATE INDEX ports_datastore ON ports (datastore_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    name TEXT NOT NULL,
    password TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (datastore_id, name)
);
CREATE INDEX users_project ON users (project_id);

CREATE TABLE databases (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    name TEXT NOT NULL,
    owner_id TEXT NOT NULL DEFAULT '',
    lc_collate TEXT NOT NULL DEFAULT '',
    lc_ctype TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (datastore_id, name)
);
CREATE INDEX databases_project ON databases (project_id);

CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    database_id TEXT NOT NULL REFERENCES databases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (database_id, user_id)
);
CREATE INDEX grants_project ON grants (project_id);

CREATE TABLE extensions (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    database_id TEXT NOT NULL REFERENCES databases(id),
    available_extension_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (database_id, available_extension_id)
);
CREATE INDEX extensions_project ON extensions (project_id);

CREATE TABLE logical_replication_slots (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    database_id TEXT NOT NULL REFERENCES databases(id),
    name TEXT NOT NULL,
    in_use BOOLEAN NOT NULL DEFAULT FALSE,
    size BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (datastore_id, name)
);
CREATE INDEX slots_project ON logical_replication_slots (project_id);

CREATE TABLE topics (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    name TEXT NOT NULL,
    partitions INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (datastore_id, name)
);
CREATE INDEX topics_project ON topics (project_id);

CREATE TABLE acls (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    datastore_id TEXT NOT NULL REFERENCES datastores(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    pattern TEXT NOT NULL,
    pattern_type TEXT NOT NULL,
    allow_read BOOLEAN NOT NULL,
    allow_write BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (datastore_id, user_id, pattern_type, pattern)
);
CREATE INDEX acls_project ON acls (project_id);

CREATE TABLE prometheus_metrics_tokens (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    value_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX metrics_tokens_project ON prometheus_metrics_tokens (project_id);

CREATE TABLE actions (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    datastore_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    resource_type TEXT NOT NULL DEFAULT '',
    resource_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    request_id TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL DEFAULT '{}',
    error TEXT NOT NULL DEFAULT '',
    progress INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT,
    not_before BIGINT,
    start_time BIGINT,
    finish_time BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX actions_queue ON actions (status, created_at);
CREATE INDEX actions_project ON actions (project_id, created_at);
CREATE INDEX actions_datastore ON actions (datastore_id, status);

-- +goose Down
DROP TABLE actions;
DROP TABLE prometheus_metrics_tokens;
DROP TABLE acls;
DROP TABLE topics;
DROP TABLE logical_replication_slots;
DROP TABLE extensions;
DROP TABLE grants;
DROP TABLE databases;
DROP TABLE users;
DROP TABLE ports;
DROP TABLE instances;
DROP TABLE datastores;
DROP TABLE available_extensions;
DROP TABLE configuration_parameters;
DROP TABLE flavors;
DROP TABLE datastore_types;
DROP TABLE quotas;
DROP TABLE tokens;
DROP TABLE projects;
