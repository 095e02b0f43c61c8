-- A volume type's encryption (Cinder's `/types/{id}/encryption`): at most one per type.
-- Ciel has no key manager yet, so volumes of an encrypted type are refused rather than
-- made unencrypted; the specs are kept for the operators' tools and for when it has one.
CREATE TABLE volume_type_encryption (
    volume_type_id   TEXT PRIMARY KEY,
    encryption_id    TEXT NOT NULL UNIQUE,
    provider         TEXT NOT NULL,
    cipher           TEXT,
    key_size         BIGINT,
    control_location TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT
);
