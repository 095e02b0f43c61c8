//! Compute service (Nova v2.1) domain logic: flavors and key pairs so far.

pub mod flavors;
pub mod keypairs;
