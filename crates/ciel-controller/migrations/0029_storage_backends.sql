-- Storage backends: which ones each host offers, and which one holds each volume
-- (picked by its volume type's `volume_backend_name`).
ALTER TABLE hosts ADD COLUMN storage_backends TEXT NOT NULL DEFAULT '["file"]';
ALTER TABLE volumes ADD COLUMN backend TEXT NOT NULL DEFAULT 'file';
