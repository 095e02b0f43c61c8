//! Controller settings. Every field can come from the TOML config file or a CLI flag
//! (the `ciel` binary merges both); defaults are what a fresh all-in-one wants.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Identity (Keystone) behaviour, including Keystone's `[security_compliance]` options.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// Token lifetime in seconds (Keystone `[token] expiration`).
    pub token_expiration: i64,
    /// Failed password attempts before the account locks; 0 disables lockout.
    pub lockout_failure_attempts: u32,
    /// Seconds an account stays locked.
    pub lockout_duration: i64,
    /// A new password must differ from the last N (0 or 1 disables the history check).
    pub unique_last_password_count: u32,
    /// Days before a user may change their password again.
    pub minimum_password_age: i64,
    /// Days a password stays valid; 0 means passwords never expire.
    pub password_expires_days: i64,
    /// Number of token keys kept in the key repository (primary + secondaries + staged).
    pub max_active_keys: usize,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            token_expiration: 3600,
            lockout_failure_attempts: 2,
            lockout_duration: 5,
            unique_last_password_count: 2,
            minimum_password_age: 0,
            password_expires_days: 0,
            max_active_keys: 3,
        }
    }
}

/// Everything the controller needs to start.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Base URL clients use to reach this controller (catalog endpoints, links).
    pub public_url: String,
    pub region: String,
    /// Admin password for the first start; generated when absent.
    pub admin_password: Option<String>,
    pub identity: IdentityConfig,
}

impl ControllerConfig {
    pub fn new(data_dir: PathBuf, listen: SocketAddr) -> Self {
        let public_url = default_public_url(listen);
        Self {
            data_dir,
            listen,
            public_url,
            region: "RegionOne".into(),
            admin_password: None,
            identity: IdentityConfig::default(),
        }
    }
}

/// `http://<listen>` unless listening on all addresses, where loopback is the only safe guess.
pub fn default_public_url(listen: SocketAddr) -> String {
    if listen.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", listen.port())
    } else {
        format!("http://{listen}")
    }
}
