-- Cinder volume migrations (`os-migrate_volume`, `os-retype` with `migration_policy =
-- on-demand`). One row per migration; the newest row of a volume gives its
-- `migration_status`. While `migrating`, `copy_host_id` makes the new copy (from the source's
-- local backend, the shared pool, or what `source_host_id` serves on `port`); its report
-- switches the volume to `dest_host_id`/`dest_backend` in one transaction. `completing`: the
-- old copy is on a shared backend and its owner (the source host) removes it. `seq` orders
-- a volume's migrations (several may start within one second).
CREATE TABLE volume_migrations (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    volume_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    source_host_id  TEXT NOT NULL,
    source_backend  TEXT NOT NULL,
    dest_host_id    TEXT NOT NULL,
    dest_backend    TEXT NOT NULL,
    copy_host_id    TEXT NOT NULL,
    port            BIGINT NOT NULL DEFAULT 0,
    new_type_id     TEXT,
    previous_status TEXT NOT NULL,
    fail_reason     TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT
);
CREATE INDEX volume_migrations_volume ON volume_migrations (volume_id, seq);
CREATE INDEX volume_migrations_status ON volume_migrations (status);
