//! The one error type of the controller. Each OpenStack service maps it to its own error
//! body exactly once (see `http::<service>::error`).

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or violates a rule (400).
    #[error("{0}")]
    BadRequest(String),
    /// Authentication is missing or failed (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist or is not visible to the caller (404).
    #[error("Could not find {kind}: {id}.")]
    NotFound { kind: &'static str, id: String },
    /// Conflicts with existing state, e.g. a duplicate name (409).
    #[error("{0}")]
    Conflict(String),
    /// A failure a service names with its own type, e.g. Neutron's `IpAddressGenerationFailure`.
    #[error("{message}")]
    Typed {
        status: u16,
        kind: &'static str,
        message: String,
    },
    /// The request body is larger than allowed (413).
    #[error("{0}")]
    RequestTooLarge(String),
    /// The method is not valid for this resource (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The database is unreachable, failing over or asked for a retry (503): the request
    /// may be sent again.
    #[error("{0}")]
    Unavailable(String),
    /// Something broke on our side (500); details stay in the logs.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn not_found(kind: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Error::BadRequest(msg.into())
    }
    pub fn forbidden() -> Self {
        Error::Forbidden("You are not authorized to perform the requested action.".into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Error::Conflict(msg.into())
    }
    /// HTTP status code this error maps to in every OpenStack service.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Unauthorized(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound { .. } => 404,
            Error::MethodNotAllowed(_) => 405,
            Error::Conflict(_) => 409,
            Error::RequestTooLarge(_) => 413,
            Error::Typed { status, .. } => *status,
            Error::Unavailable(_) => 503,
            Error::Internal(_) => 500,
        }
    }
}

/// Database errors that end when the database is back or the transaction is tried again:
/// lost connections, a failover (a standby refusing writes, an administrator shutdown),
/// serialization failures and deadlocks.
fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            ["40001", "40P01", "57P01", "57P02", "57P03", "25006"].contains(&c.as_ref()) || c.starts_with("08")
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if transient(&e) {
            if let sqlx::Error::Database(db) = &e {
                if db
                    .code()
                    .is_some_and(|c| crate::db::contention::RACE_CODES.contains(&c.as_ref()))
                {
                    crate::db::contention::note();
                }
            }
            tracing::warn!(error = %e, "database unavailable; the request may be retried");
            return Error::Unavailable("The service is temporarily unavailable; retry the request.".into());
        }
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return Error::Conflict("Conflict occurred attempting to store the resource: duplicate entry.".into());
            }
            if db.is_foreign_key_violation() {
                return Error::BadRequest("A referenced resource does not exist.".into());
            }
        }
        tracing::error!(error = %e, "database error");
        Error::Internal(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        tracing::error!(error = %e, "io error");
        Error::Internal(e.to_string())
    }
}
