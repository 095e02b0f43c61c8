-- Network service (Neutron v2.0) control plane: networks, subnets, ports and their addresses.

CREATE TABLE networks (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL DEFAULT '',
    project_id            TEXT NOT NULL,
    admin_state_up        BOOLEAN NOT NULL DEFAULT TRUE,
    shared                BOOLEAN NOT NULL DEFAULT FALSE,
    external              BOOLEAN NOT NULL DEFAULT FALSE,
    mtu                   INTEGER NOT NULL,
    network_type          TEXT NOT NULL,
    physical_network      TEXT,
    segmentation_id       INTEGER,
    port_security_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    description           TEXT NOT NULL DEFAULT '',
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    revision_number       INTEGER NOT NULL DEFAULT 0
);
-- A segment (e.g. a VXLAN VNI) belongs to one network only.
CREATE UNIQUE INDEX networks_segment ON networks(network_type, physical_network, segmentation_id)
    WHERE segmentation_id IS NOT NULL;

CREATE TABLE subnets (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL DEFAULT '',
    network_id        TEXT NOT NULL REFERENCES networks(id),
    project_id        TEXT NOT NULL,
    ip_version        INTEGER NOT NULL,
    cidr              TEXT NOT NULL,
    gateway_ip        TEXT,
    -- JSON arrays: [{"start","end"}], ["dns"], [{"destination","nexthop"}].
    allocation_pools  TEXT NOT NULL DEFAULT '[]',
    dns_nameservers   TEXT NOT NULL DEFAULT '[]',
    host_routes       TEXT NOT NULL DEFAULT '[]',
    enable_dhcp       BOOLEAN NOT NULL DEFAULT TRUE,
    ipv6_ra_mode      TEXT,
    ipv6_address_mode TEXT,
    description       TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    revision_number   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX subnets_network ON subnets(network_id);

CREATE TABLE ports (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL DEFAULT '',
    network_id            TEXT NOT NULL REFERENCES networks(id),
    project_id            TEXT NOT NULL,
    mac_address           TEXT NOT NULL,
    admin_state_up        BOOLEAN NOT NULL DEFAULT TRUE,
    status                TEXT NOT NULL DEFAULT 'DOWN',
    device_id             TEXT NOT NULL DEFAULT '',
    device_owner          TEXT NOT NULL DEFAULT '',
    port_security_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    allowed_address_pairs TEXT NOT NULL DEFAULT '[]',
    binding_host_id       TEXT NOT NULL DEFAULT '',
    description           TEXT NOT NULL DEFAULT '',
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    revision_number       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (network_id, mac_address)
);
CREATE INDEX ports_network ON ports(network_id);

-- One row per fixed IP. The primary key makes two ports holding one address impossible,
-- whatever the concurrency.
CREATE TABLE ip_allocations (
    subnet_id  TEXT NOT NULL REFERENCES subnets(id),
    ip_address TEXT NOT NULL,
    port_id    TEXT NOT NULL REFERENCES ports(id) ON DELETE CASCADE,
    network_id TEXT NOT NULL,
    PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX ip_allocations_port ON ip_allocations(port_id);
