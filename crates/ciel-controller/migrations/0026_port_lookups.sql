-- Lookups the data plane makes on every agent report and metadata request: a server's ports,
-- and the port holding an address on a network.
CREATE INDEX ports_device ON ports(device_id);
CREATE INDEX ip_allocations_network_address ON ip_allocations(network_id, ip_address);
