//! Moving an attached volume's disk while the guest runs (what Nova's swap volume does for
//! Cinder's migration of an in-use volume): QEMU mirrors the disk into a new copy on another
//! backend of this host (`blockdev-mirror`, sync `full`), and once the copy follows every
//! write, `block-job-complete` switches the guest's disk to it. The old copy is removed
//! afterwards by the controller's `RemoveOld` task, once the volume's new place is recorded.
//!
//! The VM's directory keeps what its disks run on after a move (`disk-nodes`: node name and
//! backend per moved volume), so a finished mirror is never done again, and the failed ones
//! (`mirror-failures`), reported until the migration is no longer listed. A mirror never
//! fails the VM: the guest keeps running on the old copy.

use super::{read_json, read_volumes, volume_ids, write_json, QemuDriver};
use crate::qmp::commands::{BlockdevDel, QueryBlock};
use crate::qmp::migration::{BlockJobComplete, BlockdevMirror, QueryBlockJobs};
use anyhow::{bail, Context};
use ciel_proto::{
    VmSpec, VmState, VolumeAttachment, VolumeMigrationOutcome, VolumeMigrationStatus, VolumeMirror, VolumeSpec,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

const NODES: &str = "disk-nodes";
const FAILURES: &str = "mirror-failures";
/// How long a mirror may take to catch up with the guest (TCG guests, large volumes).
const CATCH_UP: Duration = Duration::from_secs(1800);
const POLL: Duration = Duration::from_millis(100);

/// Where a moved volume's disk runs now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct DiskNode {
    pub node: String,
    pub backend: String,
}

fn read_nodes(dir: &Path) -> HashMap<String, DiskNode> {
    read_json(dir, NODES)
}

fn write_nodes(dir: &Path, nodes: &HashMap<String, DiskNode>) -> anyhow::Result<()> {
    write_json(dir, NODES, nodes)
}

fn read_failures(dir: &Path) -> HashMap<String, String> {
    read_json(dir, FAILURES)
}

fn write_failures(dir: &Path, f: &HashMap<String, String>) -> anyhow::Result<()> {
    write_json(dir, FAILURES, f)
}

/// The node name of attached volume `id`'s disk in the running QEMU.
pub(super) fn node_of(dir: &Path, id: &str) -> String {
    read_nodes(dir)
        .remove(id)
        .map(|n| n.node)
        .unwrap_or_else(|| volume_ids(id).0)
}

/// Forgets a detached volume's moved disk.
pub(super) fn forget(dir: &Path, id: &str) -> anyhow::Result<()> {
    let mut nodes = read_nodes(dir);
    if nodes.remove(id).is_some() {
        write_nodes(dir, &nodes)?;
    }
    Ok(())
}

/// A fresh QEMU has its volumes on the nodes named after them.
pub(super) fn reset(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(NODES));
}

/// The other node name of a volume's disk: a mirror's target must not clash with its source.
fn other_node(volume_id: &str, now: &str) -> String {
    let (node, _) = volume_ids(volume_id);
    if now == node {
        format!("m{}", &node[1..])
    } else {
        node
    }
}

/// The outcomes of the mirrors `spec` lists, for the VM's status (`state` is what the VM
/// converged to: a VM that does not run cannot mirror, so its mirrors fail).
pub(super) fn outcomes(dir: &Path, spec: &VmSpec, state: VmState) -> Vec<VolumeMigrationStatus> {
    let nodes = read_nodes(dir);
    let failures = read_failures(dir);
    let running = matches!(state, VmState::Running | VmState::Paused);
    let mut out = vec![];
    for v in &spec.volumes {
        let Some(m) = &v.mirror else { continue };
        let outcome = if nodes.get(&v.volume_id).is_some_and(|n| n.backend == m.backend) {
            VolumeMigrationOutcome::Copied
        } else if let Some(message) = failures.get(&m.migration_id) {
            VolumeMigrationOutcome::Failed {
                message: message.clone(),
            }
        } else if !running {
            VolumeMigrationOutcome::Failed {
                message: "the server's QEMU is not running: an attached volume moves only under a running guest".into(),
            }
        } else {
            continue;
        };
        out.push(VolumeMigrationStatus {
            id: m.migration_id.clone(),
            outcome,
        });
    }
    out
}

