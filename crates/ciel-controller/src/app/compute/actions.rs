//! Server actions: the power requests (desired state for the agent), lock/unlock, and the
//! instance-action record every request leaves under its request id.

use super::params::actions::{RebootType, ResetState};
use crate::app::identity::caller::Caller;
use crate::app::policy::{in_project, may_write};
use crate::app::App;
use crate::db::compute::instance_actions::{self as db_actions, InstanceAction};
use crate::db::compute::server_states::{DesiredPower, TaskState, VmState};
use crate::db::compute::servers::{self as db, Server};
use crate::db::Tx;
use crate::error::{Error, Result};

/// Whether a change is refused while the server is locked (Nova: most actions are; renaming
/// and tagging are not).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    Lock,
    IgnoreLock,
}

/// Records that `request_id` did `action` on `s`.
pub async fn record(
    tx: &mut Tx<'_>,
    caller: &Caller,
    s: &Server,
    action: &str,
    request_id: &str,
    now: i64,
) -> Result<()> {
    db_actions::insert(
        &mut **tx,
        &InstanceAction {
            request_id: request_id.to_string(),
            server_id: s.id.to_string(),
            action: action.to_string(),
            project_id: s.project_id.to_string(),
            user_id: caller.user_id().to_string(),
            message: None,
            start_time: now,
            updated_at: now,
        },
    )
    .await
}

/// A locked server refuses `Guard::Lock` changes from everyone but admins (409).
fn check_lock(caller: &Caller, s: &Server, guard: Guard) -> Result<()> {
    if guard == Guard::Lock && s.locked_by.is_some() && !caller.is_admin() {
        return Err(Error::Conflict(format!("Instance {} is locked", s.id)));
    }
    Ok(())
}

/// The power actions of `POST /servers/{id}/action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    Stop,
    Start,
    Pause,
    Unpause,
    Suspend,
    Resume,
    /// Hard and soft reboots both restart the VM.
    Reboot(RebootType),
}

impl PowerAction {
    /// The action's name in the API (and in its errors).
    pub fn api_name(self) -> &'static str {
        match self {
            PowerAction::Stop => "os-stop",
            PowerAction::Start => "os-start",
            PowerAction::Pause => "pause",
            PowerAction::Unpause => "unpause",
            PowerAction::Suspend => "suspend",
            PowerAction::Resume => "resume",
            PowerAction::Reboot(_) => "reboot",
        }
    }
}

impl App {
    /// The server, for a change by `caller` (who must be allowed to write to its project).
    pub(super) async fn server_for_update(&self, caller: &Caller, id: &str, guard: Guard) -> Result<Server> {
        let s = self.get_server(caller, id).await?;
        if !may_write(caller, &s.project_id) {
            return Err(Error::forbidden());
        }
        check_lock(caller, &s, guard)?;
        Ok(s)
    }

    /// As `server_for_update`, read inside the transaction that will change it.
    pub(super) async fn server_for_update_in(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        id: &str,
        guard: Guard,
    ) -> Result<Server> {
        let s = match db::get(&mut **tx, id).await? {
            Some(s) if in_project(caller, &s.project_id) => s,
            _ => return Err(Error::not_found("instance", id)),
        };
        if !may_write(caller, &s.project_id) {
            return Err(Error::forbidden());
        }
        check_lock(caller, &s, guard)?;
        Ok(s)
    }

