-- Ceph RBD: where a host puts root disks made from images (`file` or `rbd`), and where
-- each server's root disk went (chosen from its host at placement; a host whose setting
-- changes later keeps its servers' disks where they are).
ALTER TABLE hosts ADD COLUMN images_type TEXT NOT NULL DEFAULT 'file';
ALTER TABLE servers ADD COLUMN root_backend TEXT NOT NULL DEFAULT 'file';