impl QemuDriver {
    /// Moves the attached volumes the spec says move, one after another; a failure is
    /// recorded for the report, never returned.
    pub(super) async fn sync_mirrors(&self, spec: &VmSpec) -> anyhow::Result<()> {
        let dir = self.dir(&spec.id);
        let mut failures = read_failures(&dir);
        let listed: Vec<&str> = spec
            .volumes
            .iter()
            .filter_map(|v| v.mirror.as_ref().map(|m| m.migration_id.as_str()))
            .collect();
        let before = failures.len();
        failures.retain(|k, _| listed.contains(&k.as_str()));
        if failures.len() != before {
            write_failures(&dir, &failures)?;
        }
        let attached = read_volumes(&dir);
        for v in &spec.volumes {
            let Some(m) = &v.mirror else { continue };
            let moved = read_nodes(&dir)
                .get(&v.volume_id)
                .is_some_and(|n| n.backend == m.backend);
            if moved || failures.contains_key(&m.migration_id) || !attached.iter().any(|(id, _)| id == &v.volume_id) {
                continue;
            }
            let started = Instant::now();
            match self.mirror_volume(spec, v, m).await {
                Ok(()) => {
                    tracing::info!(vm = %spec.id, volume = %v.volume_id, backend = %m.backend, ms = started.elapsed().as_millis() as u64, "attached volume moved: the disk runs on its new copy")
                }
                Err(e) => {
                    tracing::warn!(vm = %spec.id, volume = %v.volume_id, backend = %m.backend, error = %format!("{e:#}"), "moving an attached volume failed; the disk stays on its old copy");
                    failures.insert(m.migration_id.clone(), format!("{e:#}"));
                    write_failures(&dir, &failures)?;
                }
            }
        }
        Ok(())
    }

    /// A new copy of `v` on `m.backend`, mirrored and switched to; on failure what was made
    /// for it goes and the disk stays where it was.
    async fn mirror_volume(&self, spec: &VmSpec, v: &VolumeAttachment, m: &VolumeMirror) -> anyhow::Result<()> {
        let dir = self.dir(&spec.id);
        let id = &v.volume_id;
        let dest = self
            .volumes
            .get(&m.backend)
            .with_context(|| format!("this host has no '{}' storage backend", m.backend))?;
        // The disk runs on another backend (the controller moves a volume to a backend it is
        // not on), so a copy found there is what an interrupted attempt left.
        if dest.volumes().contains(id) {
            dest.remove_volume(id).await?;
        }
        let empty = VolumeSpec {
            id: id.clone(),
            size_gb: v.size_gb,
            backend: m.backend.clone(),
            source: None,
        };
        dest.create(&empty, None).await?;
        let from = node_of(&dir, id);
        let to = other_node(id, &from);
        if let Err(e) = self.mirror_and_switch(spec, v, dest, &from, &to).await {
            let _ = self.qmp(&spec.id, BlockdevDel { node_name: to.clone() }).await;
            if let Err(r) = dest.remove_volume(id).await {
                tracing::warn!(volume = %id, error = %format!("{r:#}"), "cannot remove the unfinished copy");
            }
            return Err(e);
        }
        // The guest's disk is on the new copy: the old node goes (its image is removed once
        // the controller has recorded the move).
        if let Err(e) = self
            .qmp(
                &spec.id,
                BlockdevDel {
                    node_name: from.clone(),
                },
            )
            .await
        {
            tracing::warn!(vm = %spec.id, node = %from, error = %e, "cannot close the old copy's node");
        }
        let mut nodes = read_nodes(&dir);
        nodes.insert(
            id.clone(),
            DiskNode {
                node: to,
                backend: m.backend.clone(),
            },
        );
        write_nodes(&dir, &nodes)
    }

