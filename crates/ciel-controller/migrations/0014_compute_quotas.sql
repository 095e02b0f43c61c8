-- Per-project compute quota overrides; absent rows mean the default.
CREATE TABLE compute_quotas (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit INTEGER NOT NULL,
    PRIMARY KEY (project_id, resource)
);
