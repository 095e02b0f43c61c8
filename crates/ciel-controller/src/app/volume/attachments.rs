//! Attaching volumes to servers (Nova's `os-volume_attachments`): the volume goes
//! `attaching` and its attachment is written in one transaction with a bump of the server's
//! host; the VM's report moves it to `in-use` once the guest has the disk. Detaching is the
//! mirror image, back to `available`.

use super::params::Bookkeeping;
use super::visible;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::server_states::VmState;
use crate::db::volume::{self as db, Attachment, AttachmentStatus, VolumeStatus};
use crate::error::{Error, Result};

impl App {
    pub async fn attach_volume(
        &self,
        caller: &Caller,
        server_id: &str,
        volume_id: &str,
        device: Option<String>,
    ) -> Result<Attachment> {
        let s = self.get_server(caller, server_id).await?;
        if !crate::app::policy::may_write(caller, &s.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        let mut v = visible(caller, db::get(&mut *tx, volume_id).await?, volume_id)
            .map_err(|_| Error::not_found("volume", volume_id))?;
        if !matches!(s.vm_state, VmState::Active | VmState::Stopped | VmState::Paused) || s.task_state.is_some() {
            return Err(Error::Conflict(format!(
                "Cannot 'attach_volume' instance {server_id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        if v.status != VolumeStatus::Available {
            return Err(Error::bad_request(format!(
                "Invalid volume: volume {volume_id} status must be 'available'. Currently in '{}'",
                v.status
            )));
        }
        if super::types::is_shared(&v.backend) {
            let reaches = match &s.host_id {
                Some(h) => crate::db::compute::hosts::get(&mut *tx, h)
                    .await?
                    .is_some_and(|h| h.stores(&v.backend)),
                None => false,
            };
            if !reaches {
                return Err(Error::bad_request(format!(
                    "Volume {volume_id} is on the '{}' storage backend, which the hypervisor of server \
                     {server_id} does not reach.",
                    v.backend
                )));
            }
        } else if v.host_id.is_some() && v.host_id.as_deref() != s.host_id.as_deref() {
            return Err(Error::bad_request(format!(
                "Volume {volume_id} is stored on another hypervisor than server {server_id}; \
                 local volumes attach only to servers on their host."
            )));
        }
        let existing = db::attachments_of_server(&mut *tx, server_id).await?;
        let device = match device.filter(|d| !d.is_empty()) {
            Some(d) if !d.starts_with("/dev/") => {
                return Err(Error::bad_request(format!(
                    "The supplied device path ({d}) is invalid."
                )))
            }
            Some(d) if existing.iter().any(|a| a.device == d) => {
                return Err(Error::bad_request(format!("The supplied device path ({d}) is in use.")))
            }
            Some(d) => d,
            None => next_device(&existing, s.config_drive),
        };
        let now = crate::db::now();
        let a = Attachment {
            id: uuid::Uuid::new_v4().to_string(),
            volume_id: volume_id.to_string(),
            server_id: server_id.to_string(),
            device,
            status: AttachmentStatus::Attaching,
            boot_index: None,
            delete_on_termination: false,
            created_at: now,
        };
        db::insert_attachment(&mut *tx, &a).await?;
        v.status = VolumeStatus::Attaching;
        v.updated_at = Some(now);
        db::update(&mut *tx, &v).await?;
        if let Some(h) = &s.host_id {
            tx.host_changed(h);
        }
        tx.commit().await?;
        Ok(a)
    }

    pub async fn detach_volume(&self, caller: &Caller, server_id: &str, volume_id: &str) -> Result<()> {
        let s = self.get_server(caller, server_id).await?;
        if !crate::app::policy::may_write(caller, &s.project_id) {
            return Err(Error::forbidden());
        }
        let mut tx = self.begin().await?;
        let a = db::attachment_of(&mut *tx, volume_id)
            .await?
            .filter(|a| a.server_id == server_id)
            .ok_or_else(|| Error::not_found("volume attachment", volume_id))?;
        if a.status == AttachmentStatus::Detaching {
            return Ok(());
        }
        if a.boot_index == Some(0) {
            return Err(Error::bad_request(format!(
                "Can't detach root device volume {volume_id} of server {server_id}."
            )));
        }
        if let Some(mut v) = db::get(&mut *tx, volume_id).await? {
            if v.status != VolumeStatus::InUse && v.status != VolumeStatus::Attaching {
                return Err(Error::bad_request(format!(
                    "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach. Currently: status: '{}'",
                    v.status
                )));
            }
            v.status = VolumeStatus::Detaching;
            v.updated_at = Some(crate::db::now());
            db::update(&mut *tx, &v).await?;
        }
        db::set_attachment_status(&mut *tx, &a.id, AttachmentStatus::Detaching).await?;
        if let Some(h) = &s.host_id {
            tx.host_changed(h);
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn server_volume_attachments(&self, caller: &Caller, server_id: &str) -> Result<Vec<Attachment>> {
        self.get_server(caller, server_id).await?;
        db::attachments_of_server(&self.db, server_id).await
    }

    /// Cinder's own attach bookkeeping (`os-reserve` … `os-roll_detaching`), as status moves.
    pub async fn volume_bookkeeping(&self, caller: &Caller, id: &str, action: Bookkeeping) -> Result<()> {
        let (from, to) = match action {
            Bookkeeping::Reserve => (VolumeStatus::Available, VolumeStatus::Attaching),
            Bookkeeping::Unreserve => (VolumeStatus::Attaching, VolumeStatus::Available),
            Bookkeeping::BeginDetaching => (VolumeStatus::InUse, VolumeStatus::Detaching),
            Bookkeeping::RollDetaching => (VolumeStatus::Detaching, VolumeStatus::InUse),
        };
        let action = action.name();
        let mut tx = self.begin().await?;
        let mut v = self.volume_for_update(&mut tx, caller, id).await?;
        if v.status != from {
            return Err(Error::bad_request(format!(
                "Invalid volume: Volume status must be {from} to {action}, but current status is: {}.",
                v.status
            )));
        }
        if action == Bookkeeping::Unreserve.name() && db::attachment_of(&mut *tx, id).await?.is_some() {
            return Ok(());
        }
        v.status = to;
        v.updated_at = Some(crate::db::now());
        db::update(&mut *tx, &v).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `os-attach`: Cinder's way to record an attachment; in Ciel it attaches for real (the
    /// server's host hot-plugs the disk), like Nova's `os-volume_attachments`.
    pub async fn attach_volume_from_cinder(
        &self,
        caller: &Caller,
        id: &str,
        server: &str,
        device: Option<String>,
    ) -> Result<()> {
        let v = self.get_volume(caller, id).await?;
        if v.status == VolumeStatus::Attaching && db::attachment_of(&self.db, id).await?.is_none() {
            // Reserved first (os-reserve): back to available for the attach to take it.
            self.volume_bookkeeping(caller, id, Bookkeeping::Unreserve).await?;
        }
        self.attach_volume(caller, server, id, device)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                Error::NotFound { kind: "instance", id } => Error::bad_request(format!("Invalid instance {id}")),
                other => other,
            })
    }

    /// `os-detach`: detaches from whatever server has the volume. A volume attached to
    /// nothing is answered as Cinder does (202): an attach or detach it was left in is
    /// ended (`available`), anything else stays.
    pub async fn detach_volume_from_cinder(&self, caller: &Caller, id: &str) -> Result<()> {
        self.get_volume(caller, id).await?;
        match db::attachment_of(&self.db, id).await? {
            Some(a) => self.detach_volume(caller, &a.server_id, id).await,
            None => {
                let mut tx = self.begin().await?;
                let mut v = self.volume_for_update(&mut tx, caller, id).await?;
                if matches!(
                    v.status,
                    VolumeStatus::Attaching | VolumeStatus::Detaching | VolumeStatus::Reserved | VolumeStatus::InUse
                ) {
                    v.status = VolumeStatus::Available;
                    v.updated_at = Some(crate::db::now());
                    db::update(&mut *tx, &v).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// (volume id, delete_on_termination) of the volumes a server has.
    pub async fn volumes_attached(&self, server_id: &str) -> Result<Vec<(String, bool)>> {
        Ok(db::attachments_of_server(&self.db, server_id)
            .await?
            .into_iter()
            .map(|a| (a.volume_id, a.delete_on_termination))
            .collect())
    }

    /// The attachment of a volume the caller can see.
    pub async fn volume_attachment(&self, caller: &Caller, volume_id: &str) -> Result<Option<Attachment>> {
        self.get_volume(caller, volume_id).await?;
        db::attachment_of(&self.db, volume_id).await
    }

    /// Detaches every volume of a server being deleted, in the server's delete transaction:
    /// they become `available`, or are deleted when the server was booted with
    /// `delete_on_termination`.
    pub(crate) async fn release_server_volumes(tx: &mut crate::db::Tx<'_>, server_id: &str) -> Result<()> {
        for a in db::attachments_of_server(&mut **tx, server_id).await? {
            db::delete_attachment(&mut **tx, &a.id).await?;
            if let Some(mut v) = db::get(&mut **tx, &a.volume_id).await? {
                v.status = if a.delete_on_termination {
                    VolumeStatus::Deleting
                } else {
                    VolumeStatus::Available
                };
                v.updated_at = Some(crate::db::now());
                db::update(&mut **tx, &v).await?;
                if let Some(h) = &v.host_id {
                    tx.host_changed(h);
                }
            }
        }
        Ok(())
    }
}

/// The next virtio disk name after the root disk (vda), the config drive and the volumes.
fn next_device(existing: &[Attachment], config_drive: bool) -> String {
    let first = if config_drive { 2 } else { 1 };
    (first..26)
        .map(|i| format!("/dev/vd{}", (b'a' + i as u8) as char))
        .find(|d| !existing.iter().any(|a| &a.device == d))
        .unwrap_or_else(|| "/dev/vdz".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_follow_the_root_disk_and_config_drive() {
        let a = |d: &str| Attachment {
            id: "a".into(),
            volume_id: "v".into(),
            server_id: "s".into(),
            device: d.into(),
            status: AttachmentStatus::Attached,
            boot_index: None,
            delete_on_termination: false,
            created_at: 0,
        };
        assert_eq!(next_device(&[], false), "/dev/vdb");
        assert_eq!(next_device(&[], true), "/dev/vdc");
        assert_eq!(next_device(&[a("/dev/vdb")], false), "/dev/vdc");
        assert_eq!(next_device(&[a("/dev/vdc")], false), "/dev/vdb");
    }
}
