//! Remote consoles: a short-lived token names one server's VNC console; the console proxy
//! (a websocket at `/compute/console/vnc?token=…`) trades it for the server's host agent,
//! which bridges to the VM's VNC socket. Browsers cannot send auth headers on websockets,
//! so the token itself is the credential: random, single-server, expiring. Tokens live in the
//! database (hashed), so any controller behind the load balancer opens any console.

use super::hosts::token_hash;
use super::resource_params::CreateRemoteConsole;
use crate::app::identity::caller::Caller;
use crate::app::App;
use crate::db::compute::server_states::VmState;
use crate::db::compute::{console_tokens, hosts};
use crate::error::{Error, Result};
use base64::Engine;
use std::time::Duration;

/// How long a console URL can be opened (Nova's default token TTL).
pub const TOKEN_TTL: Duration = Duration::from_secs(600);

/// Where the proxy connects for a token: the agent's VNC websocket and its secret.
pub struct ConsoleTarget {
    pub url: String,
    pub secret: String,
}

impl App {
    /// A console URL for a running or paused server (Ciel serves VNC, as noVNC speaks it, for
    /// every console type it accepts).
    pub async fn create_console(&self, caller: &Caller, server_id: &str, _req: &CreateRemoteConsole) -> Result<String> {
        let s = self.get_server(caller, server_id).await?;
        if !matches!(s.vm_state, VmState::Active | VmState::Paused) {
            return Err(Error::Conflict(format!(
                "Instance {server_id} is not ready (vm_state {}).",
                s.vm_state
            )));
        }
        let mut raw = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let now = crate::db::now();
        let mut tx = self.begin().await?;
        console_tokens::insert(
            &mut tx,
            &token_hash(&token),
            &s.id,
            now + TOKEN_TTL.as_secs() as i64,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(format!("{}/compute/console/vnc?token={token}", self.cfg.public_url))
    }

    /// The agent endpoint behind a console token, if the token is valid.
    pub async fn console_target(&self, token: &str) -> Result<ConsoleTarget> {
        let Some(server_id) = console_tokens::server_of(&self.db, &token_hash(token), crate::db::now()).await? else {
            return Err(Error::Unauthorized("invalid or expired console token".into()));
        };
        let s = crate::db::compute::servers::get(&self.db, &server_id)
            .await?
            .ok_or_else(|| Error::not_found("instance", &server_id))?;
        let host = match &s.host_id {
            Some(h) => hosts::get(&self.db, h).await?,
            None => None,
        };
        let Some((url, secret)) = host.and_then(|h| h.agent_url.map(|u| (u, h.agent_secret))) else {
            return Err(Error::Conflict(format!(
                "The console of instance {server_id} is not available."
            )));
        };
        let ws = url.replacen("http://", "ws://", 1).replacen("https://", "wss://", 1);
        Ok(ConsoleTarget {
            url: format!("{ws}/v1/vms/{server_id}/vnc"),
            secret,
        })
    }
}
