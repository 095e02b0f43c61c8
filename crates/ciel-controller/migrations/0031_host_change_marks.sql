-- The cluster's hosts counter value of the commit that last changed each host's desired
-- state: another controller wakes only the long polls of hosts marked after what it saw.
ALTER TABLE hosts ADD COLUMN changed_mark BIGINT NOT NULL DEFAULT 0;
CREATE INDEX hosts_changed_mark ON hosts(changed_mark);
