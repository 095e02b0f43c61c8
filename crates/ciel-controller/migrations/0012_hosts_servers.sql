-- Hypervisor hosts: registered by their agent, each with the generation of its desired state.
CREATE TABLE hosts (
    id              TEXT PRIMARY KEY,
    hostname        TEXT NOT NULL UNIQUE,
    underlay_ip     TEXT,
    vcpus           INTEGER NOT NULL,
    memory_mb       INTEGER NOT NULL,
    disk_gb         INTEGER NOT NULL,
    hypervisor_type TEXT NOT NULL,
    token_hash      TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    -- Desired-state generation (bumped by every change to what the host should run) and
    -- the last one the agent reported as applied.
    generation      INTEGER NOT NULL DEFAULT 1,
    applied_generation INTEGER NOT NULL DEFAULT 0,
    last_seen       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- Servers (Nova instances). The host is chosen in the same transaction that creates the row.
CREATE TABLE servers (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    flavor_id     TEXT NOT NULL,
    -- The flavor as it was at boot (Nova embeds it in the server).
    vcpus         INTEGER NOT NULL,
    memory_mb     INTEGER NOT NULL,
    root_gb       INTEGER NOT NULL,
    image_id      TEXT NOT NULL,
    host_id       TEXT REFERENCES hosts(id),
    key_name      TEXT,
    user_data     TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}',
    availability_zone TEXT NOT NULL DEFAULT 'nova',
    -- Nova's state triple: what the API shows is derived from these.
    vm_state      TEXT NOT NULL,
    task_state    TEXT,
    power_state   INTEGER NOT NULL DEFAULT 0,
    -- What the user asked for; the agent converges the VM to it.
    desired_power TEXT NOT NULL DEFAULT 'running',
    boot_serial   INTEGER NOT NULL DEFAULT 0,
    fault         TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    launched_at   BIGINT
);
CREATE INDEX servers_host ON servers(host_id);
CREATE INDEX servers_project ON servers(project_id);
