-- Load balancer flavors and availability zones (Octavia v2.6 and v2.14): what an operator
-- offers, each through a profile that holds the provider's options as the JSON text the
-- API echoes verbatim. A load balancer names its flavor (by id) and zone (by name).
CREATE TABLE lb_flavor_profiles (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    flavor_data   TEXT NOT NULL
);

CREATE TABLE lb_flavors (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    description       TEXT NOT NULL DEFAULT '',
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    flavor_profile_id TEXT NOT NULL REFERENCES lb_flavor_profiles(id)
);
CREATE INDEX lb_flavors_profile ON lb_flavors(flavor_profile_id);

CREATE TABLE lb_az_profiles (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    provider_name          TEXT NOT NULL,
    availability_zone_data TEXT NOT NULL
);

CREATE TABLE lb_availability_zones (
    name                         TEXT PRIMARY KEY,
    description                  TEXT NOT NULL DEFAULT '',
    enabled                      BOOLEAN NOT NULL DEFAULT TRUE,
    availability_zone_profile_id TEXT NOT NULL REFERENCES lb_az_profiles(id)
);
CREATE INDEX lb_availability_zones_profile ON lb_availability_zones(availability_zone_profile_id);
