-- Routers: the gateway and interfaces are ports (device_owner network:router_*) on the networks.

CREATE TABLE routers (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL DEFAULT '',
    project_id         TEXT NOT NULL,
    admin_state_up     BOOLEAN NOT NULL DEFAULT TRUE,
    gateway_network_id TEXT REFERENCES networks(id),
    enable_snat        BOOLEAN NOT NULL DEFAULT TRUE,
    -- JSON array of {"destination", "nexthop"}.
    routes             TEXT NOT NULL DEFAULT '[]',
    description        TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    revision_number    INTEGER NOT NULL DEFAULT 0
);
