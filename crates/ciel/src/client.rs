//! A small OpenStack client for `ciel status` and `ciel usage`: it signs in with the
//! standard `OS_*` variables (as the `openstack` command does) or, without them, with the
//! `admin-openrc` that `ciel up` writes into its data directory.

use anyhow::Context;
use std::collections::HashMap;
use std::path::Path;

/// A signed-in session: the cloud's base URL and a token.
pub struct Session {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// `OS_*` settings from the environment, else from `DATA_DIR/admin-openrc`.
fn settings(data_dir: &Path) -> anyhow::Result<HashMap<String, String>> {
    let from_env: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("OS_")).collect();
    if from_env.contains_key("OS_AUTH_URL") {
        return Ok(from_env);
    }
    let path = data_dir.join("admin-openrc");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no OS_AUTH_URL in the environment and cannot read {} (source an openrc, or pass --data-dir)",
            path.display()
        )
    })?;
    Ok(text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), unquote(v)))
        .collect())
}

/// A shell word as `ciel up` writes it: bare, or single-quoted with `'\''` for quotes.
fn unquote(v: &str) -> String {
    match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace("'\\''", "'"),
        None => v.to_string(),
    }
}

impl Session {
    pub async fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let s = settings(data_dir)?;
        let get = |k: &str| s.get(k).cloned().unwrap_or_default();
        let auth_url = get("OS_AUTH_URL");
        let auth_url = auth_url.trim_end_matches('/');
        let domain = |k: &str| {
            let v = get(k);
            if v.is_empty() {
                "Default".to_string()
            } else {
                v
            }
        };
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": get("OS_USERNAME"), "password": get("OS_PASSWORD"),
                "domain": {"name": domain("OS_USER_DOMAIN_NAME")}}}},
            "scope": {"project": {"name": get("OS_PROJECT_NAME"),
                "domain": {"name": domain("OS_PROJECT_DOMAIN_NAME")}}}}});
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let tokens = if auth_url.ends_with("/v3") {
            format!("{auth_url}/auth/tokens?nocatalog")
        } else {
            format!("{auth_url}/v3/auth/tokens?nocatalog")
        };
        let resp = http
            .post(&tokens)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach {tokens}"))?;
        if !resp.status().is_success() {
            anyhow::bail!("signing in at {tokens} failed: HTTP {}", resp.status());
        }
        let token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .context("no token in the identity service's answer")?
            .to_string();
        let base = auth_url
            .trim_end_matches("/v3")
            .trim_end_matches("/identity")
            .to_string();
        Ok(Self { http, base, token })
    }

    /// GETs `path` (under the cloud's base URL) as JSON.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .get(&url)
            .query(query)
            .header("x-auth-token", &self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            anyhow::bail!("{url}: HTTP {status}: {}", text.trim());
        }
        Ok(resp.json().await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn openrc_words_are_unquoted() {
        assert_eq!(super::unquote("'it'\\''s'"), "it's");
        assert_eq!(super::unquote("plain"), "plain");
    }
}
