//! What an instance reads about itself, as a tree of files in the layouts cloud-init and
//! other guest agents know: OpenStack's `openstack/<version>/{meta_data.json, user_data,
//! network_data.json, vendor_data*.json}` and EC2's `<version>/{meta-data/…, user-data}`.
//! The metadata service serves it over HTTP; the config drive is the same tree on an ISO.

use anyhow::{bail, Context};
use ciel_proto::InstanceMetadata;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// An instance's metadata from the controller (`base`: this host's agent API URL there),
/// looked up by `server_id`, or by `network_id` and `ip`.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    query: &[(&str, &str)],
) -> anyhow::Result<InstanceMetadata> {
    Ok(http
        .get(format!("{base}/{}", ciel_proto::METADATA_PATH))
        .query(query)
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// OpenStack metadata versions Nova serves; all get the same content here.
const OPENSTACK_VERSIONS: &[&str] = &[
    "2012-08-10",
    "2013-04-04",
    "2013-10-17",
    "2015-10-15",
    "2016-06-30",
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    "latest",
];
const EC2_VERSIONS: &[&str] = &["1.0", "2007-01-19", "2009-04-04", "latest"];

#[derive(Debug, Clone)]
pub enum Node {
    File(Vec<u8>),
    /// Entries, and the listing when it is not just their names (EC2's `0=keyname`).
    Dir(BTreeMap<String, Node>, Option<String>),
}

fn dir(entries: Vec<(&str, Node)>) -> Node {
    Node::Dir(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), None)
}

fn file(s: impl Into<Vec<u8>>) -> Node {
    Node::File(s.into())
}

/// `i-0000abcd`-style ids from UUIDs, as EC2 clients expect.
fn ec2_id(prefix: &str, uuid: &str) -> String {
    format!(
        "{prefix}-{}",
        uuid.chars().filter(char::is_ascii_hexdigit).take(8).collect::<String>()
    )
}

pub fn meta_data_json(md: &InstanceMetadata) -> Value {
    let mut v = json!({
        "uuid": md.uuid, "name": md.name, "hostname": md.hostname, "launch_index": md.launch_index,
        "availability_zone": md.availability_zone, "project_id": md.project_id, "meta": md.meta,
        "devices": [], "public_keys": {}, "keys": [],
    });
    if let Some((name, kind, key)) = &md.key {
        v["public_keys"] = json!({ name: key });
        v["keys"] = json!([{"name": name, "type": kind, "data": key}]);
    }
    v
}

fn ec2_meta_data(md: &InstanceMetadata) -> Node {
    let first = |v: &[String]| v.first().cloned().unwrap_or_default();
    let mut entries = vec![
        ("ami-id", file(ec2_id("ami", &md.image_id))),
        ("ami-launch-index", file(md.launch_index.to_string())),
        ("ami-manifest-path", file("FIXME")),
        (
            "block-device-mapping",
            dir(vec![("ami", file("vda")), ("root", file("/dev/vda"))]),
        ),
        ("hostname", file(md.hostname.clone())),
        ("instance-action", file("none")),
        ("instance-id", file(ec2_id("i", &md.uuid))),
        ("instance-type", file(md.instance_type.clone())),
        ("local-hostname", file(md.hostname.clone())),
        ("local-ipv4", file(first(&md.fixed_ips))),
        (
            "placement",
            dir(vec![("availability-zone", file(md.availability_zone.clone()))]),
        ),
        ("public-hostname", file(md.hostname.clone())),
        ("public-ipv4", file(first(&md.floating_ips))),
        ("reservation-id", file(ec2_id("r", &md.uuid))),
        ("security-groups", file("default")),
    ];
    if let Some((name, _, key)) = &md.key {
        let keys = dir(vec![("0", dir(vec![("openssh-key", file(key.clone()))]))]);
        let Node::Dir(k, _) = keys else { unreachable!() };
        entries.push(("public-keys", Node::Dir(k, Some(format!("0={name}")))));
    }
    dir(entries)
}

/// The whole tree: `openstack/…` and the EC2 versions at the top.
pub fn tree(md: &InstanceMetadata) -> Node {
    let meta = serde_json::to_vec(&meta_data_json(md)).unwrap_or_default();
    let network = serde_json::to_vec(&md.network_data).unwrap_or_default();
    let mut openstack = BTreeMap::new();
    for v in OPENSTACK_VERSIONS {
        let mut files = vec![
            ("meta_data.json", file(meta.clone())),
            ("network_data.json", file(network.clone())),
            ("vendor_data.json", file("{}")),
            ("vendor_data2.json", file("{}")),
        ];
        if let Some(u) = &md.user_data {
            files.push(("user_data", file(u.clone())));
        }
        openstack.insert(v.to_string(), dir(files));
    }
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    root.insert("openstack".into(), Node::Dir(openstack, None));
    for v in EC2_VERSIONS {
        let mut entries = vec![("meta-data", ec2_meta_data(md))];
        if let Some(u) = &md.user_data {
            entries.push(("user-data", file(u.clone())));
        }
        root.insert(v.to_string(), dir(entries));
    }
    Node::Dir(root, None)
}

/// The node at an HTTP path (`/openstack/latest/meta_data.json`, `/latest/meta-data/`).
pub fn find<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    let mut node = root;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        match node {
            Node::Dir(entries, _) => node = entries.get(part)?,
            Node::File(_) => return None,
        }
    }
    Some(node)
}

