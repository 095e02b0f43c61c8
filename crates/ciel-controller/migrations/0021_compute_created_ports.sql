-- Ports the compute service created for a server (from a network in `networks` or
-- os-interface): deleted with the server or on detach. Ports users brought are only unbound.
CREATE TABLE compute_created_ports (
    port_id   TEXT PRIMARY KEY,
    server_id TEXT NOT NULL
);
CREATE INDEX compute_created_ports_server ON compute_created_ports(server_id);
