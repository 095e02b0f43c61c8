//! L7 policies (per HTTP listener, ordered by position: reject, redirect to a URL or prefix,
//! or to a pool) and their rules (all must match).

use super::listeners::mandatory;
use super::params::{self, Change, Fields};
use super::{not_found, Tree};
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::loadbalancer::{ChildAttrs, ChildKind, L7PolicyAttrs, L7RuleAttrs, OperatingStatus, ProvisioningStatus};
use crate::error::{Error, Result};
use serde_json::Value;

const ACTIONS: &[&str] = &["REJECT", "REDIRECT_TO_URL", "REDIRECT_TO_POOL", "REDIRECT_PREFIX"];
const RULE_TYPES: &[&str] = &[
    "HOST_NAME",
    "PATH",
    "FILE_TYPE",
    "HEADER",
    "COOKIE",
    "SSL_CONN_HAS_CERT",
    "SSL_VERIFY_RESULT",
    "SSL_DN_FIELD",
];
const COMPARE_TYPES: &[&str] = &["REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"];
const MAX_RULES: usize = 50;
/// Octavia's default position: the end of the list.
const LAST: i64 = 2_147_483_647;

#[derive(Debug, Clone)]
pub struct CreatePolicy {
    pub listener_id: String,
    pub attrs: L7PolicyAttrs,
    pub rules: Vec<L7RuleAttrs>,
}

#[derive(Debug, Clone)]
pub struct UpdatePolicy {
    pub name: Option<String>,
    pub description: Option<String>,
    pub action: Option<String>,
    pub position: Option<i64>,
    pub redirect_pool_id: Change<Option<String>>,
    pub redirect_url: Change<Option<String>>,
    pub redirect_prefix: Change<Option<String>>,
    pub redirect_http_code: Change<Option<i64>>,
    pub admin_state_up: Option<bool>,
    pub tags: Option<Vec<String>>,
}

fn url(f: &mut Fields, k: &str) -> Result<Option<String>> {
    match f.string(k, 2048)? {
        Some(u) if !valid_url(&u) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute {k}. Value: '{u}'. Value must be a valid URL string"
        ))),
        other => Ok(other),
    }
}

