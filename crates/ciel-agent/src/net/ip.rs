//! Thin async wrappers over iproute2's `ip` (links, addresses, namespaces), reading its JSON
//! output. iproute2 is the tool every Linux host has for this; its errors name the problem.

use super::kernel::Kernel;
use anyhow::{bail, Context};
use serde::Deserialize;
use tokio::process::Command;

/// Runs `ip ARGS` through the kernel interface (the real `ip`, or a fake).
pub async fn ip(k: &dyn Kernel, args: &[&str]) -> anyhow::Result<String> {
    k.ip(args).await
}

/// Runs `ip ARGS`; fails with its stderr.
pub async fn run_ip(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .await
        .context("cannot run ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    pub ifname: String,
    #[serde(default)]
    pub master: Option<String>,
    #[serde(default)]
    pub mtu: u32,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub flags: Vec<String>,
}

impl Link {
    pub fn is_up(&self) -> bool {
        self.flags.iter().any(|f| f == "UP")
    }
}

/// Links of the current namespace, or of `netns`.
pub async fn links(k: &dyn Kernel, netns: Option<&str>) -> anyhow::Result<Vec<Link>> {
    let out = match netns {
        Some(ns) => ip(k, &["-n", ns, "-j", "link", "show"]).await?,
        None => ip(k, &["-j", "link", "show"]).await?,
    };
    parse_json_list(&out)
}

#[derive(Debug, Deserialize)]
struct AddrInfo {
    #[serde(default)]
    addr_info: Vec<Addr>,
}

#[derive(Debug, Deserialize)]
struct Addr {
    local: String,
    prefixlen: u8,
    #[serde(default)]
    scope: String,
}

/// Global and host-scoped addresses of `dev` in `netns`, as `ip/prefix`.
pub async fn addresses(k: &dyn Kernel, netns: &str, dev: &str) -> anyhow::Result<Vec<String>> {
    let out = ip(k, &["-n", netns, "-j", "addr", "show", "dev", dev]).await?;
    let infos: Vec<AddrInfo> = parse_json_list(&out)?;
    Ok(infos
        .into_iter()
        .flat_map(|i| i.addr_info)
        .filter(|a| a.scope != "link")
        .map(|a| format!("{}/{}", a.local, a.prefixlen))
        .collect())
}

#[derive(Debug, Deserialize)]
struct Netns {
    name: String,
}

/// Gives `dev` in `netns` exactly the addresses of `want` among those `managed` selects:
/// missing ones are added, other managed ones removed, the rest left alone.
pub async fn sync_addresses(
    k: &dyn Kernel,
    netns: &str,
    dev: &str,
    want: &[String],
    managed: impl Fn(&str) -> bool,
) -> anyhow::Result<()> {
    let have = addresses(k, netns, dev).await?;
    for a in have.iter().filter(|a| managed(a) && !want.contains(a)) {
        ip(k, &["-n", netns, "addr", "del", a, "dev", dev]).await?;
    }
    for a in want.iter().filter(|a| !have.contains(a)) {
        ip(k, &["-n", netns, "addr", "add", a, "dev", dev]).await?;
    }
    Ok(())
}

/// The first IPv4 address of `dev` (the underlay address of a host configured by its
/// interface); synchronous, for start-up.
pub fn first_ipv4(dev: &str) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct Iface {
        #[serde(default)]
        addr_info: Vec<AddrInfo>,
    }
    #[derive(Deserialize)]
    struct AddrInfo {
        local: String,
    }
    let out = std::process::Command::new("ip")
        .args(["-j", "-4", "addr", "show", "dev", dev])
        .output()
        .context("cannot run ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "underlay interface {dev}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse_json_list::<Iface>(&String::from_utf8_lossy(&out.stdout))?
        .into_iter()
        .flat_map(|i| i.addr_info)
        .map(|a| a.local)
        .next()
        .with_context(|| format!("underlay interface {dev} has no IPv4 address"))
}

/// Names of the named network namespaces (`ip netns`).
pub async fn namespaces(k: &dyn Kernel) -> anyhow::Result<Vec<String>> {
    let out = ip(k, &["-j", "netns", "list"]).await?;
    Ok(parse_json_list::<Netns>(&out)?.into_iter().map(|n| n.name).collect())
}

/// `ip -j` prints nothing at all for an empty list.
fn parse_json_list<T: serde::de::DeserializeOwned>(out: &str) -> anyhow::Result<Vec<T>> {
    if out.trim().is_empty() {
        return Ok(vec![]);
    }
    serde_json::from_str(out).context("unexpected output of ip -j")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_links_and_empty_output() {
        let l: Vec<Link> = parse_json_list(
            r#"[{"ifindex":5,"ifname":"ctp1234","flags":["BROADCAST","UP"],"mtu":1450,"master":"cbr-v7","address":"aa:bb:cc:dd:ee:ff"}]"#,
        )
        .unwrap();
        assert_eq!(l[0].master.as_deref(), Some("cbr-v7"));
        assert!(l[0].is_up());
        assert!(parse_json_list::<Link>("\n").unwrap().is_empty());
    }
}
