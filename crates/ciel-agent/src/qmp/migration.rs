//! The QMP commands of live migration: the migration stream itself, and the NBD server,
//! exports and mirror jobs that copy local disks to the destination while the guest runs.

use super::commands::{Command, Empty};
use serde::{Deserialize, Serialize};

macro_rules! command {
    ($ty:ident, $name:literal, $reply:ty) => {
        impl Command for $ty {
            const NAME: &'static str = $name;
            type Reply = $reply;
        }
    };
}

/// `migrate-set-capabilities`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrateSetCapabilities {
    pub capabilities: Vec<Capability>,
}
command!(MigrateSetCapabilities, "migrate-set-capabilities", Empty);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capability {
    pub capability: &'static str,
    pub state: bool,
}

impl MigrateSetCapabilities {
    pub fn on(names: &[&'static str]) -> Self {
        Self {
            capabilities: names
                .iter()
                .map(|&capability| Capability {
                    capability,
                    state: true,
                })
                .collect(),
        }
    }
}

/// `migrate-set-parameters`: the switchover pause QEMU may plan for, and the bandwidth cap.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct MigrateSetParameters {
    pub downtime_limit: u64,
    pub max_bandwidth: u64,
}
command!(MigrateSetParameters, "migrate-set-parameters", Empty);

/// `migrate` (source): starts sending to `uri` (`tcp:ADDR:PORT`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Migrate {
    pub uri: String,
}
command!(Migrate, "migrate", Empty);

/// `migrate-incoming` (destination, started with `-incoming defer`): listens on `uri`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrateIncoming {
    pub uri: String,
}
command!(MigrateIncoming, "migrate-incoming", Empty);

/// `migrate_cancel` (source): the guest goes on running there; the destination exits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrateCancel {}
command!(MigrateCancel, "migrate_cancel", Empty);

/// `migrate-continue`: leaves the `pre-switchover` pause (local disks are in sync).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrateContinue {
    pub state: &'static str,
}
command!(MigrateContinue, "migrate-continue", Empty);

/// `query-migrate`: the migration's state and figures (empty before any migration).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryMigrate {}
command!(QueryMigrate, "query-migrate", MigrationInfo);

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MigrationInfo {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub ram: Option<RamStats>,
    #[serde(default)]
    pub downtime: Option<u64>,
    #[serde(default)]
    pub total_time: Option<u64>,
    #[serde(default)]
    pub error_desc: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RamStats {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub transferred: u64,
    #[serde(default)]
    pub remaining: u64,
}

/// `nbd-server-start` on an address of the host (the destination's underlay address).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NbdServerStart {
    pub addr: SocketAddress,
}
command!(NbdServerStart, "nbd-server-start", Empty);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocketAddress {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub data: InetAddress,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InetAddress {
    pub host: String,
    pub port: String,
}

impl NbdServerStart {
    pub fn inet(host: &str, port: u16) -> Self {
        Self {
            addr: SocketAddress {
                kind: "inet",
                data: InetAddress {
                    host: host.into(),
                    port: port.to_string(),
                },
            },
        }
    }
}

/// `nbd-server-stop`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NbdServerStop {}
command!(NbdServerStop, "nbd-server-stop", Empty);

/// `block-export-add` of a node over NBD, writable: where the source mirrors a local disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlockExportAdd {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub node_name: String,
    pub name: String,
    pub writable: bool,
}
command!(BlockExportAdd, "block-export-add", Empty);

/// `block-export-del`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockExportDel {
    pub id: String,
}
command!(BlockExportDel, "block-export-del", Empty);

/// `blockdev-add` of an NBD client node (source): the destination's export of a disk.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NbdClientAdd {
    pub driver: &'static str,
    pub node_name: String,
    pub server: NbdServer,
    pub export: String,
}
command!(NbdClientAdd, "blockdev-add", Empty);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NbdServer {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub host: String,
    pub port: String,
}

/// `blockdev-mirror`: copies `device` to `target` and keeps them in sync until cancelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlockdevMirror {
    pub job_id: String,
    pub device: String,
    pub target: String,
    /// `top`: only what the overlay holds (the destination has the same base image);
    /// `full`: everything (a disk without a backing file).
    pub sync: &'static str,
}
command!(BlockdevMirror, "blockdev-mirror", Empty);

/// `block-job-cancel`: on a ready mirror without `force`, drains what is left and ends
/// without switching the source to the target (the target is then an exact copy).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockJobCancel {
    pub device: String,
    pub force: bool,
}
command!(BlockJobCancel, "block-job-cancel", Empty);

/// `block-job-complete`: switches a ready mirror's device to its target (the job then ends).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockJobComplete {
    pub device: String,
}
command!(BlockJobComplete, "block-job-complete", Empty);

/// `query-block-jobs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryBlockJobs {}
command!(QueryBlockJobs, "query-block-jobs", Vec<BlockJobInfo>);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockJobInfo {
    pub device: String,
    #[serde(default)]
    pub len: u64,
    #[serde(default)]
    pub offset: u64,
    #[serde(default)]
    pub ready: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn migration_commands_serialize_as_qemu_documents_them() {
        let caps = MigrateSetCapabilities::on(&["events", "late-block-activate"]);
        assert_eq!(
            serde_json::to_value(&caps).unwrap(),
            json!({"capabilities": [{"capability": "events", "state": true}, {"capability": "late-block-activate", "state": true}]})
        );
        let p = MigrateSetParameters {
            downtime_limit: 500,
            max_bandwidth: 1 << 30,
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"downtime-limit": 500, "max-bandwidth": 1073741824})
        );
        assert_eq!(
            serde_json::to_value(NbdServerStart::inet("10.0.0.2", 49153)).unwrap(),
            json!({"addr": {"type": "inet", "data": {"host": "10.0.0.2", "port": "49153"}}})
        );
        let client = NbdClientAdd {
            driver: "nbd",
            node_name: "mig-root0".into(),
            server: NbdServer {
                kind: "inet",
                host: "10.0.0.2".into(),
                port: "49153".into(),
            },
            export: "root0".into(),
        };
        assert_eq!(
            serde_json::to_value(&client).unwrap(),
            json!({"driver": "nbd", "node-name": "mig-root0", "server": {"type": "inet", "host": "10.0.0.2", "port": "49153"}, "export": "root0"})
        );
        let info: MigrationInfo =
            serde_json::from_value(json!({"status": "completed", "downtime": 80, "total-time": 713,
            "ram": {"total": 285810688, "transferred": 92823450, "remaining": 0, "mbps": 1045.3}}))
            .unwrap();
        assert_eq!(info.status.as_deref(), Some("completed"));
        assert_eq!(info.downtime, Some(80));
        assert_eq!(info.total_time, Some(713));
        assert_eq!(info.ram.unwrap().transferred, 92823450);
    }
}
