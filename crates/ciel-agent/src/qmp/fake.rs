//! A pretend QEMU monitor for the fake hypervisor and tests: serves QMP on a unix socket with
//! a little state (running or paused, hot-plugged devices), sends the events QEMU would
//! (`STOP`, `RESUME`, `RESET`, `POWERDOWN`, `DEVICE_DELETED`, `SHUTDOWN`), and can be told
//! to hang: it then reads commands and never answers, like a QEMU stuck in the kernel.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

#[derive(Debug, Default)]
struct State {
    running: bool,
    hung: bool,
    quit: bool,
    devices: BTreeSet<String>,
    /// Every command received (names), in order.
    commands: Vec<String>,
}

/// A pretend QEMU; dropping it stops its monitor and removes the socket.
pub struct FakeQemu {
    socket: PathBuf,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeQemu {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl FakeQemu {
    /// Starts serving QMP at `socket`; the guest runs unless started `paused` (QEMU's `-S`).
    pub fn spawn(socket: &Path, paused: bool) -> std::io::Result<Self> {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        let state = Arc::new(Mutex::new(State {
            running: !paused,
            ..State::default()
        }));
        let task = tokio::spawn(serve(listener, state.clone()));
        Ok(Self {
            socket: socket.to_owned(),
            state,
            task,
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// From now on, commands get no answer (or, `false`, answers again).
    pub fn hang(&self, hung: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.hung = hung;
        }
    }

    pub fn is_running(&self) -> bool {
        self.state.lock().map(|s| s.running).unwrap_or(false)
    }

    /// Whether it was told to `quit`.
    pub fn has_quit(&self) -> bool {
        self.state.lock().map(|s| s.quit).unwrap_or(false)
    }

    /// The names of the commands it received, in order.
    pub fn commands(&self) -> Vec<String> {
        self.state.lock().map(|s| s.commands.clone()).unwrap_or_default()
    }
}

async fn serve(listener: UnixListener, state: Arc<Mutex<State>>) {
    // Like QEMU's monitor: one client at a time, the next once it has gone.
    while let Ok((stream, _)) = listener.accept().await {
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        let greeting = json!({"QMP": {"version": {"qemu": {"major": 9, "minor": 0, "micro": 0}, "package": "fake"}, "capabilities": []}});
        if w.write_all(format!("{greeting}\n").as_bytes()).await.is_err() {
            continue;
        }
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let (out, quit) = answer(&state, &msg);
            for m in out {
                if w.write_all(format!("{m}\n").as_bytes()).await.is_err() {
                    break;
                }
            }
            if quit {
                return;
            }
        }
    }
}

/// The messages (reply and events) for one command, and whether QEMU exits after them.
fn answer(state: &Mutex<State>, msg: &Value) -> (Vec<Value>, bool) {
    let Ok(mut s) = state.lock() else { return (vec![], true) };
    let name = msg["execute"].as_str().unwrap_or_default().to_string();
    s.commands.push(name.clone());
    if s.hung {
        return (vec![], false);
    }
    let event =
        |name: &str, data: Value| json!({"event": name, "data": data, "timestamp": {"seconds": 0, "microseconds": 0}});
    let mut out = vec![];
    let mut quit = false;
    let args = &msg["arguments"];
    let result: Result<Value, String> = match name.as_str() {
        "qmp_capabilities" => Ok(json!({})),
        "query-status" => Ok(json!({"running": s.running, "status": if s.running { "running" } else { "paused" }})),
        "stop" => {
            s.running = false;
            out.push(event("STOP", json!({})));
            Ok(json!({}))
        }
        "cont" => {
            s.running = true;
            out.push(event("RESUME", json!({})));
            Ok(json!({}))
        }
        "system_reset" => {
            out.push(event(
                "RESET",
                json!({"guest": false, "reason": "host-qmp-system-reset"}),
            ));
            Ok(json!({}))
        }
        "system_powerdown" => {
            out.push(event("POWERDOWN", json!({})));
            Ok(json!({}))
        }
        "quit" => {
            s.quit = true;
            s.running = false;
            quit = true;
            Ok(json!({}))
        }
        "device_add" => {
            let id = args["id"].as_str().unwrap_or_default().to_string();
            if s.devices.insert(id.clone()) {
                Ok(json!({}))
            } else {
                Err(format!("Duplicate device ID '{id}' for device"))
            }
        }
        "device_del" => {
            let id = args["id"].as_str().unwrap_or_default().to_string();
            if s.devices.remove(&id) {
                out.push(event(
                    "DEVICE_DELETED",
                    json!({"device": id, "path": format!("/machine/peripheral/{id}")}),
                ));
                Ok(json!({}))
            } else {
                Err(format!("Device '{id}' not found"))
            }
        }
        "netdev_add" | "netdev_del" | "blockdev-add" | "blockdev-del" | "block_resize" | "block_set_io_throttle" => {
            Ok(json!({}))
        }
        "query-block" => Ok(json!([])),
        _ => {
            let mut reply = json!({"error": {"class": "CommandNotFound", "desc": format!("The command {name} has not been found")}});
            if let Some(id) = msg.get("id") {
                reply["id"] = id.clone();
            }
            return (vec![reply], false);
        }
    };
    let mut reply = match result {
        Ok(r) => json!({ "return": r }),
        Err(desc) => json!({"error": {"class": "GenericError", "desc": desc}}),
    };
    if let Some(id) = msg.get("id") {
        reply["id"] = id.clone();
    }
    // QEMU answers first, then sends the events the command caused.
    out.insert(0, reply);
    if quit {
        out.push(event("SHUTDOWN", json!({"guest": false, "reason": "host-qmp-quit"})));
    }
    (out, quit)
}
