-- Cinder v3 completeness: volume transfers, QoS specs (associated with volume types) and
-- the volume services' administrative state (enabled/disabled, frozen) per host@backend.

-- A pending transfer of a volume (and, unless `no_snapshots`, its snapshots) to whichever
-- project accepts it with the auth key; only the key's salted hash is kept. Accepted ones
-- stay (3.57 shows them as `accepted` with the destination project).
CREATE TABLE volume_transfers (
    id                     TEXT PRIMARY KEY,
    volume_id              TEXT NOT NULL,
    source_project_id      TEXT NOT NULL,
    destination_project_id TEXT,
    name                   TEXT,
    salt                   TEXT NOT NULL,
    crypt_hash             TEXT NOT NULL,
    no_snapshots           BOOLEAN NOT NULL DEFAULT FALSE,
    accepted               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at             BIGINT NOT NULL
);
CREATE INDEX volume_transfers_volume ON volume_transfers(volume_id);
CREATE INDEX volume_transfers_project ON volume_transfers(source_project_id);

-- QoS specs: the keys are Cinder's free-form pairs (JSON object of strings); those the
-- front end honours become QEMU I/O throttling on attached disks.
CREATE TABLE qos_specs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    consumer   TEXT NOT NULL,
    specs      TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
ALTER TABLE volume_types ADD COLUMN qos_specs_id TEXT REFERENCES qos_specs(id);

-- What an admin set on a volume service (`cinder-volume` on host@backend,
-- `cinder-scheduler`): a service without a row is enabled and not frozen.
CREATE TABLE volume_services (
    service_binary  TEXT NOT NULL,
    host            TEXT NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason TEXT,
    frozen          BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (service_binary, host)
);
