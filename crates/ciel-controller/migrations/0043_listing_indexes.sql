-- Listings read their pages from indexes. Servers page newest first (created_at DESC, id),
-- all projects' or one project's, continuing after the last one seen: both orders come from
-- an index instead of a sort of the table (the project index is the prefix of the new one).
DROP INDEX servers_project;
CREATE INDEX servers_project_created ON servers (project_id, created_at DESC, id);
CREATE INDEX servers_created ON servers (created_at DESC, id);
-- A page's servers' groups (detail views from 2.71).
CREATE INDEX server_group_members_server ON server_group_members (server_id);
-- A project's ports (a device's and a network's ports have indexes already).
CREATE INDEX ports_project ON ports (project_id);
