-- Physical networks a host has an interface on (JSON list): hosts with the external
-- network's physical network run routers (network nodes).
ALTER TABLE hosts ADD COLUMN provider_networks TEXT NOT NULL DEFAULT '[]';
