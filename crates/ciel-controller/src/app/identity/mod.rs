//! Identity service (Keystone v3) logic.

pub mod assignments;
pub mod auth;
pub mod bootstrap;
pub mod caller;
pub mod catalog;
pub mod credentials;
pub mod domains;
pub mod groups;
pub mod params;
pub mod passwords;
pub mod projects;
pub mod roles;
pub mod tokens;
pub mod users;

/// A new Keystone-style id: 32 lowercase hex characters.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
