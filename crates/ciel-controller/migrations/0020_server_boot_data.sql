-- What a server's first boot is configured with beyond its image and flavor: whether it gets
-- a config drive, and its index among the servers of one multiple-create request (EC2's
-- ami-launch-index in the metadata).
ALTER TABLE servers ADD COLUMN config_drive BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE servers ADD COLUMN launch_index INTEGER NOT NULL DEFAULT 0;
