-- Metering: what each server, volume, floating IP and load balancer was, and when, kept as
-- runs of unchanged shape rather than one row per sample (app::metering). A sample that finds
-- a resource as its open run says costs no write: a run goes on while `ended_at` is NULL. A
-- new resource or a new shape (resize, extend) opens a run; a resource gone closes its run.
CREATE TABLE usage_records (
    kind        TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    flavor      TEXT NOT NULL DEFAULT '',
    vcpus       BIGINT NOT NULL DEFAULT 0,
    memory_mb   BIGINT NOT NULL DEFAULT 0,
    disk_gb     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, resource_id, started_at)
);
CREATE INDEX usage_records_open ON usage_records (kind, resource_id) WHERE ended_at IS NULL;
CREATE INDEX usage_records_ended ON usage_records (ended_at);
-- When the latest sample was taken (one row).
CREATE TABLE usage_sampled (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    sampled_at BIGINT NOT NULL
);
