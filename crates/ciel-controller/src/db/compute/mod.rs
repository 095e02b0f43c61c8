//! Compute: flavors, key pairs.

pub mod flavors;
pub mod keypairs;
