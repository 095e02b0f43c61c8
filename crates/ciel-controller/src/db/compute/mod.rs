//! Compute: flavors, key pairs, hosts, servers.

pub mod created_ports;
pub mod flavors;
pub mod hosts;
pub mod keypairs;
pub mod servers;
