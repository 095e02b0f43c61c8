//! Nova's API status, derived from the (vm_state, task_state) pair.

use crate::db::compute::server_states::{TaskState, VmState};
use crate::db::compute::servers::Server;
use crate::db::text_enum::text_enum;

text_enum! {
    /// The `status` Nova shows for a server.
    pub enum ApiStatus {
        Build = "BUILD",
        Rebuild = "REBUILD",
        Resize = "RESIZE",
        RevertResize = "REVERT_RESIZE",
        VerifyResize = "VERIFY_RESIZE",
        HardReboot = "HARD_REBOOT",
        Reboot = "REBOOT",
        Active = "ACTIVE",
        Shutoff = "SHUTOFF",
        Paused = "PAUSED",
        Suspended = "SUSPENDED",
        Error = "ERROR",
    }
}

impl ApiStatus {
    /// Nova shows `progress` only while a server is (or may be) moving.
    pub fn shows_progress(self) -> bool {
        use ApiStatus::*;
        matches!(self, Active | Build | Rebuild | Resize | VerifyResize)
    }
}

pub fn api_status(s: &Server) -> ApiStatus {
    use TaskState::*;
    match (s.vm_state, s.task_state) {
        (VmState::Building, _) => ApiStatus::Build,
        (_, Some(Rebuilding)) => ApiStatus::Rebuild,
        (_, Some(ResizePrep | ResizeMigrating)) => ApiStatus::Resize,
        (VmState::Resized, Some(ResizeReverting)) => ApiStatus::RevertResize,
        (VmState::Resized, _) => ApiStatus::VerifyResize,
        (VmState::Active, Some(RebootingHard)) => ApiStatus::HardReboot,
        (VmState::Active, Some(Rebooting)) => ApiStatus::Reboot,
        (VmState::Active, _) => ApiStatus::Active,
        (VmState::Stopped, _) => ApiStatus::Shutoff,
        (VmState::Paused, _) => ApiStatus::Paused,
        (VmState::Suspended, _) => ApiStatus::Suspended,
        (VmState::Error, _) => ApiStatus::Error,
    }
}
