-- Per-project overrides of the network quota defaults (absent row: the default applies).
CREATE TABLE network_quotas (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);
