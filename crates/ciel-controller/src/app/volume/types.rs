//! Volume types: the default `__DEFAULT__`, admin-made types with extra specs (the backend
//! is picked by `volume_backend_name`), private types with per-project access.

use super::params::{CreateVolumeType, UpdateVolumeType};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::volume::{self as db, VolumeType};
use crate::db::Tx;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

pub const DEFAULT_TYPE: &str = "__DEFAULT__";

/// The storage backends agents implement (a host offers those it is configured for).
pub const BACKENDS: &[&str] = &["file", "lvm", "rbd"];

/// Whether every host with the backend sees its volumes (a Ceph pool): its volumes attach to
/// servers on any such host, and their owner (`host_id`) only creates and deletes them.
pub fn is_shared(backend: &str) -> bool {
    backend == "rbd"
}

/// The extra specs naming the backend (the second is Cinder's scoped spelling).
const BACKEND_KEYS: [&str; 2] = ["volume_backend_name", "capabilities:volume_backend_name"];

/// The backend a type's volumes go to: its `volume_backend_name`, or `file`.
pub fn backend_of(t: &VolumeType) -> String {
    let mut specs = super::parse_map(&t.extra_specs);
    BACKEND_KEYS
        .iter()
        .find_map(|k| specs.remove(*k))
        .unwrap_or_else(|| "file".into())
}

fn check_backend(extra: &BTreeMap<String, String>) -> Result<()> {
    match BACKEND_KEYS.iter().find_map(|k| extra.get(*k)) {
        Some(b) if !BACKENDS.contains(&b.as_str()) => Err(Error::bad_request(format!(
            "Invalid input received: volume_backend_name '{b}' is not a storage backend of Ciel ({}).",
            BACKENDS.join(", ")
        ))),
        _ => Ok(()),
    }
}

fn usable(caller: &Caller, t: &VolumeType, access: &[String]) -> bool {
    t.is_public || caller.is_admin() || caller.project_id().is_some_and(|p| access.iter().any(|a| a == p))
}

impl App {
    /// A type by id or name that the caller may use.
    pub(crate) async fn find_volume_type_in(&self, tx: &mut Tx<'_>, caller: &Caller, key: &str) -> Result<VolumeType> {
        let t = match db::get_type(&mut **tx, key).await? {
            Some(t) => Some(t),
            None => db::get_type_by_name(&mut **tx, key).await?,
        };
        let t = t.ok_or_else(|| Error::not_found("volume type", key))?;
        let access = db::type_access(&mut **tx, &t.id).await?;
        if usable(caller, &t, &access) {
            Ok(t)
        } else {
            Err(Error::not_found("volume type", key))
        }
    }

