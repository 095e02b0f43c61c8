//! Compute service (Nova v2.1) domain logic.

pub mod consoles;
pub mod flavors;
pub mod host_network;
pub mod hosts;
pub mod interfaces;
pub mod keypairs;
pub mod metadata;
pub mod quotas;
pub mod scheduler;
pub mod servers;
