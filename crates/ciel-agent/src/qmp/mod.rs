//! A typed QMP client: one connection per VM to its QEMU's monitor socket. [`Qmp::connect`]
//! reads the greeting and leaves capabilities negotiation; [`Qmp::execute`] sends a typed
//! [`Command`] (with an id) and waits, at most the connection's timeout, for the reply with
//! that id, deserialized into the command's reply type. Asynchronous [`Event`]s arriving
//! meanwhile (or at any time) go to every [`Qmp::events`] subscriber. A reader task owns
//! the socket's read half; once the socket closes every pending and later command fails with
//! [`QmpError::Closed`], and the caller connects again.

pub mod commands;
pub mod events;
pub mod fake;
pub mod migration;

pub use commands::Command;
pub use events::Event;

use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{broadcast, oneshot};

/// How long a command (or connecting) may take before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// QEMU's error classes (`GenericError` for most failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ErrorClass {
    GenericError,
    CommandNotFound,
    DeviceNotActive,
    DeviceNotFound,
    KVMMissingCap,
    #[serde(other)]
    Other,
}

/// Why a QMP command did not give its reply.
#[derive(Debug)]
pub enum QmpError {
    /// The socket could not be reached or read.
    Io { path: PathBuf, error: std::io::Error },
    /// The connection closed (QEMU quit or crashed) before the reply.
    Closed { command: &'static str },
    /// No reply within the timeout.
    Timeout { command: &'static str, after: Duration },
    /// QEMU refused the command.
    Command {
        command: &'static str,
        class: ErrorClass,
        desc: String,
    },
    /// Something that is not QMP.
    Protocol(String),
}

impl std::fmt::Display for QmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QmpError::Io { path, error } => write!(f, "QMP socket {}: {error}", path.display()),
            QmpError::Closed { command } => write!(f, "QMP {command}: connection closed"),
            QmpError::Timeout { command, after } => write!(f, "QMP {command}: no answer within {after:?}"),
            QmpError::Command { command, class, desc } => write!(f, "QMP {command} failed: {desc} ({class:?})"),
            QmpError::Protocol(what) => write!(f, "QMP protocol error: {what}"),
        }
    }
}

impl std::error::Error for QmpError {}

type Reply = Result<Value, (ErrorClass, String)>;

/// Commands waiting for their reply, by id; `None` once the connection is closed.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Reply>>>>>;

/// One open QMP connection.
pub struct Qmp {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Pending,
    events: broadcast::Sender<Event>,
    next_id: AtomicU64,
    timeout: Duration,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Qmp {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Qmp {
    /// Connects with the default [`TIMEOUT`].
    pub async fn connect(socket: &Path) -> Result<Self, QmpError> {
        Self::connect_with_timeout(socket, TIMEOUT).await
    }

    /// Connects, reads the greeting and negotiates capabilities, each step within `timeout`,
    /// which is also each later command's.
    pub async fn connect_with_timeout(socket: &Path, timeout: Duration) -> Result<Self, QmpError> {
        let io = |error| QmpError::Io {
            path: socket.to_owned(),
            error,
        };
        let stream = tokio::time::timeout(timeout, UnixStream::connect(socket))
            .await
            .map_err(|_| QmpError::Timeout {
                command: "connect",
                after: timeout,
            })?
            .map_err(io)?;
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        let handshake = async {
            let greeting = next(&mut lines)
                .await
                .map_err(io)?
                .ok_or(QmpError::Closed { command: "greeting" })?;
            if greeting.get("QMP").is_none() {
                return Err(QmpError::Protocol(format!("not a QMP greeting: {greeting}")));
            }
            let caps = message(commands::Capabilities::NAME, &commands::Capabilities {}, None)?;
            w.write_all(caps.as_bytes()).await.map_err(io)?;
            loop {
                let v = next(&mut lines).await.map_err(io)?.ok_or(QmpError::Closed {
                    command: commands::Capabilities::NAME,
                })?;
                if v.get("return").is_some() {
                    return Ok(());
                }
                if let Some(e) = v.get("error") {
                    let (class, desc) = error_of(e);
                    return Err(QmpError::Command {
                        command: commands::Capabilities::NAME,
                        class,
                        desc,
                    });
                }
            }
        };
        tokio::time::timeout(timeout, handshake)
            .await
            .map_err(|_| QmpError::Timeout {
                command: commands::Capabilities::NAME,
                after: timeout,
            })??;
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let (events, _) = broadcast::channel(64);
        let reader = tokio::spawn(read_loop(lines, pending.clone(), events.clone()));
        Ok(Self {
            writer: tokio::sync::Mutex::new(w),
            pending,
            events,
            next_id: AtomicU64::new(1),
            timeout,
            reader,
        })
    }

    /// The events from now on (a subscriber that lags loses the oldest).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Whether the connection has closed (a new one is needed).
    pub fn is_closed(&self) -> bool {
        self.pending.lock().map(|p| p.is_none()).unwrap_or(true)
    }

    /// Runs `cmd` and returns its typed reply.
    pub async fn execute<C: Command>(&self, cmd: &C) -> Result<C::Reply, QmpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match self.pending.lock().as_deref_mut() {
            Ok(Some(p)) => {
                p.insert(id, tx);
            }
            _ => return Err(QmpError::Closed { command: C::NAME }),
        }
        let msg = message(C::NAME, cmd, Some(id))?;
        let exchange = async {
            self.writer
                .lock()
                .await
                .write_all(msg.as_bytes())
                .await
                .map_err(|_| QmpError::Closed { command: C::NAME })?;
            rx.await.map_err(|_| QmpError::Closed { command: C::NAME })
        };
        let reply = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => {
                if let Ok(Some(p)) = self.pending.lock().as_deref_mut() {
                    p.remove(&id);
                }
                Err(QmpError::Timeout {
                    command: C::NAME,
                    after: self.timeout,
                })
            }
        }?;
        match reply {
            Ok(v) => serde_json::from_value(v)
                .map_err(|e| QmpError::Protocol(format!("unexpected reply to {}: {e}", C::NAME))),
            Err((class, desc)) => Err(QmpError::Command {
                command: C::NAME,
                class,
                desc,
            }),
        }
    }
}

