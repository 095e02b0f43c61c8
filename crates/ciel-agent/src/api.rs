//! The agent's own small API, called by the controller (with the agent secret it handed out
//! at registration): the serial console log of a VM, snapshots of its disk, and its VNC server
//! as a websocket.

use crate::driver::Hypervisor;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, RwLock};

/// At most this much of the end of a console log is read.
const MAX_CONSOLE_BYTES: u64 = 1 << 20;

#[derive(Clone)]
pub struct ApiState {
    pub driver: Arc<dyn Hypervisor>,
    /// Set once the controller has accepted the registration.
    pub secret: Arc<RwLock<Option<String>>>,
    /// Where the host's volumes are (for exports to the image service).
    pub storage: Arc<crate::storage::Storage>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/vms/{id}/console", get(console))
        .route("/v1/vms/{id}/snapshot", post(snapshot))
        .route("/v1/vms/{id}/rbd-snapshot", post(rbd_snapshot))
        .route("/v1/vms/{id}/vnc", get(vnc))
        .route("/v1/volumes/{id}/export", post(export_volume))
        .with_state(state)
}

#[derive(serde::Deserialize)]
struct Length {
    length: Option<i64>,
}

fn authorized(state: &ApiState, h: &HeaderMap) -> bool {
    let given = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let expected = state.secret.read().ok().and_then(|s| s.clone());
    matches!((given, expected), (Some(g), Some(e)) if g.len() == e.len() && g.bytes().zip(e.bytes()).all(|(a, b)| a == b))
}

async fn console(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<Length>,
    h: HeaderMap,
) -> Response {
    if !authorized(&state, &h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if id.contains('/') || id.contains("..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let Some(path) = state.driver.console_log(&id) else {
        return (StatusCode::OK, String::new()).into_response();
    };
    match tail(&path, q.length) {
        Ok(text) => (StatusCode::OK, text).into_response(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (StatusCode::OK, String::new()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// A qcow2 copy of the VM's disk as the response body; the copy is deleted once sent.
async fn snapshot(State(state): State<ApiState>, Path(id): Path<String>, h: HeaderMap) -> Response {
    if !authorized(&state, &h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if id.contains('/') || id.contains("..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let path = match state.driver.snapshot(&id).await {
        Ok(p) => p,
        Err(e) => return (StatusCode::CONFLICT, format!("{e:#}")).into_response(),
    };
    stream_then_unlink(&path).await
}

#[derive(serde::Deserialize)]
struct RbdSnapshot {
    image_id: String,
    pool: String,
}

/// Makes an image in the images pool from the VM's RBD root disk (it never leaves Ceph):
/// answers `{"size": bytes}`, or 409 saying why not (then the caller copies the disk).
async fn rbd_snapshot(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    h: HeaderMap,
    axum::Json(req): axum::Json<RbdSnapshot>,
) -> Response {
    if !authorized(&state, &h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !crate::storage::backup::safe_id(&id) || !crate::storage::backup::safe_id(&req.image_id) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    match state.driver.snapshot_to_rbd(&id, &req.image_id, &req.pool).await {
        Ok(size) => axum::Json(serde_json::json!({ "size": size })).into_response(),
        Err(e) => (StatusCode::CONFLICT, format!("{e:#}")).into_response(),
    }
}

/// A temporary file as the response body: unlinked at once, the open file stays readable
/// until the body is sent, and nothing is left behind whatever happens to the transfer.
async fn stream_then_unlink(path: &std::path::Path) -> Response {
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let _ = std::fs::remove_file(path);
    axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response()
}

#[derive(serde::Deserialize)]
struct ExportFormat {
    format: Option<String>,
    /// The volume's storage backend (a shared one cannot be found by looking).
    backend: Option<String>,
}

/// A copy of a volume in `format` (raw or qcow2) as the response body (volume → image).
async fn export_volume(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<ExportFormat>,
    h: HeaderMap,
) -> Response {
    if !authorized(&state, &h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if id.contains('/') || id.contains("..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let format = q.format.unwrap_or_else(|| "raw".into());
    let backend = q.backend.unwrap_or_default();
    let path = match state.storage.export(&id, &backend, &format).await {
        Ok(p) => p,
        Err(e) => return (StatusCode::CONFLICT, format!("{e:#}")).into_response(),
    };
    stream_then_unlink(&path).await
}

/// The last `lines` lines (all when None or negative) of the file's last MiB.
fn tail(path: &std::path::Path, lines: Option<i64>) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(MAX_CONSOLE_BYTES)))?;
    let mut buf = vec![];
    f.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).replace('\r', "");
    Ok(match lines {
        Some(n) if n >= 0 => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(n as usize)..].join("\n")
        }
        _ => text,
    })
}

/// The VM's VNC server (its unix socket) as binary websocket messages, both ways.
async fn vnc(State(state): State<ApiState>, Path(id): Path<String>, h: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if !authorized(&state, &h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(path) = state
        .driver
        .vnc_socket(&id)
        .filter(|_| !id.contains('/') && !id.contains(".."))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let unix = match tokio::net::UnixStream::connect(&path).await {
        Ok(u) => u,
        Err(e) => {
            return (
                StatusCode::CONFLICT,
                format!("the VNC server of {id} is not available: {e}"),
            )
                .into_response()
        }
    };
    ws.protocols(["binary"]).on_upgrade(move |socket| async move {
        use futures_util::{SinkExt, StreamExt};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut ws_tx, mut ws_rx) = socket.split();
        let (mut rd, mut wr) = unix.into_split();
        let to_vm = async {
            while let Some(Ok(msg)) = ws_rx.next().await {
                let data = match msg {
                    Message::Binary(b) => b.to_vec(),
                    Message::Text(t) => t.as_bytes().to_vec(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                if wr.write_all(&data).await.is_err() {
                    break;
                }
            }
        };
        let from_vm = async {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = rd.read(&mut buf).await {
                if n == 0 || ws_tx.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                    break;
                }
            }
        };
        tokio::select! {
            _ = to_vm => {}
            _ = from_vm => {}
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn tail_keeps_the_last_lines() {
        let p = std::env::temp_dir().join(format!("ciel-console-{}", std::process::id()));
        std::fs::write(&p, "a\r\nb\nc\nd\n").unwrap();
        assert_eq!(super::tail(&p, Some(2)).unwrap(), "c\nd");
        assert_eq!(super::tail(&p, None).unwrap(), "a\nb\nc\nd\n");
        assert_eq!(super::tail(&p, Some(0)).unwrap(), "");
        std::fs::remove_file(&p).unwrap();
    }
}
