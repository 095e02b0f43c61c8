//! Where a disk's data is, in the forms QEMU and `qemu-img` take: a file or device path, or
//! an RBD image of a Ceph pool. An RBD disk is never written as `rbd:pool/image:conf=…`
//! text: QEMU gets a typed blockdev (`-blockdev`/`blockdev-add` JSON) and `qemu-img` the
//! same description as a `json:` name, so no value can add an option of its own.

use crate::qmp::commands::{BlockdevAdd, BlockdevFile};
use std::path::PathBuf;

/// A disk as QEMU opens it.
#[derive(Debug, Clone, PartialEq)]
pub enum Disk {
    /// A file (`protocol` `file`) or a block device (`host_device`) on this host.
    Local { path: PathBuf, device: bool },
    /// An image in a Ceph pool.
    Rbd(RbdImage),
}

/// An RBD image and how to reach its cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct RbdImage {
    pub pool: String,
    pub image: String,
    pub conf: PathBuf,
    /// The cephx user (`ciel` for `client.ciel`).
    pub user: String,
}

impl Disk {
    /// The protocol node under a format node.
    pub fn blockdev_file(&self, read_only: bool) -> BlockdevFile {
        match self {
            Disk::Local { path, device: false } => BlockdevFile::File {
                filename: path.clone(),
                read_only,
            },
            Disk::Local { path, device: true } => BlockdevFile::HostDevice {
                filename: path.clone(),
                read_only,
            },
            Disk::Rbd(r) => BlockdevFile::Rbd {
                pool: r.pool.clone(),
                image: r.image.clone(),
                conf: r.conf.clone(),
                user: r.user.clone(),
                read_only,
            },
        }
    }

    /// A format node over this disk, for `blockdev-add` or `-blockdev`.
    pub fn blockdev(&self, format: &str, node_name: &str, read_only: bool) -> BlockdevAdd {
        BlockdevAdd {
            driver: format.into(),
            node_name: node_name.into(),
            read_only,
            file: self.blockdev_file(read_only),
        }
    }

    /// The name `qemu-img` opens: the path, or a `json:` description of the RBD image
    /// (read-only for a source read while a VM may have it open: `-U` wants that).
    pub fn qemu_img_name(&self, read_only: bool) -> String {
        match self {
            Disk::Local { path, .. } => path.display().to_string(),
            Disk::Rbd(_) => {
                let file = serde_json::to_value(self.blockdev_file(read_only)).unwrap_or_default();
                format!("json:{}", serde_json::json!({ "file": file }))
            }
        }
    }

    /// Whether the disk is on this host and exists (an RBD image is not looked up here).
    pub fn exists_locally(&self) -> bool {
        matches!(self, Disk::Local { path, .. } if path.exists())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rbd() -> Disk {
        Disk::Rbd(RbdImage {
            pool: "volumes".into(),
            image: "volume-1".into(),
            conf: "/etc/ceph/ceph.conf".into(),
            user: "ciel".into(),
        })
    }

    #[test]
    fn rbd_disks_are_typed_blockdevs() {
        let add = serde_json::to_value(rbd().blockdev("raw", "v1", true)).unwrap();
        assert_eq!(
            add,
            serde_json::json!({"driver": "raw", "node-name": "v1", "read-only": true,
                "file": {"driver": "rbd", "pool": "volumes", "image": "volume-1",
                         "conf": "/etc/ceph/ceph.conf", "user": "ciel", "read-only": true}})
        );
        let name = rbd().qemu_img_name(true);
        let json: serde_json::Value = serde_json::from_str(name.strip_prefix("json:").unwrap()).unwrap();
        assert_eq!(json["file"]["driver"], "rbd");
        assert_eq!(json["file"]["image"], "volume-1");
        assert_eq!(json["file"]["read-only"], true);
    }

    #[test]
    fn local_disks_keep_their_protocol() {
        let f = Disk::Local {
            path: "/v/a.qcow2".into(),
            device: false,
        };
        assert_eq!(f.qemu_img_name(false), "/v/a.qcow2");
        let d = serde_json::to_value(
            Disk::Local {
                path: "/dev/vg/x".into(),
                device: true,
            }
            .blockdev_file(false),
        )
        .unwrap();
        assert_eq!(d["driver"], "host_device");
    }
}