/// A command on the wire: `{"execute", "arguments" (when it has fields), "id"}` and a newline.
fn message<C: serde::Serialize>(name: &str, cmd: &C, id: Option<u64>) -> Result<String, QmpError> {
    let args = serde_json::to_value(cmd).map_err(|e| QmpError::Protocol(format!("{name}: {e}")))?;
    let mut msg = json!({ "execute": name });
    if args.as_object().is_some_and(|o| !o.is_empty()) {
        msg["arguments"] = args;
    }
    if let Some(id) = id {
        msg["id"] = json!(id);
    }
    Ok(format!("{msg}\n"))
}

fn error_of(e: &Value) -> (ErrorClass, String) {
    let class = serde_json::from_value(e["class"].clone()).unwrap_or(ErrorClass::Other);
    let desc = e["desc"].as_str().unwrap_or_default().to_string();
    (class, desc)
}

async fn next(lines: &mut tokio::io::Lines<BufReader<OwnedReadHalf>>) -> std::io::Result<Option<Value>> {
    loop {
        let Some(line) = lines.next_line().await? else {
            return Ok(None);
        };
        if line.trim().is_empty() {
            continue;
        }
        return serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e));
    }
}

/// Hands replies to their commands and events to the subscribers until the socket closes;
/// then fails whatever still waits.
async fn read_loop(
    mut lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    pending: Pending,
    events: broadcast::Sender<Event>,
) {
    while let Ok(Some(v)) = next(&mut lines).await {
        if let Some(name) = v.get("event").and_then(Value::as_str) {
            let data = v.get("data").cloned().unwrap_or(Value::Null);
            let _ = events.send(Event::parse(name, data));
            continue;
        }
        let reply = if let Some(r) = v.get("return") {
            Ok(r.clone())
        } else if let Some(e) = v.get("error") {
            Err(error_of(e))
        } else {
            continue;
        };
        // A reply without a (known) id answers a command that timed out: dropped.
        let Some(id) = v.get("id").and_then(Value::as_u64) else {
            continue;
        };
        let waiter = pending.lock().ok().and_then(|mut p| p.as_mut()?.remove(&id));
        if let Some(w) = waiter {
            let _ = w.send(reply);
        }
    }
    if let Ok(mut p) = pending.lock() {
        // Dropping the senders fails their commands with `Closed`.
        p.take();
    }
}

#[cfg(test)]
mod tests;
