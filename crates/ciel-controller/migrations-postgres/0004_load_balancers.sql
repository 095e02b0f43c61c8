-- Load balancers (Octavia v2). A load balancer row carries what the state machine and the
-- placement need as columns; its children (listeners, pools, members, health monitors, L7
-- policies and rules) share one table, keyed by their load balancer, because every change
-- reads and writes one load balancer's whole tree in one transaction. Attributes the API
-- only echoes are a typed JSON body.
CREATE TABLE lb_loadbalancers (
    id                  TEXT PRIMARY KEY,
    project_id          TEXT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status    TEXT NOT NULL,
    -- The network node serving it.
    host_id             TEXT,
    vip_port_id         TEXT,
    -- Bumped by every change to it or a child; its host reports the revision it serves.
    revision            BIGINT NOT NULL DEFAULT 1,
    applied_revision    BIGINT NOT NULL DEFAULT 0,
    -- Why the last revision tried failed on its host.
    fault               TEXT,
    body                TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT
);
CREATE INDEX lb_loadbalancers_project ON lb_loadbalancers(project_id);
CREATE INDEX lb_loadbalancers_host ON lb_loadbalancers(host_id);

CREATE TABLE lb_children (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    loadbalancer_id     TEXT NOT NULL REFERENCES lb_loadbalancers(id),
    -- The pool of a member or health monitor, the policy of a rule, the listener of a
    -- policy; NULL for listeners and pools.
    parent_id           TEXT,
    project_id          TEXT NOT NULL,
    provisioning_status TEXT NOT NULL,
    operating_status    TEXT NOT NULL,
    body                TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT,
    -- Creation order within one load balancer (Octavia lists by created_at, then id).
    seq                 BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX lb_children_lb ON lb_children(loadbalancer_id);
CREATE INDEX lb_children_kind_project ON lb_children(kind, project_id);

CREATE TABLE lb_quotas (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);

-- Listener statistics as the network node last reported them (cumulative).
CREATE TABLE lb_listener_stats (
    listener_id        TEXT PRIMARY KEY,
    loadbalancer_id    TEXT NOT NULL,
    bytes_in           BIGINT NOT NULL DEFAULT 0,
    bytes_out          BIGINT NOT NULL DEFAULT 0,
    active_connections BIGINT NOT NULL DEFAULT 0,
    total_connections  BIGINT NOT NULL DEFAULT 0,
    request_errors     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX lb_listener_stats_lb ON lb_listener_stats(loadbalancer_id);