    async fn mirror_and_switch(
        &self,
        spec: &VmSpec,
        v: &VolumeAttachment,
        dest: &dyn crate::storage::VolumeBackend,
        from: &str,
        to: &str,
    ) -> anyhow::Result<()> {
        let vm = &spec.id;
        let job = format!("swap-{}", &to[1..]);
        let blockdev = dest.disk(&v.volume_id).blockdev(dest.format(), to, v.read_only);
        self.qmp(vm, blockdev).await.context("blockdev-add of the new copy")?;
        self.qmp(
            vm,
            BlockdevMirror {
                job_id: job.clone(),
                device: from.into(),
                target: to.into(),
                sync: "full",
            },
        )
        .await
        .context("blockdev-mirror")?;
        let deadline = Instant::now() + CATCH_UP;
        loop {
            let jobs = self.qmp(vm, QueryBlockJobs {}).await?;
            match jobs.iter().find(|j| j.device == job) {
                Some(j) if j.ready => break,
                Some(_) => {}
                None => bail!("the mirror into the new copy stopped (an I/O error on either copy?)"),
            }
            if Instant::now() > deadline {
                self.force_cancel_job(vm, &job).await;
                bail!(
                    "the mirror into the new copy did not catch up in {} s",
                    CATCH_UP.as_secs()
                );
            }
            tokio::time::sleep(POLL).await;
        }
        self.qmp(vm, BlockJobComplete { device: job.clone() })
            .await
            .context("block-job-complete")?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.qmp(vm, QueryBlockJobs {}).await?.iter().any(|j| j.device == job) {
            if Instant::now() > deadline {
                self.force_cancel_job(vm, &job).await;
                bail!("the switch to the new copy did not finish");
            }
            tokio::time::sleep(POLL).await;
        }
        // Whether the guest's disk switched: the job ends the same way when it failed.
        let (_, device) = volume_ids(&v.volume_id);
        let blocks = self.qmp(vm, QueryBlock {}).await?;
        let on = blocks
            .iter()
            .find(|b| {
                b.qdev
                    .as_deref()
                    .is_some_and(|q| q == device || q.starts_with(&format!("/machine/peripheral/{device}/")))
            })
            .and_then(|b| b.inserted.as_ref())
            .and_then(|i| i.node_name.clone());
        if on.as_deref() != Some(to) {
            bail!("the disk did not switch to the new copy (it is on {on:?})");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory removed at the end of the test.
    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_mirror_target_alternates_between_two_node_names() {
        let id = "0b6f8c2e-1c7a-4a51-9d3e-5f0f2b9a7c11";
        let first = volume_ids(id).0;
        let second = other_node(id, &first);
        assert_ne!(first, second);
        assert!(second.len() <= 31);
        assert_eq!(other_node(id, &second), first);
    }

    #[test]
    fn outcomes_say_copied_failed_or_nothing_yet() {
        let path = std::env::temp_dir().join(format!("ciel-swap-test-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        let dir = Dir(path);
        let mirror = |mid: &str, vol: &str| VolumeAttachment {
            volume_id: vol.into(),
            read_only: false,
            size_gb: 1,
            backend: "file".into(),
            throttle: None,
            mirror: Some(VolumeMirror {
                migration_id: mid.into(),
                backend: "rbd".into(),
            }),
        };
        let spec = VmSpec {
            volumes: vec![mirror("m1", "v1"), mirror("m2", "v2"), mirror("m3", "v3")],
            ..super::super::tests::spec()
        };
        let mut nodes = HashMap::new();
        nodes.insert(
            "v1".to_string(),
            DiskNode {
                node: "mv1".into(),
                backend: "rbd".into(),
            },
        );
        write_nodes(dir.0.as_path(), &nodes).unwrap();
        write_failures(
            dir.0.as_path(),
            &HashMap::from([("m2".to_string(), "boom".to_string())]),
        )
        .unwrap();
        let out = outcomes(dir.0.as_path(), &spec, VmState::Running);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].outcome, VolumeMigrationOutcome::Copied);
        assert_eq!(
            out[1].outcome,
            VolumeMigrationOutcome::Failed { message: "boom".into() }
        );
        let stopped = outcomes(dir.0.as_path(), &spec, VmState::Stopped);
        assert_eq!(stopped.len(), 3);
        assert!(matches!(stopped[2].outcome, VolumeMigrationOutcome::Failed { .. }));
        assert_eq!(node_of(dir.0.as_path(), "v1"), "mv1");
        forget(dir.0.as_path(), "v1").unwrap();
        assert_eq!(node_of(dir.0.as_path(), "v1"), volume_ids("v1").0);
    }
}
