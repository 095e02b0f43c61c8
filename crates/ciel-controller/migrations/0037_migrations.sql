-- Server migrations (Nova's `migrations`): live migrations now, cold migrations and
-- evacuations later. A live migration in progress puts its server on two hosts' desired
-- state at once; `port`/`nbd_port` are where the destination listens.
CREATE TABLE migrations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid              TEXT NOT NULL UNIQUE,
    server_id         TEXT NOT NULL,
    project_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    source_host_id    TEXT,
    dest_host_id      TEXT,
    source_node       TEXT,
    dest_node         TEXT,
    dest_addr         TEXT,
    block_migration   BOOLEAN NOT NULL DEFAULT FALSE,
    port              INTEGER NOT NULL DEFAULT 0,
    nbd_port          INTEGER NOT NULL DEFAULT 0,
    abort_requested   BOOLEAN NOT NULL DEFAULT FALSE,
    force_complete    BOOLEAN NOT NULL DEFAULT FALSE,
    old_flavor_id     TEXT,
    new_flavor_id     TEXT,
    memory_total      INTEGER NOT NULL DEFAULT 0,
    memory_processed  INTEGER NOT NULL DEFAULT 0,
    memory_remaining  INTEGER NOT NULL DEFAULT 0,
    disk_total        INTEGER NOT NULL DEFAULT 0,
    disk_processed    INTEGER NOT NULL DEFAULT 0,
    disk_remaining    INTEGER NOT NULL DEFAULT 0,
    downtime_ms       INTEGER,
    total_ms          INTEGER,
    error             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX migrations_server ON migrations (server_id, id);
CREATE INDEX migrations_status ON migrations (status);
-- The PCI slot of each device of a server's VM as its host last reported it (what a live
-- migration's destination rebuilds).
CREATE TABLE server_device_slots (
    server_id TEXT PRIMARY KEY,
    slots     TEXT NOT NULL
);
-- An operator's word that a host is down (`os-services` `forced_down`): its servers may be
-- evacuated at once, without waiting for its heartbeats to stop counting.
ALTER TABLE hosts ADD COLUMN forced_down BOOLEAN NOT NULL DEFAULT FALSE;
