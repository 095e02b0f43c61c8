-- Port, image and volume listings read a page from an index in their default order and
-- continue after the last row seen: ports by id (Neutron's order; a project's ports from its
-- own index), images and volumes newest first (Glance's and Cinder's order).
DROP INDEX ports_project;
CREATE INDEX ports_project_id ON ports (project_id, id);
CREATE INDEX images_created ON images (created_at DESC, id DESC);
DROP INDEX volumes_project;
CREATE INDEX volumes_project_created ON volumes (project_id, created_at DESC, id DESC);
CREATE INDEX volumes_created ON volumes (created_at DESC, id DESC);
