//! Identity datastore: one module per Keystone resource.

pub mod assignments;
pub mod catalog;
pub mod credentials;
pub mod domains;
pub mod groups;
pub mod projects;
pub mod revocations;
pub mod roles;
pub mod users;
