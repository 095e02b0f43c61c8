//! Nova's API status, derived from the (vm_state, task_state) pair.

use crate::db::compute::servers::Server;

pub fn api_status(s: &Server) -> &'static str {
    match (s.vm_state.as_str(), s.task_state.as_deref()) {
        ("building", _) => "BUILD",
        (_, Some("rebuilding")) => "REBUILD",
        (_, Some("resize_prep")) => "RESIZE",
        ("resized", Some("resize_reverting")) => "REVERT_RESIZE",
        ("resized", _) => "VERIFY_RESIZE",
        ("active", Some("rebooting_hard")) => "HARD_REBOOT",
        ("active", Some("rebooting")) => "REBOOT",
        ("active", _) => "ACTIVE",
        ("stopped", _) => "SHUTOFF",
        ("paused", _) => "PAUSED",
        ("error", _) => "ERROR",
        _ => "UNKNOWN",
    }
}
