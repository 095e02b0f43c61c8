-- Host aggregates (os-aggregates): named groups of hypervisor hosts with metadata and an
-- optional availability zone. Integer ids, as Nova's API has them.
CREATE TABLE aggregates (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT NOT NULL UNIQUE,
    availability_zone TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT
);

CREATE TABLE aggregate_hosts (
    aggregate_id INTEGER NOT NULL REFERENCES aggregates(id) ON DELETE CASCADE,
    host_name    TEXT NOT NULL,
    PRIMARY KEY (aggregate_id, host_name)
);
