//! Flavors: admins define them; everyone sees public ones, projects see private ones they
//! were given access to.

use crate::app::identity::caller::Caller;
use crate::app::identity::input::Body;
use crate::app::App;
use crate::db::compute::flavors::{self as db, Flavor};
use crate::error::{Error, Result};
use serde_json::Value;
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

fn int_field(body: &mut Body, field: &str, min: i64, default: Option<i64>) -> Result<i64> {
    let bad = || {
        Error::bad_request(format!(
            "Invalid input for field/attribute {field}. Value must be an integer >= {min}."
        ))
    };
    match body.remove(field) {
        None | Some(Value::Null) => default.ok_or_else(|| {
            Error::bad_request(format!(
                "Invalid input for field/attribute flavor. '{field}' is a required property"
            ))
        }),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|v| *v >= min && *v <= i32::MAX as i64)
            .ok_or_else(bad),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= min && *v <= i32::MAX as i64)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

fn description(v: Option<Value>) -> Result<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 65535 => Ok(Some(s)),
        Some(_) => Err(Error::bad_request("Invalid input for field/attribute description.")),
    }
}

/// Extra spec keys Nova accepts.
fn valid_spec_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c))
}

fn spec_value(k: &str, v: &Value) -> Result<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute {k}. Value: {v} is not a string or number"
            )))
        }
    };
    if s.chars().count() > 255 {
        return Err(Error::bad_request(format!(
            "Invalid input for field/attribute {k}. Value is too long"
        )));
    }
    Ok(s)
}

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

    pub async fn create_flavor(&self, caller: &Caller, mut body: Body) -> Result<Flavor> {
        caller.require_admin()?;
        let name = match body.remove("name") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 255 && s.trim() == s => s,
            _ => return Err(Error::bad_request("Invalid input for field/attribute name. Value must be a 1 to 255 character string without leading or trailing spaces.")),
        };
        let id = match body.remove("id") {
            None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
            Some(Value::String(s)) if s == "auto" => uuid::Uuid::new_v4().to_string(),
            // Nova's schema takes numbers as ids, too (clients like Tempest send them).
            Some(Value::Number(n)) if n.is_u64() => n.to_string(),
            Some(Value::String(s))
                if !s.is_empty()
                    && s.len() <= 255
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_. ".contains(c))
                    && s.trim() == s =>
            {
                s
            }
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute id. Value: {v}."
                )))
            }
        };
        let rxtx_factor = match body.remove("rxtx_factor") {
            None | Some(Value::Null) => 1.0,
            Some(v) => v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|f| *f > 0.0)
                .ok_or_else(|| Error::bad_request("Invalid input for field/attribute rxtx_factor."))?,
        };
        let is_public = match body.remove("os-flavor-access:is_public") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) if matches!(s.to_lowercase().as_str(), "true" | "1" | "yes") => true,
            Some(Value::String(s)) if matches!(s.to_lowercase().as_str(), "false" | "0" | "no") => false,
            Some(v) => {
                return Err(Error::bad_request(format!(
                    "Invalid input for field/attribute os-flavor-access:is_public. Value: {v}."
                )))
            }
        };
        let f = Flavor {
            id,
            name,
            ram: int_field(&mut body, "ram", 1, None)?,
            vcpus: int_field(&mut body, "vcpus", 1, None)?,
            disk: int_field(&mut body, "disk", 0, None)?,
            ephemeral: int_field(&mut body, "OS-FLV-EXT-DATA:ephemeral", 0, Some(0))?,
            swap: int_field(&mut body, "swap", 0, Some(0))?,
            rxtx_factor,
            is_public,
            description: description(body.remove("description"))?,
            created_at: crate::db::now(),
        };
        let mut tx = crate::db::begin(&self.db).await?;
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

    pub async fn update_flavor(&self, caller: &Caller, id: &str, mut body: Body) -> Result<Flavor> {
        caller.require_admin()?;
        if !body.contains_key("description") || body.len() != 1 {
            return Err(Error::bad_request(
                "Invalid input for field/attribute flavor. Only 'description' can be updated.",
            ));
        }
        let d = description(body.remove("description"))?;
        db::set_description(&self.db, id, d.as_deref()).await?;
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

    /// Sets every key of `specs` (all validated before any is written).
    pub async fn set_flavor_extra_specs(
        &self,
        caller: &Caller,
        id: &str,
        specs: serde_json::Map<String, Value>,
    ) -> Result<BTreeMap<String, String>> {
        caller.require_admin()?;
        self.get_flavor(caller, id).await?;
        let mut clean = vec![];
        for (k, v) in &specs {
            if !valid_spec_key(k) {
                return Err(Error::bad_request(format!("Invalid input for field/attribute extra_specs. Additional properties are not allowed ('{k}' was unexpected)")));
            }
            clean.push((k.clone(), spec_value(k, v)?));
        }
        let mut tx = crate::db::begin(&self.db).await?;
        for (k, v) in &clean {
            db::set_extra_spec(&mut *tx, id, k, v).await?;
        }
        tx.commit().await?;
        Ok(clean.into_iter().collect())
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
        project: &str,
        add: bool,
    ) -> Result<Vec<String>> {
        caller.require_admin()?;
        let f = self.get_flavor(caller, id).await?;
        if f.is_public {
            return Err(Error::Conflict("Can not add access to a public flavor.".into()));
        }
        if add {
            if !db::add_project(&self.db, id, project).await? {
                return Err(Error::Conflict(format!(
                    "Flavor access already exists for flavor {id} and project {project} combination."
                )));
            }
        } else if !db::remove_project(&self.db, id, project).await? {
            return Err(Error::not_found("flavor access", format!("{id}/{project}")));
        }
        db::projects(&self.db, id).await
    }
}
