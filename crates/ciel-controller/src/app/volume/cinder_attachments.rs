//! Cinder's attachment API (microversion 3.27+): an attachment names a volume and a Ciel
//! server. In OpenStack, Nova drives it (create, update with a connector, complete); in Ciel
//! the controller owns both sides, so creating one attaches for real (the server's host
//! hot-plugs the disk, as with Nova's `os-volume_attachments`) and deleting one detaches.

use super::visible;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::volume::{self as db, Attachment, Volume};
use crate::error::{Error, Result};
use std::collections::HashMap;

impl App {
    /// The attachments of the volumes the caller sees (every project's with `all_tenants`,
    /// for admins).
    pub async fn cinder_attachments(&self, caller: &Caller, all: bool) -> Result<Vec<(Attachment, Volume)>> {
        let volumes = match (all && caller.is_admin(), caller.project_id()) {
            (true, _) => db::list(&self.db, None).await?,
            (false, Some(p)) => db::list(&self.db, Some(p)).await?,
            (false, None) => vec![],
        };
        let by_id: HashMap<&str, &Volume> = volumes.iter().map(|v| (v.id.as_str(), v)).collect();
        Ok(db::all_attachments(&self.db)
            .await?
            .into_iter()
            .filter_map(|a| {
                let v = (*by_id.get(a.volume_id.as_str())?).clone();
                Some((a, v))
            })
            .collect())
    }

    pub async fn cinder_attachment(&self, caller: &Caller, id: &str) -> Result<(Attachment, Volume)> {
        let not_found = || Error::not_found("attachment", id);
        let a = db::get_attachment(&self.db, id).await?.ok_or_else(not_found)?;
        let v = visible(caller, db::get(&self.db, &a.volume_id).await?, &a.volume_id).map_err(|_| not_found())?;
        Ok((a, v))
    }

    /// `POST /attachments`: attaches `volume` to server `instance`.
    pub async fn create_cinder_attachment(
        &self,
        caller: &Caller,
        volume: &str,
        instance: Option<&str>,
    ) -> Result<(Attachment, Volume)> {
        let v = self.get_volume(caller, volume).await?;
        let Some(server) = instance else {
            return Err(Error::bad_request(format!(
                "Invalid input received: instance_uuid is required: Ciel attaches volume {} to one of its own servers.",
                v.id
            )));
        };
        let a = self
            .attach_volume(caller, server, volume, None)
            .await
            .map_err(|e| match e {
                Error::NotFound { kind: "instance", id } => Error::bad_request(format!("Invalid instance {id}")),
                other => other,
            })?;
        let v = self.get_volume(caller, volume).await?;
        Ok((a, v))
    }

    /// `DELETE /attachments/{id}`: detaches the volume from its server.
    pub async fn delete_cinder_attachment(&self, caller: &Caller, id: &str) -> Result<()> {
        let (a, _) = self.cinder_attachment(caller, id).await?;
        self.detach_volume(caller, &a.server_id, &a.volume_id).await
    }
}
