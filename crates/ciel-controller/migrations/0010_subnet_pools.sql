-- Subnet pools: prefixes subnets are carved from (subnet_allocation).
CREATE TABLE subnet_pools (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    ip_version        INTEGER NOT NULL,
    -- JSON array of CIDRs
    prefixes          TEXT NOT NULL,
    default_prefixlen INTEGER NOT NULL,
    min_prefixlen     INTEGER NOT NULL,
    max_prefixlen     INTEGER NOT NULL,
    shared            BOOLEAN NOT NULL DEFAULT FALSE,
    is_default        BOOLEAN NOT NULL DEFAULT FALSE,
    default_quota     INTEGER,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    revision_number   INTEGER NOT NULL DEFAULT 0
);
-- At most one default pool per IP version.
CREATE UNIQUE INDEX subnet_pools_default ON subnet_pools(ip_version) WHERE is_default;

ALTER TABLE subnets ADD COLUMN subnetpool_id TEXT REFERENCES subnet_pools(id);
CREATE INDEX subnets_pool ON subnets(subnetpool_id);

CREATE TRIGGER subnet_pools_untag AFTER DELETE ON subnet_pools BEGIN
    DELETE FROM network_tags WHERE resource_id = OLD.id;
END;
