-- What the Nova API lets users change on a server after creation, and what it records.
ALTER TABLE servers ADD COLUMN description TEXT;
ALTER TABLE servers ADD COLUMN access_ipv4 TEXT NOT NULL DEFAULT '';
ALTER TABLE servers ADD COLUMN access_ipv6 TEXT NOT NULL DEFAULT '';
-- Lock: who locked it ('owner' or 'admin'; NULL = unlocked) and why.
ALTER TABLE servers ADD COLUMN locked_by TEXT;
ALTER TABLE servers ADD COLUMN locked_reason TEXT;
-- Bumped by rebuild: the agent recreates the root disk from the (new) image.
ALTER TABLE servers ADD COLUMN rebuild_serial INTEGER NOT NULL DEFAULT 0;
-- The flavor before a resize, kept until it is confirmed or reverted.
ALTER TABLE servers ADD COLUMN old_flavor_id TEXT;
ALTER TABLE servers ADD COLUMN old_vcpus INTEGER;
ALTER TABLE servers ADD COLUMN old_memory_mb INTEGER;
ALTER TABLE servers ADD COLUMN old_root_gb INTEGER;

CREATE TABLE server_tags (
    server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (server_id, tag)
);

-- Instance actions: one row per user request on a server, keyed by its request id. They
-- outlive the server (Nova shows the actions of deleted servers to admins).
CREATE TABLE instance_actions (
    request_id  TEXT NOT NULL,
    server_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    message     TEXT,
    start_time  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (server_id, request_id)
);
