-- Block storage (Cinder v3): volume types, volumes, snapshots, attachments, quotas.
CREATE TABLE volume_types (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    is_public   INTEGER NOT NULL DEFAULT 1,
    -- JSON object of extra specs, e.g. {"volume_backend_name": "file"}.
    extra_specs TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);

CREATE TABLE volume_type_access (
    type_id    TEXT NOT NULL REFERENCES volume_types(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    PRIMARY KEY (type_id, project_id)
);

CREATE TABLE volumes (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    name              TEXT,
    description       TEXT,
    size              BIGINT NOT NULL,
    -- creating, available, reserved, attaching, in-use, detaching, extending, deleting,
    -- error, error_deleting, error_extending, uploading, downloading
    status            TEXT NOT NULL,
    availability_zone TEXT NOT NULL,
    volume_type_id    TEXT NOT NULL REFERENCES volume_types(id),
    -- The hypervisor host that stores the volume (local backends).
    host_id           TEXT,
    source_volid      TEXT,
    snapshot_id       TEXT,
    image_id          TEXT,
    bootable          INTEGER NOT NULL DEFAULT 0,
    -- NULL until os-update_readonly_flag sets it (then shown as metadata "readonly").
    read_only         INTEGER,
    -- JSON objects.
    metadata          TEXT NOT NULL DEFAULT '{}',
    image_metadata    TEXT NOT NULL DEFAULT '{}',
    -- Why it is in error, for operators.
    fault             TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT
);
CREATE INDEX volumes_project ON volumes(project_id);
CREATE INDEX volumes_host ON volumes(host_id);

CREATE TABLE volume_snapshots (
    id          TEXT PRIMARY KEY,
    volume_id   TEXT NOT NULL REFERENCES volumes(id),
    project_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    name        TEXT,
    description TEXT,
    size        BIGINT NOT NULL,
    -- creating, available, deleting, error
    status      TEXT NOT NULL,
    -- As last set by os-update_snapshot_status; NULL: derived from the status.
    progress    TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT
);
CREATE INDEX volume_snapshots_volume ON volume_snapshots(volume_id);

CREATE TABLE volume_attachments (
    id          TEXT PRIMARY KEY,
    volume_id   TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
    server_id   TEXT NOT NULL,
    device      TEXT NOT NULL,
    -- attaching, attached, detaching
    status      TEXT NOT NULL,
    -- 0 for the root disk of a server booted from the volume; NULL when hot-plugged.
    boot_index  INTEGER,
    delete_on_termination INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE INDEX volume_attachments_server ON volume_attachments(server_id);
CREATE UNIQUE INDEX volume_attachments_one ON volume_attachments(volume_id);

CREATE TABLE volume_quotas (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);

INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_at)
VALUES (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-a'
        || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
        '__DEFAULT__', 'Default Volume Type', 1, '{}', strftime('%s', 'now'));
