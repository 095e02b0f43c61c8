//! A server's recorded states, as Nova names and stores them: `vm_state` (what the server
//! is), `task_state` (what is being done to it) and the power the user asked for.

use crate::db::text_enum::text_enum;

text_enum! {
    /// Nova's `vm_state`.
    pub enum VmState {
        Building = "building",
        Active = "active",
        Paused = "paused",
        Stopped = "stopped",
        /// Suspended: the guest's state is saved on its host and no QEMU runs.
        Suspended = "suspended",
        /// A resize converged and waits for the user's confirm or revert.
        Resized = "resized",
        Error = "error",
    }
}

text_enum! {
    /// Nova's `task_state`: the action in progress (none when the server is settled).
    pub enum TaskState {
        Spawning = "spawning",
        PoweringOff = "powering-off",
        PoweringOn = "powering-on",
        Pausing = "pausing",
        Unpausing = "unpausing",
        Suspending = "suspending",
        Resuming = "resuming",
        Rebooting = "rebooting",
        RebootingHard = "rebooting_hard",
        Rebuilding = "rebuilding",
        ResizePrep = "resize_prep",
        /// A cold migration moves the server: its hosts' reports steer it, not its state.
        ResizeMigrating = "resize_migrating",
        ResizeReverting = "resize_reverting",
        ImageSnapshot = "image_snapshot",
        Migrating = "migrating",
    }
}

text_enum! {
    /// The power state the user asked for: the VM's desired state on its host.
    pub enum DesiredPower {
        Running = "running",
        Paused = "paused",
        Stopped = "stopped",
        Suspended = "suspended",
    }
}

impl DesiredPower {
    pub fn to_proto(self) -> ciel_proto::PowerState {
        match self {
            DesiredPower::Running => ciel_proto::PowerState::Running,
            DesiredPower::Paused => ciel_proto::PowerState::Paused,
            DesiredPower::Stopped => ciel_proto::PowerState::Stopped,
            DesiredPower::Suspended => ciel_proto::PowerState::Suspended,
        }
    }
}