    /// Writes a changed server, records the action and tells its host, in one transaction.
    pub(super) async fn commit_server_change(
        &self,
        mut tx: Tx<'_>,
        caller: &Caller,
        s: &Server,
        action: &str,
        request_id: &str,
    ) -> Result<()> {
        db::update_state(&mut *tx, s).await?;
        record(&mut tx, caller, s, action, request_id, s.updated_at).await?;
        if let Some(h) = &s.host_id {
            tx.host_changed(h);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Power actions: the wanted power state (and for reboots a new boot serial) becomes the
    /// desired state; the task state shows the action until the agent reports it done.
    pub async fn server_power_action(
        &self,
        caller: &Caller,
        id: &str,
        action: PowerAction,
        request_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        let name = action.api_name();
        let conflict =
            |state: VmState| Error::Conflict(format!("Cannot '{name}' instance {id} while it is in vm_state {state}"));
        use PowerAction::*;
        let (want, task, recorded) = match (action, s.vm_state) {
            (Stop, VmState::Active) => (DesiredPower::Stopped, TaskState::PoweringOff, "stop"),
            (Start, VmState::Stopped) => (DesiredPower::Running, TaskState::PoweringOn, "start"),
            (Pause, VmState::Active) => (DesiredPower::Paused, TaskState::Pausing, "pause"),
            (Unpause, VmState::Paused) => (DesiredPower::Running, TaskState::Unpausing, "unpause"),
            (Suspend, VmState::Active) => (DesiredPower::Suspended, TaskState::Suspending, "suspend"),
            (Resume, VmState::Suspended) => (DesiredPower::Running, TaskState::Resuming, "resume"),
            (Reboot(_), VmState::Active | VmState::Stopped) => (DesiredPower::Running, TaskState::Rebooting, "reboot"),
            // Nova hard-reboots a suspended server (its saved state is discarded), never
            // soft-reboots one.
            (Reboot(RebootType::Hard), VmState::Suspended) => (DesiredPower::Running, TaskState::Rebooting, "reboot"),
            (_, state) => return Err(conflict(state)),
        };
        if let Some(t) = &s.task_state {
            return Err(Error::Conflict(format!(
                "Cannot '{name}' instance {id} while it is in task_state {t}"
            )));
        }
        s.desired_power = want;
        s.task_state = Some(task);
        if matches!(action, Reboot(_)) {
            s.boot_serial += 1;
        }
        s.updated_at = crate::db::now();
        self.commit_server_change(tx, caller, &s, recorded, request_id).await
    }

    /// `os-resetState` (admin): sets the recorded state without touching the VM, as Nova
    /// does, to get a server out of a stuck state.
    pub async fn reset_server_state(
        &self,
        caller: &Caller,
        id: &str,
        req: &ResetState,
        request_id: &str,
    ) -> Result<()> {
        caller.require_admin()?;
        let state = match req.state.as_str() {
            "active" => VmState::Active,
            "error" => VmState::Error,
            other => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute state. Value: {other}."
                )))
            }
        };
        let mut tx = self.begin().await?;
        let mut s = self
            .server_for_update_in(&mut tx, caller, id, Guard::IgnoreLock)
            .await?;
        s.vm_state = state;
        s.task_state = None;
        s.updated_at = crate::db::now();
        self.commit_server_change(tx, caller, &s, "resetState", request_id)
            .await
    }

    /// Locks (owner or admin) or unlocks the server. A lock set by an admin can only be
    /// lifted by an admin.
    pub async fn lock_server(
        &self,
        caller: &Caller,
        id: &str,
        lock: bool,
        reason: Option<String>,
        request_id: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut s = self
            .server_for_update_in(&mut tx, caller, id, Guard::IgnoreLock)
            .await?;
        if lock {
            s.locked_by = Some(if caller.is_admin() && caller.project_id() != Some(&s.project_id) {
                "admin".into()
            } else {
                "owner".into()
            });
            s.locked_reason = reason;
        } else {
            if s.locked_by.as_deref() == Some("admin") && !caller.is_admin() {
                return Err(Error::forbidden());
            }
            s.locked_by = None;
            s.locked_reason = None;
        }
        s.updated_at = crate::db::now();
        let action = if lock { "lock" } else { "unlock" };
        self.commit_server_change(tx, caller, &s, action, request_id).await
    }

    /// The actions recorded on a server, newest first; with `deleted_too` (2.21) also those
    /// of a deleted server of the caller's project (the record outlives the server).
    pub async fn instance_actions(&self, caller: &Caller, id: &str, deleted_too: bool) -> Result<Vec<InstanceAction>> {
        match self.get_server(caller, id).await {
            Ok(s) => db_actions::list(&self.db, &s.id).await,
            Err(Error::NotFound { .. }) if deleted_too => {
                let actions = db_actions::list(&self.db, id).await?;
                match actions.first() {
                    Some(a) if in_project(caller, &a.project_id) && db::get(&self.db, id).await?.is_none() => {
                        Ok(actions)
                    }
                    _ => Err(Error::not_found("instance", id)),
                }
            }
            Err(e) => Err(e),
        }
    }

    pub async fn instance_action(
        &self,
        caller: &Caller,
        id: &str,
        request_id: &str,
        deleted_too: bool,
    ) -> Result<InstanceAction> {
        self.instance_actions(caller, id, deleted_too)
            .await?
            .into_iter()
            .find(|a| a.request_id == request_id)
            .ok_or_else(|| Error::not_found("action", request_id))
    }
}
