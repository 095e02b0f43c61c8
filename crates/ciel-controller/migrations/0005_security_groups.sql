-- Security groups and rules (the data plane turns them into nftables per port).

CREATE TABLE security_groups (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    project_id      TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    stateful        BOOLEAN NOT NULL DEFAULT TRUE,
    is_default      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    revision_number INTEGER NOT NULL DEFAULT 0
);
-- One default group per project, however many requests race to create it.
CREATE UNIQUE INDEX security_groups_default ON security_groups(project_id) WHERE is_default;

CREATE TABLE security_group_rules (
    id                TEXT PRIMARY KEY,
    security_group_id TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,
    project_id        TEXT NOT NULL,
    direction         TEXT NOT NULL,
    ethertype         TEXT NOT NULL,
    protocol          TEXT,
    port_range_min    INTEGER,
    port_range_max    INTEGER,
    remote_ip_prefix  TEXT,
    remote_group_id   TEXT REFERENCES security_groups(id) ON DELETE CASCADE,
    description       TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    revision_number   INTEGER NOT NULL DEFAULT 0
);
-- Two rules that mean the same are one rule (Neutron's SecurityGroupRuleExists).
CREATE UNIQUE INDEX security_group_rules_unique ON security_group_rules(
    security_group_id, direction, ethertype, coalesce(protocol, ''), coalesce(port_range_min, -1),
    coalesce(port_range_max, -1), coalesce(remote_ip_prefix, ''), coalesce(remote_group_id, ''));

CREATE TABLE port_security_groups (
    port_id           TEXT NOT NULL REFERENCES ports(id) ON DELETE CASCADE,
    security_group_id TEXT NOT NULL REFERENCES security_groups(id),
    PRIMARY KEY (port_id, security_group_id)
);
CREATE INDEX port_security_groups_group ON port_security_groups(security_group_id);