/// A directory as the metadata service lists it: one name per line, `/` after directories.
pub fn listing(node: &Node) -> String {
    match node {
        Node::Dir(_, Some(custom)) => custom.clone(),
        Node::Dir(entries, None) => entries
            .iter()
            .map(|(k, v)| match v {
                Node::Dir(..) => format!("{k}/"),
                Node::File(_) => k.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Node::File(_) => String::new(),
    }
}

/// EC2 meta-data as the JSON document a config drive carries.
fn to_json(node: &Node) -> Value {
    match node {
        Node::File(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Node::Dir(entries, _) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// Writes the config drive (ISO 9660, volume label `config-2`, the layout Nova writes) to
/// `iso` with genisoimage.
pub async fn write_config_drive(md: &InstanceMetadata, iso: &Path) -> anyhow::Result<()> {
    let staging = iso.with_extension("staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    let Node::Dir(root, _) = tree(md) else { unreachable!() };
    if let Some(Node::Dir(versions, _)) = root.get("openstack") {
        for (v, node) in versions {
            let Node::Dir(files, _) = node else { continue };
            let d = staging.join("openstack").join(v);
            std::fs::create_dir_all(&d)?;
            for (name, f) in files {
                if let Node::File(b) = f {
                    std::fs::write(d.join(name), b)?;
                }
            }
        }
    }
    for v in ["2009-04-04", "latest"] {
        let Some(Node::Dir(entries, _)) = root.get(v) else {
            continue;
        };
        let d = staging.join("ec2").join(v);
        std::fs::create_dir_all(&d)?;
        if let Some(m) = entries.get("meta-data") {
            std::fs::write(d.join("meta-data.json"), serde_json::to_vec(&to_json(m))?)?;
        }
        if let Some(Node::File(u)) = entries.get("user-data") {
            std::fs::write(d.join("user-data"), u)?;
        }
    }
    let tmp = iso.with_extension("iso.tmp");
    let out = tokio::process::Command::new("genisoimage")
        .args(["-o"])
        .arg(&tmp)
        .args([
            "-ldots",
            "-allow-lowercase",
            "-allow-multidot",
            "-l",
            "-V",
            "config-2",
            "-r",
            "-J",
            "-quiet",
        ])
        .arg(&staging)
        .output()
        .await
        .context("cannot run genisoimage (apt-get install genisoimage)")?;
    std::fs::remove_dir_all(&staging).ok();
    if !out.status.success() {
        bail!("genisoimage failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    std::fs::rename(&tmp, iso)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> InstanceMetadata {
        InstanceMetadata {
            uuid: "0f1e2d3c-0000-4000-8000-000000000001".into(),
            name: "web 1".into(),
            hostname: "web-1".into(),
            key: Some(("k1".into(), "ssh".into(), "ssh-ed25519 AAAA test".into())),
            user_data: Some(b"#!/bin/sh\necho hi\n".to_vec()),
            fixed_ips: vec!["10.0.0.5".into()],
            ..Default::default()
        }
    }

    #[test]
    fn serves_openstack_and_ec2_paths() {
        let t = tree(&sample());
        let Some(Node::File(m)) = find(&t, "/openstack/latest/meta_data.json") else {
            panic!("meta_data.json missing")
        };
        let m: Value = serde_json::from_slice(m).unwrap();
        assert_eq!(m["hostname"], "web-1");
        assert_eq!(m["public_keys"]["k1"], "ssh-ed25519 AAAA test");
        assert!(matches!(find(&t, "/latest/user-data"), Some(Node::File(u)) if u.starts_with(b"#!/bin/sh")));
        assert!(matches!(find(&t, "/2009-04-04/meta-data/local-ipv4"), Some(Node::File(ip)) if ip == b"10.0.0.5"));
        let keys = find(&t, "/latest/meta-data/public-keys/").unwrap();
        assert_eq!(listing(keys), "0=k1");
        assert!(
            matches!(find(&t, "/latest/meta-data/public-keys/0/openssh-key"), Some(Node::File(k)) if k.starts_with(b"ssh-ed25519"))
        );
        assert!(listing(find(&t, "/latest/meta-data").unwrap()).contains("placement/"));
        assert!(find(&t, "/openstack/latest/nothing").is_none());
    }

    #[test]
    fn no_key_no_user_data() {
        let md = InstanceMetadata::default();
        let t = tree(&md);
        assert!(find(&t, "/latest/user-data").is_none());
        assert!(find(&t, "/latest/meta-data/public-keys").is_none());
    }
}