    pub async fn get_volume_type(&self, caller: &Caller, key: &str) -> Result<VolumeType> {
        let mut tx = self.begin().await?;
        let t = self.find_volume_type_in(&mut tx, caller, key).await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn default_volume_type(&self) -> Result<VolumeType> {
        db::get_type_by_name(&self.db, DEFAULT_TYPE)
            .await?
            .ok_or_else(|| Error::not_found("volume type", DEFAULT_TYPE))
    }

    /// `is_public` filter: Some(true) public only, Some(false) private only, None both
    /// (admins; others see public plus the private ones shared with their project).
    pub async fn list_volume_types(&self, caller: &Caller, is_public: Option<bool>) -> Result<Vec<VolumeType>> {
        let mut out = vec![];
        for t in db::list_types(&self.db).await? {
            if is_public.is_some_and(|p| p != t.is_public) {
                continue;
            }
            let access = db::type_access(&self.db, &t.id).await?;
            if usable(caller, &t, &access) {
                out.push(t);
            }
        }
        Ok(out)
    }

    pub async fn create_volume_type(&self, caller: &Caller, p: CreateVolumeType) -> Result<VolumeType> {
        caller.require_admin()?;
        let extra = p.extra_specs.0;
        let t = VolumeType {
            id: uuid::Uuid::new_v4().to_string(),
            description: p.description,
            is_public: p.is_public,
            extra_specs: super::to_json(&extra),
            created_at: crate::db::now(),
            name: p.name,
            qos_specs_id: None,
        };
        check_backend(&extra)?;
        let mut tx = self.begin().await?;
        if db::get_type_by_name(&mut *tx, &t.name).await?.is_some() {
            return Err(Error::conflict(format!("Volume Type {} already exists.", t.name)));
        }
        db::save_type(&mut *tx, &t).await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn update_volume_type(&self, caller: &Caller, id: &str, p: UpdateVolumeType) -> Result<VolumeType> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut t = db::get_type(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("volume type", id))?;
        if let Some(n) = p.name {
            if n != t.name && db::get_type_by_name(&mut *tx, &n).await?.is_some() {
                return Err(Error::conflict(format!("Volume Type {n} already exists.")));
            }
            t.name = n;
        }
        if let Some(d) = p.description {
            t.description = d;
        }
        if let Some(public) = p.is_public {
            t.is_public = public;
        }
        db::save_type(&mut *tx, &t).await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn delete_volume_type(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let t = db::get_type(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("volume type", id))?;
        if t.name == DEFAULT_TYPE {
            return Err(Error::bad_request("Default volume type can not be deleted."));
        }
        if db::type_in_use(&mut *tx, id).await? {
            return Err(Error::bad_request(format!(
                "Target volume type is still in use. Volume Type {id} deletion is not allowed with volumes present with the type."
            )));
        }
        crate::db::volume::encryption::delete(&mut *tx, id).await?;
        db::delete_type(&mut *tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn volume_type_extra_specs(&self, caller: &Caller, id: &str) -> Result<BTreeMap<String, String>> {
        let t = self.get_volume_type(caller, id).await?;
        Ok(super::parse_map(&t.extra_specs))
    }

    /// Merges (or with `remove`, deletes) extra specs.
    pub async fn change_volume_type_specs(
        &self,
        caller: &Caller,
        id: &str,
        set: BTreeMap<String, String>,
        remove: Option<&str>,
    ) -> Result<BTreeMap<String, String>> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let mut t = db::get_type(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("volume type", id))?;
        let mut cur = super::parse_map(&t.extra_specs);
        cur.extend(set);
        check_backend(&cur)?;
        if let Some(k) = remove {
            if cur.remove(k).is_none() {
                return Err(Error::not_found("volume type extra spec", k));
            }
        }
        t.extra_specs = super::to_json(&cur);
        db::save_type(&mut *tx, &t).await?;
        tx.commit().await?;
        Ok(cur)
    }

    pub async fn volume_type_access(&self, caller: &Caller, id: &str) -> Result<Vec<String>> {
        caller.require_admin()?;
        let t = db::get_type(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("volume type", id))?;
        if t.is_public {
            return Err(Error::not_found("volume type access", id));
        }
        db::type_access(&self.db, id).await
    }

    pub async fn change_volume_type_access(&self, caller: &Caller, id: &str, project: &str, add: bool) -> Result<()> {
        caller.require_admin()?;
        let mut tx = self.begin().await?;
        let t = db::get_type(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::not_found("volume type", id))?;
        if t.is_public {
            return Err(Error::bad_request(
                "Invalid volume type: Type access modification is not applicable to public volume type.",
            ));
        }
        if add {
            db::add_type_access(&mut *tx, id, project).await.map_err(|e| match e {
                Error::Conflict(_) => Error::conflict(format!(
                    "Volume type access for {id} / {project} combination already exists."
                )),
                other => other,
            })?;
        } else if db::remove_type_access(&mut *tx, id, project).await? == 0 {
            return Err(Error::not_found("volume type access", format!("{id} / {project}")));
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_specs(specs: &str) -> VolumeType {
        VolumeType {
            id: "t".into(),
            name: "t".into(),
            description: None,
            is_public: true,
            extra_specs: specs.into(),
            created_at: 0,
            qos_specs_id: None,
        }
    }

    #[test]
    fn the_backend_is_named_plainly_or_scoped() {
        assert_eq!(backend_of(&with_specs("{}")), "file");
        assert_eq!(backend_of(&with_specs(r#"{"volume_backend_name": "rbd"}"#)), "rbd");
        assert_eq!(
            backend_of(&with_specs(r#"{"capabilities:volume_backend_name": "lvm"}"#)),
            "lvm"
        );
        let bad: BTreeMap<String, String> = [("capabilities:volume_backend_name".to_string(), "x".to_string())].into();
        assert!(check_backend(&bad).is_err());
    }
}
