//! Copies a local disk from one host to another without the guest: the source serves the
//! disk read-only over NBD (`qemu-nbd`, bound to its underlay address), the destination
//! pulls it with `qemu-img convert`. What is served depends on the format given to
//! [`serve`]: `raw` serves a file's bytes as they are, so a qcow2 overlay arrives as the same
//! qcow2 file (NBD rounds the size up to 512 bytes: at most 511 zero bytes follow, which qcow2
//! ignores) whose backing file is then pointed at the destination's own copy of the image
//! (cold migration); `qcow2` serves the disk's contents, which the destination writes into
//! a volume of any backend with [`nbd_source`] (volume migration).

use anyhow::{bail, Context};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Serves `path` read-only on `addr:port` until [`stop`], opened as `format` (`raw`: its
/// bytes; `qcow2`: the disk it holds); the server's pid goes to `pid_file`. Calling it again
/// while that server runs does nothing.
pub async fn serve(path: &Path, addr: &str, port: u16, pid_file: &Path, format: &str) -> anyhow::Result<()> {
    let ip: IpAddr = addr.parse().with_context(|| format!("{addr:?} is not an IP address"))?;
    if !matches!(format, "raw" | "qcow2") {
        bail!("cannot serve a disk as {format:?}");
    }
    if serving(pid_file, path) {
        return Ok(());
    }
    stop(pid_file);
    // `--fork` returns once the server listens: the destination can connect right after.
    let out = tokio::process::Command::new("qemu-nbd")
        .arg("--read-only")
        .arg(format!("--format={format}"))
        .arg(format!("--bind={ip}"))
        .arg(format!("--port={port}"))
        .arg("--persistent")
        .arg("--shared=4")
        .arg("--fork")
        .arg("--pid-file")
        .arg(pid_file)
        .arg(path)
        .output()
        .await
        .context("cannot run qemu-nbd")?;
    if !out.status.success() {
        bail!(
            "qemu-nbd cannot serve {} on {ip}:{port}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    tracing::info!(disk = %path.display(), %ip, port, "serving the disk to the migration's destination");
    Ok(())
}

/// Stops the server [`serve`] started, if it runs.
pub fn stop(pid_file: &Path) {
    if let Some(pid) = server_pid(pid_file) {
        let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    }
    let _ = std::fs::remove_file(pid_file);
}

/// What `addr:port` serves, as a name `qemu-img` opens (format `raw`). A typed description,
/// not an `nbd://` text: no value can add an option of its own.
pub fn nbd_source(addr: &str, port: u16) -> anyhow::Result<String> {
    let ip: IpAddr = addr.parse().with_context(|| format!("{addr:?} is not an IP address"))?;
    let source = serde_json::json!({
        "driver": "raw",
        "file": {"driver": "nbd", "server": {"type": "inet", "host": ip.to_string(), "port": port.to_string()}},
    });
    Ok(format!("json:{source}"))
}

/// Copies what `addr:port` serves into `dest`, through `dest.part` renamed when complete.
pub async fn pull(qemu_img: &str, addr: &str, port: u16, dest: &Path) -> anyhow::Result<()> {
    let ip: IpAddr = addr.parse().with_context(|| format!("{addr:?} is not an IP address"))?;
    let source = nbd_source(addr, port)?;
    let part = part_of(dest);
    let out = tokio::process::Command::new(qemu_img)
        .args(["convert", "-q", "-f", "raw", "-O", "raw"])
        .arg(source)
        .arg(&part)
        .output()
        .await
        .context("cannot run qemu-img")?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&part);
        bail!(
            "cannot copy the disk from {ip}:{port}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    std::fs::rename(&part, dest).with_context(|| format!("cannot rename {}", part.display()))?;
    Ok(())
}

/// Points a copied qcow2 overlay at this host's copy of its backing image.
pub async fn rebase(qemu_img: &str, overlay: &Path, backing: &Path, backing_format: &str) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(qemu_img)
        .args(["rebase", "-u", "-f", "qcow2", "-F", backing_format, "-b"])
        .arg(backing)
        .arg(overlay)
        .output()
        .await
        .context("cannot run qemu-img")?;
    if !out.status.success() {
        bail!(
            "cannot rebase {}: {}",
            overlay.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn part_of(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// The pid of the `qemu-nbd` in `pid_file`, if that process still runs.
fn server_pid(pid_file: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline).contains("qemu-nbd").then_some(pid)
}

fn serving(pid_file: &Path, path: &Path) -> bool {
    server_pid(pid_file).is_some_and(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(&*path.to_string_lossy()))
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory removed at the end.
    struct Dir(PathBuf);
    impl Dir {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A qcow2 overlay served by one side and pulled by the other arrives byte for byte,
    /// and a rebase points it at another backing file.
    #[tokio::test]
    async fn a_served_file_is_pulled_byte_for_byte() {
        if std::process::Command::new("qemu-nbd")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("qemu-nbd is not installed: skipped");
            return;
        }
        let dir = std::env::temp_dir().join(format!("ciel-transfer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dir = Dir(dir);
        let base = dir.path().join("base");
        let overlay = dir.path().join("overlay.qcow2");
        let img = |args: &[&str]| {
            let ok = std::process::Command::new("qemu-img")
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "qemu-img {args:?}");
        };
        img(&["create", "-q", "-f", "qcow2", base.to_str().unwrap(), "16M"]);
        img(&[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            base.to_str().unwrap(),
            overlay.to_str().unwrap(),
        ]);
        let written = std::process::Command::new("qemu-io")
            .args(["-f", "qcow2", "-c", "write -P 0x5a 1M 64k", overlay.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(written.status.success());
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let pid_file = dir.path().join("nbd.pid");
        serve(&overlay, "127.0.0.1", port, &pid_file, "raw").await.unwrap();
        serve(&overlay, "127.0.0.1", port, &pid_file, "raw").await.unwrap();
        let copy = dir.path().join("copy.qcow2");
        let pulled = pull("qemu-img", "127.0.0.1", port, &copy).await;
        stop(&pid_file);
        pulled.unwrap();
        let (a, b) = (std::fs::read(&overlay).unwrap(), std::fs::read(&copy).unwrap());
        assert!(
            b.len() >= a.len() && b.len() - a.len() < 512,
            "{} vs {} bytes",
            a.len(),
            b.len()
        );
        assert!(b[..a.len()] == a[..], "the same bytes");
        assert!(b[a.len()..].iter().all(|&x| x == 0), "then only zeros");
        let same = std::process::Command::new("qemu-img")
            .args(["compare", "-q", overlay.to_str().unwrap(), copy.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(same.success(), "the same disk contents");
        assert!(!part_of(&copy).exists());
        let other = dir.path().join("other-base");
        std::fs::copy(&base, &other).unwrap();
        rebase("qemu-img", &copy, &other, "qcow2").await.unwrap();
        let info = std::process::Command::new("qemu-img")
            .args(["info", copy.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&info.stdout).contains("other-base"));
        assert!(serve(&overlay, "not an address", port, &pid_file, "raw").await.is_err());
        assert!(serve(&overlay, "127.0.0.1", port, &pid_file, "vmdk").await.is_err());

        // Served as qcow2, the export is the disk's contents: a raw copy of them holds the
        // data written at its offset.
        serve(&overlay, "127.0.0.1", port, &pid_file, "qcow2").await.unwrap();
        let contents = dir.path().join("contents.raw");
        let pulled = pull("qemu-img", "127.0.0.1", port, &contents).await;
        stop(&pid_file);
        pulled.unwrap();
        let raw = std::fs::read(&contents).unwrap();
        assert_eq!(raw.len(), 16 << 20, "the virtual size");
        assert!(raw[1 << 20..(1 << 20) + 65536].iter().all(|&x| x == 0x5a));
        assert!(raw[..1 << 20].iter().all(|&x| x == 0));
    }
}
