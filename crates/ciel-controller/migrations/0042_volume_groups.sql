-- Cinder's generic volume groups (3.11–3.20): group types with their specs, groups of
-- volumes (of the group's volume types), and group snapshots (one snapshot per volume).
-- Memberships are rows of their own; `settled` is false while a group made from a source,
-- or a group snapshot, waits for its volumes or snapshots (the reports settle it).
CREATE TABLE volume_group_types (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    is_public   BOOLEAN NOT NULL,
    group_specs TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT
);
CREATE TABLE volume_groups (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    name              TEXT,
    description       TEXT,
    group_type_id     TEXT NOT NULL,
    volume_type_ids   TEXT NOT NULL,
    availability_zone TEXT NOT NULL,
    status            TEXT NOT NULL,
    settled           BOOLEAN NOT NULL,
    group_snapshot_id TEXT,
    source_group_id   TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT
);
CREATE INDEX volume_groups_by_project ON volume_groups (project_id);
CREATE TABLE volume_group_members (
    volume_id TEXT PRIMARY KEY,
    group_id  TEXT NOT NULL
);
CREATE INDEX volume_group_members_by_group ON volume_group_members (group_id);
CREATE TABLE volume_group_snapshots (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    group_type_id TEXT NOT NULL,
    name          TEXT,
    description   TEXT,
    status        TEXT NOT NULL,
    settled       BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT
);
CREATE INDEX volume_group_snapshots_by_group ON volume_group_snapshots (group_id);
CREATE TABLE volume_group_snapshot_members (
    snapshot_id       TEXT PRIMARY KEY,
    group_snapshot_id TEXT NOT NULL
);
CREATE INDEX volume_group_snapshot_members_by_gs ON volume_group_snapshot_members (group_snapshot_id);
