//! The audit log: one line of CADF-like JSON per write API call (who, in which project, did
//! what to which resource, with what result, under which request id). Lines go to a writer
//! thread through a bounded queue, so a slow disk never holds up a request; when the queue
//! is full the line is dropped and counted. The file is rotated by size.
//!
//! Only what the HTTP layer knows goes in: the caller's identity, the policy action, the
//! path and the status. Bodies and headers never do, so no password, token or secret can.

use crate::config::AuditConfig;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

/// Lines waiting for the writer at most.
const QUEUE: usize = 16_384;

/// One audited call, in the shape of a CADF event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(rename = "typeURI")]
    pub type_uri: &'static str,
    pub id: String,
    pub event_type: &'static str,
    pub event_time: String,
    /// `create`, `update` or `delete` (from the HTTP method).
    pub action: &'static str,
    /// `success` or `failure`.
    pub outcome: &'static str,
    pub reason: Reason,
    pub initiator: Initiator,
    pub target: Target,
    pub observer: Observer,
    pub request_path: String,
    #[serde(rename = "request_id")]
    pub request_id: String,
    /// The policy action the route is registered under, e.g. `compute:servers:create`.
    #[serde(rename = "policy_action")]
    pub policy_action: String,
    pub service: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub reason_type: &'static str,
    pub reason_code: String,
}

#[derive(Debug, Serialize, Default)]
pub struct Initiator {
    #[serde(rename = "typeURI")]
    pub type_uri: &'static str,
    /// The user's id; absent for unauthenticated calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    pub host: InitiatorHost,
}

#[derive(Debug, Serialize, Default)]
pub struct InitiatorHost {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Target {
    #[serde(rename = "typeURI")]
    pub type_uri: String,
    /// The resource's id when the path names one (its last path parameter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Observer {
    #[serde(rename = "typeURI")]
    pub type_uri: &'static str,
    /// The controller that served the call.
    pub id: String,
    pub name: &'static str,
}

/// Where audit lines go.
pub struct AuditLog {
    queue: Option<SyncSender<String>>,
}

impl AuditLog {
    /// Starts the writer for `cfg` (`file`: `audit.log` in `data_dir`).
    pub fn open(cfg: &AuditConfig, data_dir: &Path) -> anyhow::Result<Self> {
        let sink = match cfg.to.as_str() {
            "off" => return Ok(Self { queue: None }),
            "stdout" => Sink::Stdout,
            "file" => Sink::File(RotatingFile::open(data_dir.join("audit.log"), cfg.max_bytes, cfg.keep)?),
            other => anyhow::bail!("[audit] to = {other:?}: expected \"file\", \"stdout\" or \"off\""),
        };
        let (tx, rx) = sync_channel::<String>(QUEUE);
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || sink.drain(rx))?;
        Ok(Self { queue: Some(tx) })
    }

    /// Queues one event; counted in `ciel_audit_events_total` by outcome.
    pub fn record(&self, event: &AuditEvent) {
        let Some(q) = &self.queue else {
            return;
        };
        crate::metrics::AUDIT_EVENTS.with_label_values(&[event.outcome]).inc();
        let line = match serde_json::to_string(event) {
            Ok(l) => l,
            Err(e) => return tracing::error!(error = %e, "audit event not serializable"),
        };
        match q.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                crate::metrics::AUDIT_EVENTS.with_label_values(&["dropped"]).inc();
                tracing::warn!(request_id = %event.request_id, "audit queue full: event dropped");
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!(request_id = %event.request_id, "audit writer gone: event dropped")
            }
        }
    }
}

enum Sink {
    Stdout,
    File(RotatingFile),
}

impl Sink {
    fn drain(mut self, rx: std::sync::mpsc::Receiver<String>) {
        while let Ok(line) = rx.recv() {
            let mut batch = vec![line];
            batch.extend(rx.try_iter().take(1024));
            if let Err(e) = self.write(&batch) {
                tracing::error!(error = %e, lines = batch.len(), "writing the audit log failed");
            }
        }
    }

    fn write(&mut self, lines: &[String]) -> std::io::Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                for l in lines {
                    writeln!(out, "{l}")?;
                }
                out.flush()
            }
            Sink::File(f) => f.write(lines),
        }
    }
}

/// An append-only file renamed to `<name>.1` (and older ones shifted up to `keep`) when it
/// grows past `max_bytes`.
struct RotatingFile {
    path: PathBuf,
    file: std::fs::File,
    size: u64,
    max_bytes: u64,
    keep: u32,
}

impl RotatingFile {
    fn open(path: PathBuf, max_bytes: u64, keep: u32) -> std::io::Result<Self> {
        let file = Self::append(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path,
            file,
            size,
            max_bytes: max_bytes.max(4096),
            keep,
        })
    }

    fn append(path: &Path) -> std::io::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
    }

    fn write(&mut self, lines: &[String]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            buf.extend_from_slice(l.as_bytes());
            buf.push(b'\n');
        }
        if self.size > 0 && self.size + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(&buf)?;
        self.size += buf.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                if numbered(n).exists() {
                    std::fs::rename(numbered(n), numbered(n + 1))?;
                }
            }
            std::fs::rename(&self.path, numbered(1))?;
        }
        self.file = Self::append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_rotates_and_keeps_the_newest() {
        let dir = std::env::temp_dir().join(format!("ciel-audit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.log");
        let mut f = RotatingFile::open(path.clone(), 4096, 2).unwrap();
        let line = "x".repeat(1500);
        for i in 0..10 {
            f.write(&[format!("{i}{line}")]).unwrap();
        }
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        // Two lines fit in 4,096 bytes: 8 and 9 are current, 6-7 and 4-5 rotated, 0-3 gone.
        assert!(read(&path).starts_with('8'));
        assert!(read(&dir.join("audit.log.1")).starts_with('6'));
        assert!(read(&dir.join("audit.log.2")).starts_with('4'));
        assert!(!dir.join("audit.log.3").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
