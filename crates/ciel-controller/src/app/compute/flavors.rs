//! Flavors: admins define them; everyone sees public ones, projects see private ones they
//! were given access to.

use super::resource_params::{CreateFlavor, ExtraSpecs, FlavorAccessAction, UpdateFlavor};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::flavors::{self as db, Flavor};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Which flavors a list shows (Nova's `is_public` query parameter, honoured for admins only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Visibility {
    Public,
    Private,
    All,
}

/// The flavors `ciel up` creates on first start: DevStack's nano/micro for tiny test guests,
/// then the classic m1 family.
pub const DEFAULT_FLAVORS: &[(&str, &str, i64, i64, i64)] = &[
    ("42", "m1.nano", 128, 1, 1),
    ("84", "m1.micro", 192, 1, 1),
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("4", "m1.large", 8192, 4, 80),
    ("5", "m1.xlarge", 16384, 8, 160),
];

impl App {
    /// Creates the default flavors unless any flavor exists (an operator may have removed them).
    pub async fn seed_default_flavors(&self) -> Result<()> {
        if !db::list(&self.db).await?.is_empty() {
            return Ok(());
        }
        let now = crate::db::now();
        for (id, name, ram, vcpus, disk) in DEFAULT_FLAVORS {
            let f = Flavor {
                id: id.to_string(),
                name: name.to_string(),
                ram: *ram,
                vcpus: *vcpus,
                disk: *disk,
                ephemeral: 0,
                swap: 0,
                rxtx_factor: 1.0,
                is_public: true,
                description: None,
                created_at: now,
            };
            db::insert(&self.db, &f).await?;
        }
        Ok(())
    }

    pub async fn create_flavor(&self, caller: &Caller, req: CreateFlavor) -> Result<Flavor> {
        caller.require_admin()?;
        let f = Flavor {
            id: req.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            name: req.name,
            ram: req.ram,
            vcpus: req.vcpus,
            disk: req.disk,
            ephemeral: req.ephemeral,
            swap: req.swap,
            rxtx_factor: req.rxtx_factor,
            is_public: req.is_public,
            description: req.description,
            created_at: crate::db::now(),
        };
        let mut tx = self.begin().await?;
        if db::get(&mut *tx, &f.id).await?.is_some() {
            return Err(Error::Conflict(format!("Flavor with ID {} already exists.", f.id)));
        }
        db::insert(&mut *tx, &f)
            .await
            .map_err(|_| Error::Conflict(format!("Flavor with name {} already exists.", f.name)))?;
        tx.commit().await?;
        Ok(f)
    }

    fn may_use(&self, caller: &Caller, f: &Flavor, access: &[String]) -> bool {
        f.is_public || caller.is_admin() || access.contains(&f.id)
    }

    async fn access_of(&self, caller: &Caller) -> Result<Vec<String>> {
        match caller.project_id() {
            Some(p) => db::accessible(&self.db, p).await,
            None => Ok(vec![]),
        }
    }

    pub async fn get_flavor(&self, caller: &Caller, id: &str) -> Result<Flavor> {
        let access = self.access_of(caller).await?;
        match db::get(&self.db, id).await? {
            Some(f) if self.may_use(caller, &f, &access) => Ok(f),
            _ => Err(Error::not_found("flavor", id)),
        }
    }

    /// Admins choose with `visibility`; others always get public flavors plus the private ones
    /// their project may use.
    pub async fn list_flavors(&self, caller: &Caller, visibility: Visibility) -> Result<Vec<Flavor>> {
        let access = self.access_of(caller).await?;
        let admin = caller.is_admin();
        Ok(db::list(&self.db)
            .await?
            .into_iter()
            .filter(|f| match (admin, visibility) {
                (true, Visibility::All) => true,
                (true, Visibility::Public) => f.is_public,
                (true, Visibility::Private) => !f.is_public,
                (false, _) => f.is_public || access.contains(&f.id),
            })
            .collect())
    }

    pub async fn update_flavor(&self, caller: &Caller, id: &str, req: UpdateFlavor) -> Result<Flavor> {
        caller.require_admin()?;
        db::set_description(&self.db, id, req.description.as_deref()).await?;
        self.get_flavor(caller, id).await
    }

    pub async fn delete_flavor(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.require_admin()?;
        db::delete(&self.db, id).await
    }

    pub async fn flavor_extra_specs(&self, caller: &Caller, id: &str) -> Result<BTreeMap<String, String>> {
        self.get_flavor(caller, id).await?;
        db::extra_specs(&self.db, id).await
    }

    /// Sets every key of `specs`; returns what was set.
    pub async fn set_flavor_extra_specs(
        &self,
        caller: &Caller,
        id: &str,
        specs: ExtraSpecs,
    ) -> Result<BTreeMap<String, String>> {
        caller.require_admin()?;
        self.get_flavor(caller, id).await?;
        let mut tx = self.begin().await?;
        for (k, v) in &specs.0 {
            db::set_extra_spec(&mut *tx, id, k, v).await?;
        }
        tx.commit().await?;
        Ok(specs.0)
    }

    pub async fn delete_flavor_extra_spec(&self, caller: &Caller, id: &str, key: &str) -> Result<()> {
        caller.require_admin()?;
        self.get_flavor(caller, id).await?;
        if !db::delete_extra_spec(&self.db, id, key).await? {
            return Err(Error::Typed {
                status: 404,
                kind: "itemNotFound",
                message: format!("Flavor {id} has no extra specs with key {key}."),
            });
        }
        Ok(())
    }

    pub async fn flavor_access(&self, caller: &Caller, id: &str) -> Result<Vec<String>> {
        caller.require_admin()?;
        let f = self.get_flavor(caller, id).await?;
        if f.is_public {
            return Err(Error::not_found("flavor access list (public flavor)", id));
        }
        db::projects(&self.db, id).await
    }

    pub async fn change_flavor_access(
        &self,
        caller: &Caller,
        id: &str,
        action: FlavorAccessAction,
    ) -> Result<Vec<String>> {
        caller.require_admin()?;
        let f = self.get_flavor(caller, id).await?;
        if f.is_public {
            return Err(Error::Conflict("Can not add access to a public flavor.".into()));
        }
        match &action {
            FlavorAccessAction::Add { tenant: project } => {
                if !db::add_project(&self.db, id, project).await? {
                    return Err(Error::Conflict(format!(
                        "Flavor access already exists for flavor {id} and project {project} combination."
                    )));
                }
            }
            FlavorAccessAction::Remove { tenant: project } => {
                if !db::remove_project(&self.db, id, project).await? {
                    return Err(Error::not_found("flavor access", format!("{id}/{project}")));
                }
            }
        }
        db::projects(&self.db, id).await
    }
}
