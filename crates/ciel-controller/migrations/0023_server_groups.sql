-- Server groups: an (anti-)affinity policy the scheduler applies to their members.
CREATE TABLE server_groups (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    policy     TEXT NOT NULL,
    -- JSON object, e.g. {"max_server_per_host": 2} (anti-affinity only).
    rules      TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX server_groups_project ON server_groups(project_id);

CREATE TABLE server_group_members (
    group_id  TEXT NOT NULL REFERENCES server_groups(id) ON DELETE CASCADE,
    server_id TEXT NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, server_id)
);
