//! Compute service (Nova v2.1) domain logic.

pub mod actions;
pub mod aggregates;
pub mod consoles;
pub mod flavors;
pub mod floating_ips;
pub mod host_firewall;
pub mod host_network;
pub mod hosts;
pub mod image_meta;
pub mod images;
pub mod interfaces;
pub mod keypairs;
pub mod metadata;
pub mod networks;
pub mod os_hosts;
pub mod quotas;
pub mod resize;
pub mod scheduler;
pub mod security_groups;
pub mod server_groups;
pub mod server_list;
pub mod server_meta;
pub mod servers;
pub mod snapshots;
pub mod status;
pub mod usage;