/// An absolute http(s) URL with a host, without whitespace or control characters.
fn valid_url(u: &str) -> bool {
    let rest = u.strip_prefix("http://").or_else(|| u.strip_prefix("https://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !u.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

fn http_code(f: &mut Fields) -> Result<Option<i64>> {
    match f.int("redirect_http_code", 0, 999)? {
        Some(c) if ![301, 302, 303, 307, 308].contains(&c) => Err(Error::bad_request(format!(
            "Invalid input for field/attribute redirect_http_code. Value: '{c}'. Value should be one of: 301, 302, 303, 307, 308"
        ))),
        other => Ok(other),
    }
}

fn read_rule(f: &mut Fields) -> Result<L7RuleAttrs> {
    Ok(L7RuleAttrs {
        kind: f.one_of("type", RULE_TYPES)?.ok_or_else(|| mandatory("type"))?,
        compare_type: f
            .one_of("compare_type", COMPARE_TYPES)?
            .ok_or_else(|| mandatory("compare_type"))?,
        key: f.string("key", 255)?,
        value: f.string("value", 255)?.ok_or_else(|| mandatory("value"))?,
        invert: f.bool("invert")?.unwrap_or(false),
        admin_state_up: f.bool("admin_state_up")?.unwrap_or(true),
        tags: f.tags()?.unwrap_or_default(),
    })
}

impl TryFrom<Value> for CreatePolicy {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("l7policy", v)?;
        let listener_id = f.uuid("listener_id")?.ok_or_else(|| mandatory("listener_id"))?;
        let action = f.one_of("action", ACTIONS)?.ok_or_else(|| mandatory("action"))?;
        let attrs = L7PolicyAttrs {
            name: f.string("name", 255)?,
            description: f.string("description", 255)?,
            action,
            position: f.int("position", 1, LAST)?.unwrap_or(LAST),
            redirect_pool_id: f.uuid("redirect_pool_id")?,
            redirect_url: url(&mut f, "redirect_url")?,
            redirect_prefix: url(&mut f, "redirect_prefix")?,
            redirect_http_code: http_code(&mut f)?,
            admin_state_up: f.bool("admin_state_up")?.unwrap_or(true),
            tags: f.tags()?.unwrap_or_default(),
        };
        let mut rules = vec![];
        for mut r in f.objects("rules", "l7rule")?.unwrap_or_default() {
            let rule = read_rule(&mut r)?;
            r.finish()?;
            rules.push(check_rule(rule)?);
        }
        f.raw("project_id");
        f.raw("tenant_id");
        f.finish()?;
        Ok(CreatePolicy {
            listener_id,
            attrs: sanitize(attrs)?,
            rules,
        })
    }
}

impl TryFrom<Value> for UpdatePolicy {
    type Error = Error;

    fn try_from(v: Value) -> Result<Self> {
        let mut f = Fields::new("l7policy", v)?;
        let r = UpdatePolicy {
            name: f.string("name", 255)?,
            description: f.string("description", 255)?,
            action: f.one_of("action", ACTIONS)?,
            position: f.int("position", 1, LAST)?,
            redirect_pool_id: Change::read(&mut f, "redirect_pool_id", |f| {
                Ok(f.uuid("redirect_pool_id")?.map(Some))
            })?,
            redirect_url: Change::read(&mut f, "redirect_url", |f| Ok(url(f, "redirect_url")?.map(Some)))?,
            redirect_prefix: Change::read(&mut f, "redirect_prefix", |f| Ok(url(f, "redirect_prefix")?.map(Some)))?,
            redirect_http_code: Change::read(&mut f, "redirect_http_code", |f| Ok(http_code(f)?.map(Some)))?,
            admin_state_up: f.bool("admin_state_up")?,
            tags: f.tags()?,
        };
        f.finish()?;
        Ok(r)
    }
}

/// Octavia's action sanitation: what the action needs must be there, what it does not use
/// is cleared.
fn sanitize(a: L7PolicyAttrs) -> Result<L7PolicyAttrs> {
    if a.redirect_pool_id.is_some() && (a.redirect_url.is_some() || a.redirect_prefix.is_some()) {
        return Err(both_targets());
    }
    sanitize_action(a)
}

fn both_targets() -> Error {
    Error::bad_request(
        "Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time",
    )
}

/// The action's part of the sanitation: an update that changes the action clears the
/// targets of the old one (Octavia checks that a request names one target only, not what
/// is stored).
fn sanitize_action(mut a: L7PolicyAttrs) -> Result<L7PolicyAttrs> {
    let args = |m: &str| Error::bad_request(format!("Invalid L7 Policy arguments: {m}"));
    match a.action.as_str() {
        "REJECT" => {
            a.redirect_pool_id = None;
            a.redirect_url = None;
            a.redirect_prefix = None;
            a.redirect_http_code = None;
        }
        "REDIRECT_TO_URL" => {
            if a.redirect_url.is_none() {
                return Err(args("redirect_url must not be None"));
            }
            a.redirect_pool_id = None;
            a.redirect_prefix = None;
            a.redirect_http_code.get_or_insert(302);
        }
        "REDIRECT_PREFIX" => {
            if a.redirect_prefix.is_none() {
                return Err(args("redirect_prefix must not be None"));
            }
            a.redirect_pool_id = None;
            a.redirect_url = None;
            a.redirect_http_code.get_or_insert(302);
        }
        _ => {
            if a.redirect_pool_id.is_none() {
                return Err(args("redirect_pool_id or redirect_pool must not be None"));
            }
            a.redirect_url = None;
            a.redirect_prefix = None;
            a.redirect_http_code = None;
        }
    }
    Ok(a)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Octavia's rule checks (`Error parsing L7Rule: …`).
fn check_rule(mut r: L7RuleAttrs) -> Result<L7RuleAttrs> {
    let bad = |m: &str| Error::bad_request(format!("Error parsing L7Rule: Invalid L7 Rule: {m}"));
    if r.value.is_empty() {
        return Err(bad("L7 rule type requires a value"));
    }
    if r.value.contains(['\r', '\n']) || r.key.as_deref().is_some_and(|k| k.contains(['\r', '\n'])) {
        return Err(Error::bad_request("Error parsing L7Rule: Invalid characters in value"));
    }
    if r.compare_type == "REGEX" && regex_automata::meta::Regex::new(&r.value).is_err() {
        return Err(bad("Invalid regex pattern"));
    }
    match r.kind.as_str() {
        "HEADER" | "COOKIE" => {
            let Some(k) = &r.key else {
                return Err(bad("L7 rule type requires a key"));
            };
            if !is_token(k) {
                return Err(Error::bad_request("Error parsing L7Rule: Invalid characters in key"));
            }
        }
        "HOST_NAME" | "PATH" => r.key = None,
        "FILE_TYPE" => {
            if !matches!(r.compare_type.as_str(), "REGEX" | "EQUAL_TO") {
                return Err(bad("invalid comparison type for rule type"));
            }
            r.key = None;
        }
        "SSL_CONN_HAS_CERT" => {
            if r.key.is_some() || r.value != "true" || r.compare_type != "EQUAL_TO" {
                return Err(bad("invalid value, key or comparison type for rule type"));
            }
        }
        "SSL_VERIFY_RESULT" => {
            if r.key.is_some() || r.value.parse::<u64>().is_err() || r.compare_type != "EQUAL_TO" {
                return Err(bad("invalid value, key or comparison type for rule type"));
            }
        }
        _ => {
            let ok = r.key.as_deref().is_some_and(|k| {
                k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
            if !ok {
                return Err(bad("Invalid L7rule distinguished name field."));
            }
        }
    }
    Ok(r)
}

/// Puts `id` at `position` (1-based, clamped) among its listener's policies and renumbers
/// them 1..n, as Octavia keeps them.
fn place(t: &mut Tree, listener_id: &str, id: &str, position: i64) {
    let mut order: Vec<(String, i64)> = t
        .children_of(listener_id, ChildKind::L7Policy)
        .filter(|p| p.id != id && p.provisioning_status != ProvisioningStatus::PendingDelete)
        .filter_map(|p| match &p.attrs {
            ChildAttrs::L7Policy(a) => Some((p.id.clone(), a.position)),
            _ => None,
        })
        .collect();
    order.sort_by_key(|(_, pos)| *pos);
    let at = ((position - 1).max(0) as usize).min(order.len());
    order.insert(at, (id.to_string(), position));
    for (i, (pid, _)) in order.iter().enumerate() {
        if let Some(ChildAttrs::L7Policy(a)) = t.child_mut(pid).map(|c| &mut c.attrs) {
            a.position = i as i64 + 1;
        }
    }
}

fn check_policy_target(t: &Tree, listener_id: &str, a: &L7PolicyAttrs) -> Result<()> {
    let Some(ChildAttrs::Listener(l)) = t.child(listener_id).map(|c| &c.attrs) else {
        return Err(not_found(Some(ChildKind::Listener), listener_id));
    };
    if l.protocol == "PROMETHEUS" {
        return Err(Error::bad_request(
            "Protocol PROMETHEUS listeners cannot have child objects.",
        ));
    }
    if !matches!(l.protocol.as_str(), "HTTP" | "TERMINATED_HTTPS") {
        return Err(Error::Typed {
            status: 501,
            kind: "ProviderNotImplementedError",
            message: format!(
                "Provider 'amphora' does not support a requested option: {} protocol listeners do not support L7 policies",
                l.protocol
            ),
        });
    }
    if let Some(p) = &a.redirect_pool_id {
        let Some(ChildAttrs::Pool(pa)) = t.child(p).map(|c| &c.attrs) else {
            return Err(not_found(Some(ChildKind::Pool), p));
        };
        params::check_pool_fits(&l.protocol, &pa.protocol)?;
    }
    Ok(())
}

fn policy_listener(t: &Tree, id: &str) -> Result<String> {
    t.child(id)
        .and_then(|c| c.parent_id.clone())
        .ok_or_else(|| not_found(Some(ChildKind::L7Policy), id))
}

impl App {
    pub async fn create_l7policy(&self, caller: &Caller, req: CreatePolicy) -> Result<(Tree, String)> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::Listener, &req.listener_id).await?;
        check_policy_target(&t, &req.listener_id, &req.attrs)?;
        self.check_lb_quota(&mut tx, &t.lb.project_id, Some(ChildKind::L7Policy), 1)
            .await?;
        if !req.rules.is_empty() {
            self.check_lb_quota(
                &mut tx,
                &t.lb.project_id,
                Some(ChildKind::L7Rule),
                req.rules.len() as i64,
            )
            .await?;
        }
        if req.rules.len() > MAX_RULES {
            return Err(Error::conflict("Too many rules on L7 policy"));
        }
        t.lock()?;
        let position = req.attrs.position;
        let c = t.new_child(
            Some(req.listener_id.clone()),
            ChildAttrs::L7Policy(req.attrs),
            OperatingStatus::Offline,
        );
        let id = c.id.clone();
        t.add(c);
        for r in req.rules {
            let rc = t.new_child(Some(id.clone()), ChildAttrs::L7Rule(r), OperatingStatus::Offline);
            t.add(rc);
        }
        place(&mut t, &req.listener_id, &id, position);
        let t = super::commit_change(tx, t, &[req.listener_id]).await?;
        Ok((t, id))
    }

    pub async fn update_l7policy(&self, caller: &Caller, id: &str, req: UpdatePolicy) -> Result<Tree> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::L7Policy, id).await?;
        let listener = policy_listener(&t, id)?;
        let Some(ChildAttrs::L7Policy(mut a)) = t.child(id).map(|c| c.attrs.clone()) else {
            return Err(not_found(Some(ChildKind::L7Policy), id));
        };
        if let Some(n) = req.name {
            a.name = Some(n);
        }
        if let Some(d) = req.description {
            a.description = Some(d);
        }
        // A redirect target given implies its action.
        if let Change::Set(Some(_)) = req.redirect_pool_id {
            a.action = "REDIRECT_TO_POOL".into();
        }
        if let Change::Set(Some(_)) = req.redirect_url {
            a.action = "REDIRECT_TO_URL".into();
        }
        if let Change::Set(Some(_)) = req.redirect_prefix {
            a.action = "REDIRECT_PREFIX".into();
        }
        if let Some(action) = req.action {
            a.action = action;
        }
        let set = |c: &Change<Option<String>>| matches!(c, Change::Set(Some(_)));
        if set(&req.redirect_pool_id) && (set(&req.redirect_url) || set(&req.redirect_prefix)) {
            return Err(both_targets());
        }
        req.redirect_pool_id.apply(&mut a.redirect_pool_id, None);
        req.redirect_url.apply(&mut a.redirect_url, None);
        req.redirect_prefix.apply(&mut a.redirect_prefix, None);
        req.redirect_http_code.apply(&mut a.redirect_http_code, None);
        if let Some(up) = req.admin_state_up {
            a.admin_state_up = up;
        }
        if let Some(tags) = req.tags {
            a.tags = tags;
        }
        let a = sanitize_action(a)?;
        check_policy_target(&t, &listener, &a)?;
        t.lock()?;
        let position = req.position;
        if let Some(p) = t.child_mut(id) {
            p.attrs = ChildAttrs::L7Policy(a);
        }
        if let Some(pos) = position {
            place(&mut t, &listener, id, pos);
        }
        super::commit_change(tx, t, &[listener, id.to_string()]).await
    }

    pub async fn delete_l7policy(&self, caller: &Caller, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = super::tree_of_child(&mut tx, caller, ChildKind::L7Policy, id).await?;
        let listener = policy_listener(&t, id)?;
        t.lock()?;
        if let Some(p) = t.child_mut(id) {
            p.provisioning_status = ProvisioningStatus::PendingDelete;
        }
        super::commit_change(tx, t, &[listener]).await?;
        Ok(())
    }

    /// The tree of a policy named in a rule's URL, with the policy and then the load
    /// balancer lockable (Octavia's order of 409s).
    async fn rule_tree(&self, tx: &mut crate::db::Tx<'_>, caller: &Caller, policy_id: &str) -> Result<Tree> {
        let t = super::tree_of_child(tx, caller, ChildKind::L7Policy, policy_id)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => Error::not_found("L7Policy", policy_id),
                other => other,
            })?;
        Ok(t)
    }

    fn lock_policy(t: &Tree, policy_id: &str) -> Result<()> {
        let p = t
            .child(policy_id)
            .ok_or_else(|| Error::not_found("L7Policy", policy_id))?;
        t.lock_parent(p)?;
        t.lock()
    }

    pub async fn create_l7rule(&self, caller: &Caller, policy_id: &str, body: Value) -> Result<(Tree, String)> {
        let mut f = Fields::new("l7rule", body)?;
        let rule = read_rule(&mut f)?;
        f.raw("project_id");
        f.raw("tenant_id");
        f.finish()?;
        let rule = check_rule(rule)?;
        let mut tx = self.begin().await?;
        let mut t = self.rule_tree(&mut tx, caller, policy_id).await?;
        self.check_lb_quota(&mut tx, &t.lb.project_id, Some(ChildKind::L7Rule), 1)
            .await?;
        if t.children_of(policy_id, ChildKind::L7Rule).count() >= MAX_RULES {
            return Err(Error::conflict(format!("Too many rules on L7 policy {policy_id}")));
        }
        Self::lock_policy(&t, policy_id)?;
        let listener = policy_listener(&t, policy_id)?;
        let c = t.new_child(
            Some(policy_id.to_string()),
            ChildAttrs::L7Rule(rule),
            OperatingStatus::Offline,
        );
        let id = c.id.clone();
        t.add(c);
        let t = super::commit_change(tx, t, &[listener, policy_id.to_string()]).await?;
        Ok((t, id))
    }

    pub async fn update_l7rule(&self, caller: &Caller, policy_id: &str, id: &str, body: Value) -> Result<Tree> {
        let mut tx = self.begin().await?;
        let mut t = self.rule_tree(&mut tx, caller, policy_id).await?;
        let Some(ChildAttrs::L7Rule(mut a)) = t
            .child(id)
            .filter(|r| r.parent_id.as_deref() == Some(policy_id))
            .map(|c| c.attrs.clone())
        else {
            return Err(not_found(Some(ChildKind::L7Rule), id));
        };
        let mut f = Fields::new("l7rule", body)?;
        if let Some(k) = f.one_of("type", RULE_TYPES)? {
            a.kind = k;
        }
        if let Some(c) = f.one_of("compare_type", COMPARE_TYPES)? {
            a.compare_type = c;
        }
        Change::read(&mut f, "key", |f| Ok(f.string("key", 255)?.map(Some)))?.apply(&mut a.key, None);
        if let Some(v) = f.string("value", 255)? {
            a.value = v;
        }
        Change::read(&mut f, "invert", |f| f.bool("invert"))?.apply(&mut a.invert, false);
        if let Some(up) = f.bool("admin_state_up")? {
            a.admin_state_up = up;
        }
        if let Some(tags) = f.tags()? {
            a.tags = tags;
        }
        f.finish()?;
        let a = check_rule(a)?;
        Self::lock_policy(&t, policy_id)?;
        let listener = policy_listener(&t, policy_id)?;
        if let Some(r) = t.child_mut(id) {
            r.attrs = ChildAttrs::L7Rule(a);
        }
        super::commit_change(tx, t, &[listener, policy_id.to_string(), id.to_string()]).await
    }

    pub async fn delete_l7rule(&self, caller: &Caller, policy_id: &str, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut t = self.rule_tree(&mut tx, caller, policy_id).await?;
        if !t
            .child(id)
            .is_some_and(|r| r.kind() == ChildKind::L7Rule && r.parent_id.as_deref() == Some(policy_id))
        {
            return Err(not_found(Some(ChildKind::L7Rule), id));
        }
        Self::lock_policy(&t, policy_id)?;
        let listener = policy_listener(&t, policy_id)?;
        if let Some(r) = t.child_mut(id) {
            r.provisioning_status = ProvisioningStatus::PendingDelete;
        }
        super::commit_change(tx, t, &[listener, policy_id.to_string()]).await?;
        Ok(())
    }
}
