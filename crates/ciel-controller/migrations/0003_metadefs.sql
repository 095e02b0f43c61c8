-- Glance metadata definitions catalog ("metadefs"): namespaces of property, object and tag
-- definitions, associated with the resource types they apply to. Names are the API keys;
-- a namespace has a surrogate id so it can be renamed without touching its contents.

CREATE TABLE metadef_namespaces (
    id           TEXT PRIMARY KEY,
    namespace    TEXT NOT NULL UNIQUE,
    display_name TEXT,
    description  TEXT,
    visibility   TEXT NOT NULL,
    protected    BOOLEAN NOT NULL DEFAULT FALSE,
    owner        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX metadef_namespaces_owner ON metadef_namespaces(owner);

CREATE TABLE metadef_objects (
    namespace_id TEXT NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT,
    -- JSON array of required property names.
    required     TEXT NOT NULL DEFAULT '[]',
    -- JSON object: property name -> property definition.
    properties   TEXT NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);

CREATE TABLE metadef_properties (
    namespace_id TEXT NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- JSON object: the property definition (JSON-schema-like), without its name.
    definition   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);

CREATE TABLE metadef_tags (
    namespace_id TEXT NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);

CREATE TABLE metadef_resource_types (
    name       TEXT PRIMARY KEY,
    protected  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE metadef_namespace_resource_types (
    namespace_id      TEXT NOT NULL REFERENCES metadef_namespaces(id) ON DELETE CASCADE,
    resource_type     TEXT NOT NULL REFERENCES metadef_resource_types(name),
    prefix            TEXT,
    properties_target TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, resource_type)
);
CREATE INDEX metadef_ns_resource_types_type ON metadef_namespace_resource_types(resource_type);

-- The resource types Glance's shipped definitions (etc/metadefs) associate with.
INSERT INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES
    ('OS::Glance::Image', TRUE, 1795316821, 1795316821),
    ('OS::Cinder::Volume', TRUE, 1795316821, 1795316821),
    ('OS::Nova::Flavor', TRUE, 1795316821, 1795316821),
    ('OS::Nova::Aggregate', TRUE, 1795316821, 1795316821),
    ('OS::Nova::Server', TRUE, 1795316821, 1795316821),
    ('OS::Trove::Instance', TRUE, 1795316821, 1795316821);
