-- Floating IPs: an address held by a project-less port on an external network, mapped 1:1 to
-- a port's fixed IP through the router that connects them.

CREATE TABLE floating_ips (
    id                  TEXT PRIMARY KEY,
    project_id          TEXT NOT NULL,
    floating_network_id TEXT NOT NULL REFERENCES networks(id),
    floating_ip_address TEXT NOT NULL,
    floating_port_id    TEXT NOT NULL REFERENCES ports(id),
    port_id             TEXT REFERENCES ports(id) ON DELETE SET NULL,
    fixed_ip_address    TEXT,
    router_id           TEXT REFERENCES routers(id),
    description         TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    revision_number     INTEGER NOT NULL DEFAULT 0
);
-- A fixed IP has at most one floating IP.
CREATE UNIQUE INDEX floating_ips_fixed ON floating_ips(port_id, fixed_ip_address) WHERE port_id IS NOT NULL;
