-- State that several controllers sharing the database must agree on.

-- Counters bumped with every change of their kind; a controller notices what another one
-- changed by reading them (PostgreSQL's NOTIFY only wakes it earlier).
CREATE TABLE cluster_generations (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
);
INSERT INTO cluster_generations (name, value) VALUES ('identity', 0), ('hosts', 0);

-- Remote console tokens (SHA-256 of the secret): a URL handed out by one controller opens
-- through any other.
CREATE TABLE console_tokens (
    token_sha256 TEXT PRIMARY KEY,
    server_id    TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX console_tokens_expiry ON console_tokens (expires_at);

-- Controllers sharing the database, each beating its row while it runs.
CREATE TABLE controllers (
    id         TEXT PRIMARY KEY,
    hostname   TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL
);

-- Background work a controller runs for a resource (an upload, a snapshot): leased to it, so
-- that another controller finishes or fails the work cleanly once the owner stops beating,
-- and a restarting controller leaves other controllers' work alone.
CREATE TABLE work_leases (
    kind          TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    controller_id TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    started_at    INTEGER NOT NULL,
    PRIMARY KEY (kind, resource_id)
);
