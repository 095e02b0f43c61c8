//! haproxy as a host process (the [`Linux`](crate::net::kernel::Linux) kernel's side): one
//! master-worker tree per load balancer, started inside its namespace in daemon mode and in
//! a process group of its own, so that it outlives the agent (a killed or restarted agent
//! leaves traffic flowing and adopts it again by its pid file). Its unix sockets live in the
//! load balancer's state directory, reachable from the host's namespace.

use anyhow::{bail, Context};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HAPROXY: &str = "/usr/sbin/haproxy";

fn binary() -> &'static str {
    if Path::new(HAPROXY).exists() {
        HAPROXY
    } else {
        "haproxy"
    }
}

/// The last lines of haproxy's complaint, for a report.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("[NOTICE]") && !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(4)..].join("; ")
}

/// `haproxy -c -q -f cfg`.
pub async fn check(cfg: &Path) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(binary())
        .args(["-c", "-q", "-f"])
        .arg(cfg)
        .output()
        .await
        .context("cannot run haproxy (apt-get install haproxy)")?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        bail!("haproxy refused the configuration: {}", tail(&text));
    }
    Ok(())
}

/// Starts the master of `dir/haproxy.cfg` in `netns`; its output goes to `dir/haproxy.log`.
pub async fn start(netns: &str, dir: &Path) -> anyhow::Result<()> {
    let log_path = dir.join("haproxy.log");
    let log = std::fs::File::create(&log_path).with_context(|| format!("cannot write {}", log_path.display()))?;
    let status = tokio::process::Command::new("ip")
        .args(["netns", "exec", netns, binary(), "-W", "-f"])
        .arg(dir.join("haproxy.cfg"))
        .arg("-p")
        .arg(dir.join("haproxy.pid"))
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Not in the agent's process group: a signal to the agent's group spares it.
        .process_group(0)
        .status()
        .await
        .context("cannot run haproxy (apt-get install haproxy)")?;
    if !status.success() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        bail!("haproxy did not start: {}", tail(&text));
    }
    Ok(())
}

/// The pid of the haproxy master of `dir` (its pid file, checked against /proc: a stale
/// file from before a reboot does not count).
pub fn running(dir: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(dir.join("haproxy.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    (cmdline.contains("haproxy") && cmdline.contains(&dir.join("haproxy.cfg").display().to_string())).then_some(pid)
}

/// One command on a haproxy CLI socket: written with a newline, the write side closed (the
/// master CLI waits for that), the answer read to its end.
pub async fn command(socket: &Path, command: &str) -> anyhow::Result<String> {
    let talk = async {
        let mut s = tokio::net::UnixStream::connect(socket).await?;
        s.write_all(format!("{command}\n").as_bytes()).await?;
        s.shutdown().await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    tokio::time::timeout(Duration::from_secs(3), talk)
        .await
        .with_context(|| format!("{} did not answer", socket.display()))?
        .with_context(|| format!("cannot talk to {}", socket.display()))
}
