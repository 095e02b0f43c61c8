-- Cinder's user messages (`/messages`, 3.3+): why an asynchronous request failed, for the
-- project that made it (a volume no backend can hold, an extension the host refused). The
-- event id and text are derived from the three codes; rows expire after `expires_at`.
CREATE TABLE volume_messages (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_uuid TEXT,
    action_id     TEXT NOT NULL,
    detail_id     TEXT NOT NULL,
    message_level TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX volume_messages_by_project ON volume_messages (project_id, created_at);
