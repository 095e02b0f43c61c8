-- Tags on network resources (standard-attr-tag). Resource ids are UUIDs, unique across kinds;
-- the kind is kept so a tag listing never mixes kinds.
CREATE TABLE network_tags (
    resource_kind TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    tag           TEXT NOT NULL,
    PRIMARY KEY (resource_id, tag)
);

-- Tags go with their resource.
CREATE TRIGGER networks_untag AFTER DELETE ON networks BEGIN
    DELETE FROM network_tags WHERE resource_id = OLD.id;
END;
CREATE TRIGGER subnets_untag AFTER DELETE ON subnets BEGIN
    DELETE FROM network_tags WHERE resource_id = OLD.id;
END;
CREATE TRIGGER ports_untag AFTER DELETE ON ports BEGIN
    DELETE FROM network_tags WHERE resource_id = OLD.id;
END;
CREATE TRIGGER routers_untag AFTER DELETE ON routers BEGIN
    DELETE FROM network_tags WHERE resource_id = OLD.id;
END;
CREATE TRIGGER floating_ips_untag AFTER DELETE ON floating_ips BEGIN
    DELETE FROM network_tags WHERE resource_id = OLD.id;
END;
CREATE TRIGGER security_groups_untag AFTER DELETE ON security_groups BEGIN
    DELETE FROM network_tags WHERE resource_id = OLD.id;
END;
