//! Upload safety: `qemu-img info` tells what the data really is, so a disk that lies about its
//! format, points at a backing file (e.g. /etc/passwd) or declares an absurd size is refused.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct Info {
    format: String,
    #[serde(rename = "virtual-size")]
    virtual_size: i64,
    #[serde(rename = "backing-filename")]
    backing_filename: Option<String>,
    #[serde(rename = "full-backing-filename")]
    full_backing_filename: Option<String>,
    #[serde(rename = "format-specific")]
    format_specific: Option<serde_json::Value>,
}

/// What inspection found about accepted data.
#[derive(Debug)]
pub struct Inspected {
    pub format: String,
    pub virtual_size: i64,
}

/// The qemu-img format name that a declared Glance `disk_format` must be.
/// Formats qemu-img cannot tell apart from raw (kernels, ramdisks, ISOs) are "raw".
fn expected_format(disk_format: &str) -> &str {
    match disk_format {
        "qcow2" => "qcow2",
        "vmdk" => "vmdk",
        "vhd" => "vpc",
        "vhdx" => "vhdx",
        "vdi" => "vdi",
        "ploop" => "parallels",
        _ => "raw",
    }
}

/// Runs `qemu-img info` (probing, never following a backing chain) and applies the rules.
pub async fn inspect(
    qemu_img: &str,
    path: &Path,
    disk_format: &str,
    max_virtual_size: i64,
    require_format_match: bool,
) -> Result<Inspected> {
    let out = tokio::process::Command::new(qemu_img)
        .args(["info", "--output=json", "-U"])
        .arg(path)
        .output()
        .await
        .map_err(|e| Error::Internal(format!("cannot run {qemu_img}: {e}")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(Error::bad_request(format!(
            "Image data could not be inspected: {}",
            why.trim()
        )));
    }
    let info: Info =
        serde_json::from_slice(&out.stdout).map_err(|e| Error::Internal(format!("unexpected qemu-img output: {e}")))?;
    check(&info, disk_format, max_virtual_size, require_format_match)?;
    Ok(Inspected {
        format: info.format,
        virtual_size: info.virtual_size,
    })
}

fn check(info: &Info, disk_format: &str, max_virtual_size: i64, require_format_match: bool) -> Result<()> {
    let expected = expected_format(disk_format);
    if require_format_match && info.format != expected {
        return Err(Error::bad_request(format!(
            "Image data does not match the declared disk_format '{disk_format}': the data is in '{}' format.",
            info.format
        )));
    }
    if info.backing_filename.is_some() || info.full_backing_filename.is_some() {
        return Err(Error::bad_request(
            "Image data refers to a backing file; images must be self-contained.",
        ));
    }
    let data_file = info
        .format_specific
        .as_ref()
        .and_then(|f| f.pointer("/data/data-file"))
        .is_some_and(|v| !v.is_null());
    if data_file {
        return Err(Error::bad_request(
            "Image data refers to an external data file; images must be self-contained.",
        ));
    }
    if info.virtual_size > max_virtual_size {
        return Err(Error::bad_request(format!(
            "Image virtual size {} exceeds the limit of {max_virtual_size} bytes.",
            info.virtual_size
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(format: &str, backing: Option<&str>, specific: Option<serde_json::Value>, vsize: i64) -> Info {
        Info {
            format: format.into(),
            virtual_size: vsize,
            backing_filename: backing.map(Into::into),
            full_backing_filename: None,
            format_specific: specific,
        }
    }

    #[test]
    fn rules() {
        assert!(check(&info("qcow2", None, None, 10), "qcow2", 100, true).is_ok());
        assert!(
            check(&info("raw", None, None, 10), "qcow2", 100, true).is_err(),
            "raw declared as qcow2"
        );
        assert!(
            check(&info("qcow2", None, None, 10), "raw", 100, true).is_err(),
            "qcow2 declared as raw"
        );
        assert!(check(&info("qcow2", Some("/etc/passwd"), None, 10), "qcow2", 100, true).is_err());
        let df = serde_json::json!({"type": "qcow2", "data": {"data-file": "/etc/shadow"}});
        assert!(check(&info("qcow2", None, Some(df), 10), "qcow2", 100, true).is_err());
        assert!(
            check(&info("qcow2", None, None, 1000), "qcow2", 100, true).is_err(),
            "virtual size cap"
        );
        assert!(check(&info("raw", None, None, 10), "iso", 100, true).is_ok());
        assert!(check(&info("vpc", None, None, 10), "vhd", 100, true).is_ok());
        // Without format enforcement a mismatch passes, the safety rules still hold.
        assert!(check(&info("raw", None, None, 10), "qcow2", 100, false).is_ok());
        assert!(check(&info("qcow2", Some("/etc/passwd"), None, 10), "qcow2", 100, false).is_err());
    }
}
