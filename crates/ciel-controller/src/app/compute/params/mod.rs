//! Typed request bodies of Nova's servers: `POST /servers` ([`CreateServer`]) and
//! `POST /servers/{id}/action` ([`ServerAction`]). Each type is checked once, where it is
//! built from the request's JSON, with the texts and status codes Nova answers (Tempest and
//! tests/cli check some); the `App` methods take these types. Where a microversion changes
//! the schema, `at_microversion(body, minor)` (the `Y` of `2.Y`) checks that version's rules.

pub mod actions;
pub mod create;

pub use actions::{ActionError, ServerAction};
pub use create::{AvailabilityZone, CreateServer, NicRequest, SchedulerHints};

use serde_json::{Map, Value};

/// A request body (or the object under its resource key).
type Body = Map<String, Value>;
