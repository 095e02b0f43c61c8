-- Cinder volume backups. A backup is made by the host holding its volume's data (its owner
-- on a shared backend) into that host's backup target (`dir` or `rbd`), restored by the host
-- holding the volume written, and deleted by the host that made it. `data_id` names the
-- stored data: a backup's own id, or (a record imported with `backups/import_record`) the
-- id of the backup whose data it shares; the data goes with the last row naming it.
CREATE TABLE volume_backups (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    volume_id         TEXT NOT NULL,
    snapshot_id       TEXT,
    host_id           TEXT,
    name              TEXT,
    description       TEXT,
    container         TEXT,
    status            TEXT NOT NULL,
    fail_reason       TEXT,
    size              BIGINT NOT NULL,
    object_count      BIGINT NOT NULL DEFAULT 0,
    parent_id         TEXT,
    data_id           TEXT NOT NULL,
    target            TEXT,
    backend           TEXT NOT NULL,
    point_in_time     BOOLEAN NOT NULL DEFAULT FALSE,
    availability_zone TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}',
    volume_meta       TEXT NOT NULL DEFAULT '{}',
    restore_volume_id TEXT,
    data_timestamp    BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT
);
CREATE INDEX volume_backups_project ON volume_backups(project_id);
CREATE INDEX volume_backups_volume ON volume_backups(volume_id);
CREATE INDEX volume_backups_parent ON volume_backups(parent_id);
CREATE INDEX volume_backups_status ON volume_backups(status);
