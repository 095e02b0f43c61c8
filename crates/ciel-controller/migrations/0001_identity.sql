-- Identity (Keystone v3) data. Portable SQL: runs on SQLite today and PostgreSQL later.
-- `extra` holds the JSON object of attributes Keystone stores but does not interpret.

CREATE TABLE domains (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    extra       TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL REFERENCES domains(id),
    parent_id   TEXT REFERENCES projects(id),
    description TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    extra       TEXT NOT NULL DEFAULT '{}',
    UNIQUE (domain_id, name)
);

CREATE TABLE project_tags (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    PRIMARY KEY (project_id, tag)
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    domain_id           TEXT NOT NULL REFERENCES domains(id),
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    default_project_id  TEXT,
    password_hash       TEXT,
    password_created_at BIGINT,
    password_expires_at BIGINT,
    failed_auth_count   INTEGER NOT NULL DEFAULT 0,
    last_failed_auth_at BIGINT,
    options             TEXT NOT NULL DEFAULT '{}',
    extra               TEXT NOT NULL DEFAULT '{}',
    created_at          BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

-- Previous password hashes, for the "unique last N passwords" rule.
CREATE TABLE password_history (
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, created_at);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL REFERENCES domains(id),
    description TEXT NOT NULL DEFAULT '',
    extra       TEXT NOT NULL DEFAULT '{}',
    UNIQUE (domain_id, name)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

-- domain_id is '' for global roles so that the UNIQUE constraint holds on every database.
CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL DEFAULT '',
    description TEXT,
    options     TEXT NOT NULL DEFAULT '{}',
    extra       TEXT NOT NULL DEFAULT '{}',
    UNIQUE (domain_id, name)
);

CREATE TABLE implied_roles (
    prior_role_id   TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    implied_role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (prior_role_id, implied_role_id)
);

-- kind: UserProject, GroupProject, UserDomain, GroupDomain.
CREATE TABLE assignments (
    kind      TEXT NOT NULL,
    actor_id  TEXT NOT NULL,
    target_id TEXT NOT NULL,
    role_id   TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    inherited BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (kind, actor_id, target_id, role_id, inherited)
);
CREATE INDEX assignments_actor ON assignments(actor_id);
CREATE INDEX assignments_target ON assignments(target_id);

CREATE TABLE regions (
    id               TEXT PRIMARY KEY,
    description      TEXT NOT NULL DEFAULT '',
    parent_region_id TEXT REFERENCES regions(id),
    extra            TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE services (
    id      TEXT PRIMARY KEY,
    type    TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    extra   TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE endpoints (
    id         TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    interface  TEXT NOT NULL,
    region_id  TEXT REFERENCES regions(id),
    url        TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    extra      TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE application_credentials (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    description  TEXT,
    expires_at   BIGINT,
    unrestricted BOOLEAN NOT NULL DEFAULT FALSE,
    roles        TEXT NOT NULL DEFAULT '[]',
    UNIQUE (user_id, name)
);

CREATE TABLE credentials (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    project_id TEXT,
    type       TEXT NOT NULL,
    blob       TEXT NOT NULL,
    extra      TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE policies (
    id    TEXT PRIMARY KEY,
    type  TEXT NOT NULL,
    blob  TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
);

-- A token matching every non-null field and issued at or before issued_before is revoked.
CREATE TABLE revocation_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT,
    project_id    TEXT,
    domain_id     TEXT,
    audit_id      TEXT,
    issued_before BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
