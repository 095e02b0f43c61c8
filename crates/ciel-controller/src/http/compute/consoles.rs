//! Remote consoles: `POST /servers/{id}/remote-consoles` (2.6+) hands out a console URL; the
//! URL is this proxy's websocket, which bridges the client (noVNC) to the VM's VNC server
//! through its host's agent.

use super::error::NovaResult;
use super::microversion::Mv;
use super::NovaCaller;
use crate::app::compute::resource_params::CreateRemoteConsole;
use crate::error::Error;
use crate::http::{wrapped, AppState, Authed};
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

pub async fn create(
    State(app): State<AppState>,
    Authed(c, ..): NovaCaller,
    mv: Mv,
    Path(id): Path<String>,
    body: Bytes,
) -> NovaResult {
    if !mv.at_least(6) {
        return Err(Error::not_found("resource", "remote-consoles").into());
    }
    let req = CreateRemoteConsole::try_from(wrapped(&body, "remote_console")?)?;
    let url = app.create_console(&c, &id, &req).await?;
    let shown = json!({"protocol": CreateRemoteConsole::PROTOCOL, "type": req.kind.as_str(), "url": url});
    Ok(Json(json!({ "remote_console": shown })).into_response())
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    token: String,
}

/// The console websocket: the token decides which VM; the agent of its host bridges to it.
pub async fn proxy(State(app): State<AppState>, Query(q): Query<TokenQuery>, ws: WebSocketUpgrade) -> Response {
    let target = match app.console_target(&q.token).await {
        Ok(t) => t,
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, e.to_string()).into_response();
        }
    };
    let mut req = match target.url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    if let Ok(v) = format!("Bearer {}", target.secret).parse() {
        req.headers_mut().insert("authorization", v);
    }
    let agent = match tokio_tungstenite::connect_async(req).await {
        Ok((s, _)) => s,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("the VM's console is not reachable: {e}"),
            )
                .into_response()
        }
    };
    ws.protocols(["binary"]).on_upgrade(move |client| pump(client, agent))
}

/// Copies messages both ways until either side closes.
async fn pump<S>(client: WebSocket, agent: tokio_tungstenite::WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut c_tx, mut c_rx) = client.split();
    let (mut a_tx, mut a_rx) = agent.split();
    let up = async {
        while let Some(Ok(m)) = c_rx.next().await {
            let m = match m {
                Message::Binary(b) => tungstenite::Message::Binary(b),
                Message::Text(t) => tungstenite::Message::Binary(t.as_bytes().to_vec().into()),
                Message::Close(_) => break,
                _ => continue,
            };
            if a_tx.send(m).await.is_err() {
                break;
            }
        }
    };
    let down = async {
        while let Some(Ok(m)) = a_rx.next().await {
            let m = match m {
                tungstenite::Message::Binary(b) => Message::Binary(b),
                tungstenite::Message::Close(_) => break,
                _ => continue,
            };
            if c_tx.send(m).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}
