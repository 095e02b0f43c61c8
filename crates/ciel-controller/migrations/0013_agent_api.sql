-- Where the controller reaches a host's agent (console logs), and the secret it presents there.
ALTER TABLE hosts ADD COLUMN agent_url TEXT;
ALTER TABLE hosts ADD COLUMN agent_secret TEXT NOT NULL DEFAULT '';
