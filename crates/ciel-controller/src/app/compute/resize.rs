//! Rebuild and resize as desired-state changes. Rebuild gives the server a new image and
//! bumps its rebuild serial (the agent recreates the disk and boots it); resize swaps the
//! flavor, keeping the old one until the user confirms (drop it) or reverts (restore it);
//! the agent restarts the VM whenever its vCPUs or memory differ from the spec.

use super::actions::Guard;
use super::params::actions::{Rebuild, Resize};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::server_states::{DesiredPower, TaskState, VmState};
use crate::db::compute::servers::Server;
use crate::db::image::ImageStatus;
use crate::error::{Error, Result};

fn state_conflict(action: &str, s: &Server) -> Error {
    match &s.task_state {
        Some(t) => Error::Conflict(format!(
            "Cannot '{action}' instance {} while it is in task_state {t}",
            s.id
        )),
        None => Error::Conflict(format!(
            "Cannot '{action}' instance {} while it is in vm_state {}",
            s.id, s.vm_state
        )),
    }
}

impl App {
    /// Rebuilds the server from `image_ref` (same id, fresh disk); optionally renames it and
    /// replaces its metadata.
    pub async fn rebuild_server(&self, caller: &Caller, id: &str, req: &Rebuild, request_id: &str) -> Result<Server> {
        let image_ref = req.image_ref.as_str();
        let image_id = image_ref.rsplit('/').next().unwrap_or_default().to_string();
        let image = self
            .get_image(caller, &image_id)
            .await
            .map_err(|_| Error::bad_request(format!("Can not find requested image {image_ref}")))?;
        if image.status != ImageStatus::Active {
            return Err(Error::bad_request(format!("Image {} is not active.", image.id)));
        }
        let metadata = req.metadata.clone().map(super::server_meta::validate).transpose()?;
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        if !matches!(s.vm_state, VmState::Active | VmState::Stopped | VmState::Error) || s.task_state.is_some() {
            return Err(state_conflict("rebuild", &s));
        }
        s.image_id = image.id;
        if let Some(n) = &req.name {
            s.name = n.clone();
        }
        if let Some(m) = metadata {
            s.metadata = serde_json::Value::Object(m).to_string();
        }
        s.rebuild_serial += 1;
        s.boot_serial += 1;
        // A stopped server stays stopped (its disk is still rebuilt); an errored one boots.
        if s.vm_state == VmState::Error {
            s.vm_state = VmState::Active;
            s.desired_power = DesiredPower::Running;
        }
        s.task_state = Some(TaskState::Rebuilding);
        s.updated_at = crate::db::now();
        self.commit_server_change(tx, caller, &s, "rebuild", request_id).await?;
        Ok(s)
    }

    /// Resizes to another flavor; the server shows VERIFY_RESIZE once the agent runs it so.
    pub async fn resize_server(&self, caller: &Caller, id: &str, req: &Resize, request_id: &str) -> Result<()> {
        let flavor_ref = req.flavor_ref.as_str();
        let flavor_id = flavor_ref.rsplit('/').next().unwrap_or_default();
        if flavor_id.is_empty() {
            return Err(Error::bad_request("Invalid input for field/attribute flavorRef."));
        }
        let flavor = self
            .get_flavor(caller, flavor_id)
            .await
            .map_err(|_| Error::bad_request(format!("Flavor {flavor_ref} could not be found.")))?;
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        if !matches!(s.vm_state, VmState::Active | VmState::Stopped) || s.task_state.is_some() {
            return Err(state_conflict("resize", &s));
        }
        if flavor.id == s.flavor_id {
            return Err(Error::bad_request("When resizing, instances must change flavor!"));
        }
        if flavor.disk > 0 && flavor.disk < s.root_gb {
            return Err(Error::bad_request("Resize error: Unable to resize disk down."));
        }
        // The growth must fit the project's quota, as a new server would.
        let limits = super::quotas::limits_in(&mut tx, &s.project_id).await?;
        let (_, cores, ram) = crate::db::compute::servers::usage_for_project(&mut *tx, &s.project_id).await?;
        for (resource, used, delta) in [
            ("cores", cores, flavor.vcpus - s.vcpus),
            ("ram", ram, flavor.ram - s.memory_mb),
        ] {
            let limit = limits.get(resource).copied().unwrap_or(-1);
            if delta > 0 && limit >= 0 && used + delta > limit {
                return Err(Error::Typed {
                    status: 403,
                    kind: "forbidden",
                    message: format!("Quota exceeded for {resource}: Requested {delta}, but already used {used} of {limit} {resource}"),
                });
            }
        }
        s.old_flavor_id = Some(std::mem::replace(&mut s.flavor_id, flavor.id.clone()));
        s.old_vcpus = Some(std::mem::replace(&mut s.vcpus, flavor.vcpus));
        s.old_memory_mb = Some(std::mem::replace(&mut s.memory_mb, flavor.ram));
        let disk = flavor.disk.max(s.root_gb);
        s.old_root_gb = Some(std::mem::replace(&mut s.root_gb, disk));
        s.task_state = Some(TaskState::ResizePrep);
        s.boot_serial += 1;
        s.updated_at = crate::db::now();
        self.record_resize(&mut tx, caller, &s, &flavor.id).await?;
        self.commit_server_change(tx, caller, &s, "resize", request_id).await
    }

    /// Keeps the new flavor: nothing changes on the host.
    pub async fn confirm_resize(&self, caller: &Caller, id: &str, request_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        if s.vm_state != VmState::Resized || s.task_state.is_some() {
            return Err(state_conflict("confirmResize", &s));
        }
        s.vm_state = if s.desired_power == DesiredPower::Stopped {
            VmState::Stopped
        } else {
            VmState::Active
        };
        s.old_flavor_id = None;
        s.old_vcpus = None;
        s.old_memory_mb = None;
        s.old_root_gb = None;
        s.updated_at = crate::db::now();
        self.confirm_move(&mut tx, &s).await?;
        self.commit_server_change(tx, caller, &s, "confirmResize", request_id)
            .await
    }

    /// Goes back to the old flavor: the agent restarts the VM with it.
    pub async fn revert_resize(&self, caller: &Caller, id: &str, request_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut s = self.server_for_update_in(&mut tx, caller, id, Guard::Lock).await?;
        if s.vm_state != VmState::Resized || s.task_state.is_some() {
            return Err(state_conflict("revertResize", &s));
        }
        if let (Some(f), Some(c), Some(m), Some(d)) = (
            s.old_flavor_id.take(),
            s.old_vcpus.take(),
            s.old_memory_mb.take(),
            s.old_root_gb.take(),
        ) {
            s.flavor_id = f;
            s.vcpus = c;
            s.memory_mb = m;
            s.root_gb = d;
        }
        s.task_state = Some(TaskState::ResizeReverting);
        s.boot_serial += 1;
        s.updated_at = crate::db::now();
        self.revert_move(&mut tx, &mut s).await?;
        self.commit_server_change(tx, caller, &s, "revertResize", request_id)
            .await
    }
}
