//! l2 population of an overlay network's VXLAN device from desired state, never from
//! flooded traffic: each remote port's MAC in the device's FDB pointing at its host's tunnel
//! endpoint, one all-zero entry per remote host (broadcast and unknown traffic is replicated
//! to exactly the hosts that have ports on the network), and the remote ports' addresses as
//! permanent neighbours, so that the device (created with `proxy`) answers ARP locally.
//! Entries nobody wants any more are removed; entries already right are left alone. A MAC
//! may point at two hosts while its port live-migrates between them.

use super::ip::ip;
use super::kernel::Kernel;
use super::values;
use anyhow::Context;
use ciel_proto::RemotePort;
use serde::Deserialize;
use std::collections::BTreeSet;
use tokio::process::Command;

const FLOOD_MAC: &str = "00:00:00:00:00:00";

#[derive(Deserialize)]
struct FdbEntry {
    mac: String,
    #[serde(default)]
    dst: Option<String>,
}

#[derive(Deserialize)]
struct Neighbour {
    dst: String,
    #[serde(default)]
    lladdr: Option<String>,
    #[serde(default)]
    state: Vec<String>,
}

/// Brings the FDB and neighbour table of VXLAN device `dev` to `remote`.
pub async fn sync(k: &dyn Kernel, dev: &str, remote: &[RemotePort]) -> anyhow::Result<()> {
    let mut want_fdb: BTreeSet<(String, String)> = BTreeSet::new();
    let mut want_neigh: BTreeSet<(String, String)> = BTreeSet::new();
    for p in remote {
        // Parsed before they reach `bridge` and `ip`: a bad entry is skipped, not the network.
        let (mac, vtep) = match (values::mac(&p.mac), values::addr(&p.vtep)) {
            (Ok(m), Ok(v)) => (m.to_string(), v.to_string()),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(%dev, error = %e, "remote port skipped");
                continue;
            }
        };
        want_fdb.insert((FLOOD_MAC.into(), vtep.clone()));
        want_fdb.insert((mac.clone(), vtep));
        for a in &p.ips {
            match values::addr(a) {
                Ok(a) => {
                    want_neigh.insert((a.to_string(), mac.clone()));
                }
                Err(e) => tracing::warn!(%dev, error = %e, "remote port address skipped"),
            }
        }
    }
    let have_fdb: BTreeSet<(String, String)> = fdb(k, dev)
        .await?
        .into_iter()
        .filter_map(|e| Some((e.mac.to_lowercase(), e.dst?)))
        .collect();
    for (mac, dst) in have_fdb.difference(&want_fdb) {
        k.bridge(&["fdb", "del", mac, "dev", dev, "dst", dst]).await?;
    }
    for (mac, dst) in want_fdb.difference(&have_fdb) {
        // A port being live-migrated is on two hosts at once: the VXLAN device sends its
        // frames to both (only the host running the guest takes them), so traffic follows
        // the switchover without waiting for this host to learn of it.
        let on_two_hosts = want_fdb.iter().filter(|(m, _)| m == mac).count() > 1;
        if mac == FLOOD_MAC {
            k.bridge(&["fdb", "append", mac, "dev", dev, "dst", dst]).await?;
        } else if on_two_hosts {
            k.bridge(&["fdb", "append", mac, "dev", dev, "dst", dst, "self", "permanent"])
                .await?;
        } else {
            k.bridge(&["fdb", "replace", mac, "dev", dev, "dst", dst, "self", "permanent"])
                .await?;
        }
    }
    sync_neighbours(k, None, dev, &want_neigh, false).await
}

/// Brings the neighbour table of `dev` (in namespace `ns`) to `want` as permanent entries
/// (address, MAC). Other entries go too, or with `keep_learned` only other permanent ones
/// (what the device learned by ARP for addresses nobody listed stays).
pub async fn sync_neighbours(
    k: &dyn Kernel,
    ns: Option<&str>,
    dev: &str,
    want: &BTreeSet<(String, String)>,
    keep_learned: bool,
) -> anyhow::Result<()> {
    let ns_args: Vec<&str> = ns.map(|n| vec!["-n", n]).unwrap_or_default();
    let out = ip(k, &[ns_args.as_slice(), &["-j", "neigh", "show", "dev", dev]].concat()).await?;
    let entries: Vec<Neighbour> = if out.trim().is_empty() {
        vec![]
    } else {
        serde_json::from_str(&out).context("unexpected output of ip -j neigh")?
    };
    let have: BTreeSet<(String, String)> = entries
        .iter()
        .filter(|n| !keep_learned || n.state.iter().any(|s| s == "PERMANENT"))
        .filter_map(|n| Some((n.dst.clone(), n.lladdr.as_ref()?.to_lowercase())))
        .collect();
    for (addr, _) in have.difference(want) {
        ip(k, &[ns_args.as_slice(), &["neigh", "del", addr, "dev", dev]].concat())
            .await
            .ok();
    }
    for (addr, mac) in want.difference(&have) {
        let replace = ["neigh", "replace", addr, "lladdr", mac, "dev", dev, "nud", "permanent"];
        ip(k, &[ns_args.as_slice(), &replace].concat()).await?;
    }
    Ok(())
}

async fn fdb(k: &dyn Kernel, dev: &str) -> anyhow::Result<Vec<FdbEntry>> {
    let out = k.bridge(&["-j", "fdb", "show", "dev", dev]).await?;
    if out.trim().is_empty() {
        return Ok(vec![]);
    }
    serde_json::from_str(&out).context("unexpected output of bridge -j fdb")
}

/// Runs iproute2's `bridge ARGS`; fails with its stderr.
pub async fn run_bridge(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("bridge")
        .args(args)
        .output()
        .await
        .context("cannot run bridge (iproute2)")?;
    if !out.status.success() {
        anyhow::bail!(
            "bridge {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
