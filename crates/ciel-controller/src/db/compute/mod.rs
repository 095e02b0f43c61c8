//! Compute: flavors, key pairs, hosts, servers.

pub mod aggregates;
pub mod console_tokens;
pub mod created_ports;
pub mod flavors;
pub mod hosts;
pub mod instance_actions;
pub mod keypairs;
pub mod migrations;
pub mod quota_classes;
pub mod server_groups;
pub mod server_pages;
pub mod server_states;
pub mod server_tags;
pub mod servers;
