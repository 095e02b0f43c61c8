//! What a volume's view shows besides its own row, read for a whole page of volumes at once:
//! one query per kind of related row, not one per volume.

use crate::app::App;
use crate::db::compute::{hosts, servers};
use crate::db::volume::{self as db, groups, migrations, Attachment, Volume};
use crate::error::Result;
use std::collections::HashMap;

/// A volume's related rows, as Cinder's volume view shows them.
pub struct Related {
    pub type_name: String,
    pub attachment: Option<Attachment>,
    /// The hostname of the host running the server it is attached to.
    pub server_host: Option<String>,
    /// The hostname of the host storing the volume (Cinder's `host@backend#pool` names it,
    /// as `os-services` and the pools do).
    pub volume_host: Option<String>,
    /// The status of the volume's newest migration (Cinder's `migration_status`).
    pub migration_status: Option<&'static str>,
    /// The generic volume group it belongs to (shown from 3.13).
    pub group_id: Option<String>,
}

impl App {
    /// The related rows of `vols`, in their order.
    pub async fn volume_related(&self, vols: &[Volume]) -> Result<Vec<Related>> {
        let ids: Vec<String> = vols.iter().map(|v| v.id.to_string()).collect();
        let types: HashMap<String, String> = db::list_types(&self.db)
            .await?
            .into_iter()
            .map(|t| (t.id.to_string(), t.name))
            .collect();
        let mut attachments: HashMap<String, Attachment> = HashMap::new();
        for a in db::attachments_of_volumes(&self.db, &ids).await? {
            attachments.entry(a.volume_id.to_string()).or_insert(a);
        }
        let server_ids: Vec<String> = attachments.values().map(|a| a.server_id.to_string()).collect();
        let server_hosts: HashMap<String, String> =
            servers::host_ids(&self.db, &server_ids).await?.into_iter().collect();
        let mut host_ids: Vec<String> = server_hosts.values().cloned().collect();
        host_ids.extend(vols.iter().filter_map(|v| v.host_id.as_ref().map(|h| h.to_string())));
        host_ids.sort();
        host_ids.dedup();
        let names: HashMap<String, String> = hosts::names(&self.db, &host_ids).await?.into_iter().collect();
        let migrations: HashMap<String, &'static str> = migrations::latest_of(&self.db, &ids)
            .await?
            .into_iter()
            .map(|m| (m.volume_id.to_string(), m.status.as_str()))
            .collect();
        let groups: HashMap<String, String> = groups::groups_of(&self.db, &ids).await?.into_iter().collect();
        Ok(vols
            .iter()
            .map(|v| {
                let attachment = attachments.remove(v.id.as_str());
                let server_host = attachment
                    .as_ref()
                    .and_then(|a| server_hosts.get(a.server_id.as_str()))
                    .and_then(|h| names.get(h))
                    .cloned();
                Related {
                    type_name: types.get(v.volume_type_id.as_str()).cloned().unwrap_or_default(),
                    server_host,
                    volume_host: v.host_id.as_ref().and_then(|h| names.get(h.as_str())).cloned(),
                    migration_status: migrations.get(v.id.as_str()).copied(),
                    group_id: groups.get(v.id.as_str()).cloned(),
                    attachment,
                }
            })
            .collect())
    }
}
