//! A minimal QMP client: connect to a VM's monitor socket, negotiate capabilities, run one
//! command, return its `return` value (events arriving meanwhile are skipped).

use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn execute(socket: &Path, command: &str, arguments: Option<Value>) -> anyhow::Result<Value> {
    tokio::time::timeout(TIMEOUT, run(socket, command, arguments))
        .await
        .with_context(|| format!("QMP {command}: no answer within {TIMEOUT:?}"))?
}

async fn run(socket: &Path, command: &str, arguments: Option<Value>) -> anyhow::Result<Value> {
    let stream = UnixStream::connect(socket)
        .await
        .with_context(|| format!("cannot connect to {}", socket.display()))?;
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    let greeting = next(&mut lines).await?;
    if greeting.get("QMP").is_none() {
        bail!("not a QMP greeting: {greeting}");
    }
    for (cmd, args) in [("qmp_capabilities", None), (command, arguments)] {
        let mut msg = json!({ "execute": cmd });
        if let Some(a) = args {
            msg["arguments"] = a;
        }
        w.write_all(format!("{msg}\n").as_bytes()).await?;
        loop {
            let v = next(&mut lines).await?;
            if let Some(ret) = v.get("return") {
                if cmd == command {
                    return Ok(ret.clone());
                }
                break;
            }
            if let Some(err) = v.get("error") {
                bail!("QMP {cmd} failed: {err}");
            }
            // an asynchronous event: keep reading
        }
    }
    bail!("QMP {command}: no answer")
}

async fn next(lines: &mut tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>) -> anyhow::Result<Value> {
    let line = lines.next_line().await?.context("QMP connection closed")?;
    Ok(serde_json::from_str(&line)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    /// A fake QMP server: greets, accepts capabilities, sends an event, answers the command.
    #[tokio::test]
    async fn runs_a_command_and_skips_events() {
        let dir = std::env::temp_dir().join(format!("ciel-qmp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("qmp.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (r, mut w) = s.into_split();
            let mut lines = BufReader::new(r).lines();
            w.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                .await
                .unwrap();
            let caps: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
            assert_eq!(caps["execute"], "qmp_capabilities");
            w.write_all(b"{\"return\": {}}\n").await.unwrap();
            let cmd: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
            assert_eq!(cmd["execute"], "query-status");
            w.write_all(b"{\"event\": \"RESUME\", \"timestamp\": {}}\n")
                .await
                .unwrap();
            w.write_all(b"{\"return\": {\"status\": \"running\", \"running\": true}}\n")
                .await
                .unwrap();
        });
        let r = execute(&sock, "query-status", None).await.unwrap();
        assert_eq!(r["status"], "running");
        server.await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
}
