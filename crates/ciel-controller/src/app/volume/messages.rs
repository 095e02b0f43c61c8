//! User messages (Cinder's `/messages`): what went wrong with a request that failed after its
//! answer, told to the project that made it. Cinder's codes: the event id is
//! `VOLUME_<resource>_<action>_<detail>` and the text `<action>:<detail>`.

use super::own_project;
use crate::app::identity::caller::Caller;
use crate::app::policy::in_project;
use crate::app::App;
use crate::db::volume::messages::{self as db, Message};
use crate::db::Tx;
use crate::error::{Error, Result};

/// How long a message is kept (Cinder's `message_ttl`, 30 days).
const TTL_SECS: i64 = 30 * 24 * 3600;

pub const RESOURCE_VOLUME: &str = "VOLUME";

/// What was being done (Cinder's `message_field.Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ScheduleAllocateVolume,
    ExtendVolume,
    CreateVolumeFromBackend,
}

impl Action {
    fn code(self) -> &'static str {
        match self {
            Action::ScheduleAllocateVolume => "001",
            Action::ExtendVolume => "007",
            Action::CreateVolumeFromBackend => "008",
        }
    }
}

fn action_text(code: &str) -> &'static str {
    match code {
        "001" => "schedule allocate volume",
        "007" => "extend volume",
        "008" => "create volume from backend storage",
        _ => "unknown action",
    }
}

/// Why it failed (Cinder's `message_field.Detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    UnknownError,
    NoBackendAvailable,
    DriverFailedExtend,
}

impl Detail {
    fn code(self) -> &'static str {
        match self {
            Detail::UnknownError => "001",
            Detail::NoBackendAvailable => "003",
            Detail::DriverFailedExtend => "009",
        }
    }
}

fn detail_text(code: &str) -> &'static str {
    match code {
        "003" => "Could not find any available weighted backend.",
        "009" => "Volume extend failed while extending a volume.",
        _ => "An unknown error occurred.",
    }
}

/// A message as the API shows it.
pub struct UserMessage {
    pub row: Message,
}

impl UserMessage {
    pub fn event_id(&self) -> String {
        format!(
            "VOLUME_{}_{}_{}",
            self.row.resource_type, self.row.action_id, self.row.detail_id
        )
    }

    pub fn text(&self) -> String {
        format!(
            "{}:{}",
            action_text(&self.row.action_id),
            detail_text(&self.row.detail_id)
        )
    }
}

/// Records a message about a volume for its project (in the caller's transaction).
pub async fn record(
    tx: &mut Tx<'_>,
    project: &str,
    request_id: &str,
    volume_id: &str,
    action: Action,
    detail: Detail,
) -> Result<()> {
    let now = crate::db::now();
    db::insert(
        tx,
        &Message {
            id: uuid::Uuid::new_v4().to_string(),
            project_id: project.into(),
            request_id: request_id.into(),
            resource_type: RESOURCE_VOLUME.into(),
            resource_uuid: Some(volume_id.into()),
            action_id: action.code().into(),
            detail_id: detail.code().into(),
            message_level: "ERROR".into(),
            created_at: now,
            expires_at: now + TTL_SECS,
        },
    )
    .await
}

/// A request id for what an agent's report ends (no API request is running then).
pub fn report_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}

impl App {
    /// The caller's project's messages (an admin's `all_tenants` sees every project's).
    pub async fn list_volume_messages(&self, caller: &Caller, all_projects: bool) -> Result<Vec<UserMessage>> {
        let project = if all_projects && caller.is_admin() {
            None
        } else {
            Some(own_project(caller)?)
        };
        let rows = db::list(&self.db, project.as_deref(), crate::db::now()).await?;
        Ok(rows.into_iter().map(|row| UserMessage { row }).collect())
    }

    pub async fn get_volume_message(&self, caller: &Caller, id: &str) -> Result<UserMessage> {
        match db::get(&self.db, id).await? {
            Some(row) if in_project(caller, &row.project_id) && row.expires_at >= crate::db::now() => {
                Ok(UserMessage { row })
            }
            _ => Err(Error::not_found("message", id)),
        }
    }

    pub async fn delete_volume_message(&self, caller: &Caller, id: &str) -> Result<()> {
        if !caller.can_write() {
            return Err(Error::forbidden());
        }
        self.get_volume_message(caller, id).await?;
        db::delete(&self.db, id).await
    }
}
