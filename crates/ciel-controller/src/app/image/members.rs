//! Image sharing: the owner offers a `shared` image to projects, which accept or reject it.

use super::owns;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::identity::projects;
use crate::db::image::{self, Member, MemberStatus};
use crate::error::{Error, Result};

impl App {
    pub async fn add_image_member(&self, caller: &Caller, image_id: &str, member_id: &str) -> Result<Member> {
        let img = self.image_for_write(caller, image_id).await?;
        if img.visibility != "shared" {
            return Err(Error::Forbidden(format!(
                "Only shared images have members; image {image_id} is {}.",
                img.visibility
            )));
        }
        if projects::get(&self.db, member_id).await?.is_none() {
            return Err(Error::bad_request(format!("Project {member_id} does not exist.")));
        }
        if image::get_member(&self.db, image_id, member_id).await?.is_some() {
            return Err(Error::conflict(format!(
                "Member {member_id} already has access to image {image_id}."
            )));
        }
        let now = crate::db::now();
        let m = Member {
            image_id: image_id.into(),
            member_id: member_id.into(),
            status: MemberStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        image::insert_member(&self.db, &m).await?;
        Ok(m)
    }

    /// The owner sees every member; a member sees only its own entry.
    pub async fn list_image_members(&self, caller: &Caller, image_id: &str) -> Result<Vec<Member>> {
        let img = self.image_for_read(caller, image_id).await?;
        if img.visibility != "shared" {
            return Err(Error::Forbidden(format!(
                "Only shared images have members; image {image_id} is {}.",
                img.visibility
            )));
        }
        let all = image::list_members(&self.db, image_id).await?;
        if owns(caller, &img) {
            return Ok(all);
        }
        Ok(all
            .into_iter()
            .filter(|m| Some(m.member_id.as_str()) == caller.project_id())
            .collect())
    }

    pub async fn get_image_member(&self, caller: &Caller, image_id: &str, member_id: &str) -> Result<Member> {
        let img = self.image_for_read(caller, image_id).await?;
        if !owns(caller, &img) && caller.project_id() != Some(member_id) {
            return Err(Error::NotFound {
                kind: "member",
                id: member_id.into(),
            });
        }
        image::get_member(&self.db, image_id, member_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "member",
                id: member_id.into(),
            })
    }

    /// Only the member itself accepts or rejects a share.
    pub async fn update_image_member(
        &self,
        caller: &Caller,
        image_id: &str,
        member_id: &str,
        status: MemberStatus,
    ) -> Result<Member> {
        self.get_image_member(caller, image_id, member_id).await?;
        if caller.project_id() != Some(member_id) {
            return Err(Error::Forbidden(
                "Only the member may change its membership status.".into(),
            ));
        }
        // Read again and written in one transaction: the owner may remove the member meanwhile.
        let mut tx = self.begin().await?;
        let mut m = image::get_member(&mut *tx, image_id, member_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "member",
                id: member_id.into(),
            })?;
        m.status = status;
        m.updated_at = crate::db::now();
        image::update_member(&mut *tx, &m).await?;
        tx.commit().await?;
        Ok(m)
    }

    pub async fn delete_image_member(&self, caller: &Caller, image_id: &str, member_id: &str) -> Result<()> {
        let img = self.image_for_read(caller, image_id).await?;
        if !owns(caller, &img) {
            return Err(Error::Forbidden("Only the image owner may remove members.".into()));
        }
        if !image::delete_member(&self.db, image_id, member_id).await? {
            return Err(Error::NotFound {
                kind: "member",
                id: member_id.into(),
            });
        }
        Ok(())
    }
}
