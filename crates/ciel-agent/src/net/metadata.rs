//! The metadata service at 169.254.169.254: one listener per network inside its DHCP
//! namespace, and one per router inside the router's namespace (VMs on routed subnets reach
//! it through their default gateway, wherever the router runs). The asking VM is known by
//! the network (or router) the request arrived on and its source address; the controller
//! answers only for an instance this host may see: its own VMs, or those behind a router it
//! runs. Serves
//! OpenStack's `openstack/<version>/…` and EC2's `<version>/meta-data/…` layouts, rendered by
//! [`crate::instance_data`] like the config drive.

use super::ControllerLink;
use crate::instance_data::{self, Node};
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ciel_proto::InstanceMetadata;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

pub const ADDRESS: &str = "169.254.169.254";

/// Where a listener serves: the asking VM's address is looked up on this network, or on the
/// networks of this router's interfaces.
#[derive(Clone, Debug)]
pub enum Scope {
    Network(String),
    Router(String),
}

impl Scope {
    fn query_key(&self) -> (&'static str, &str) {
        match self {
            Scope::Network(id) => ("network_id", id),
            Scope::Router(id) => ("router_id", id),
        }
    }
}

#[derive(Clone)]
struct Ctx {
    scope: Scope,
    controller: ControllerLink,
    http: reqwest::Client,
}

/// Binds 169.254.169.254:80 inside `netns` and serves there until aborted.
pub async fn serve(netns: &str, scope: Scope, controller: ControllerLink) -> anyhow::Result<tokio::task::AbortHandle> {
    let ns = netns.to_string();
    let std_listener =
        tokio::task::spawn_blocking(move || bind_in_netns(&ns, SocketAddr::from(([169, 254, 169, 254], 80)))).await??;
    let listener = tokio::net::TcpListener::from_std(std_listener)?;
    let ctx = Ctx {
        scope: scope.clone(),
        controller,
        http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
    };
    let app = axum::Router::new().fallback(answer).with_state(ctx);
    let task = tokio::spawn(async move {
        let svc = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, svc).await {
            tracing::warn!(?scope, error = %e, "metadata service stopped");
        }
    });
    tracing::info!(%netns, "metadata service listening");
    Ok(task.abort_handle())
}

/// A listening socket created inside another network namespace (see [`in_netns`]).
fn bind_in_netns(netns: &str, addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    in_netns(netns, || {
        let l = std::net::TcpListener::bind(addr)?;
        l.set_nonblocking(true)?;
        Ok(l)
    })
}

/// Runs `f` inside network namespace `netns`: a short-lived thread joins the namespace
/// (setns affects only the calling thread) and runs it; sockets `f` creates stay in that
/// namespace for their whole life. `f` must not block.
#[allow(unsafe_code)]
pub fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> std::io::Result<T> + Send) -> anyhow::Result<T> {
    let path = format!("/run/netns/{netns}");
    std::thread::scope(|s| {
        s.spawn(|| -> anyhow::Result<T> {
            let file = std::fs::File::open(&path)?;
            // SAFETY: setns on a namespace file descriptor we hold open; it changes only this thread.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            Ok(f()?)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the namespace thread panicked"))?
    })
}

async fn answer(State(ctx): State<Ctx>, ConnectInfo(peer): ConnectInfo<SocketAddr>, uri: Uri) -> Response {
    let md = match lookup(&ctx, &peer.ip().to_string()).await {
        Ok(md) => md,
        Err(e) => {
            tracing::debug!(peer = %peer, error = %format!("{e:#}"), "metadata request refused");
            return (StatusCode::NOT_FOUND, "404 Not Found\n").into_response();
        }
    };
    let tree = instance_data::tree(&md);
    match instance_data::find(&tree, uri.path()) {
        Some(Node::File(body)) => body.clone().into_response(),
        Some(dir @ Node::Dir(..)) => instance_data::listing(dir).into_response(),
        None => (StatusCode::NOT_FOUND, "404 Not Found\n").into_response(),
    }
}

async fn lookup(ctx: &Ctx, ip: &str) -> anyhow::Result<Arc<InstanceMetadata>> {
    let Some((base, token)) = ctx.controller.read().ok().and_then(|c| c.clone()) else {
        anyhow::bail!("not registered with the controller yet");
    };
    let query = [ctx.scope.query_key(), ("ip", ip)];
    let md = instance_data::fetch(&ctx.http, &base, &token, &query).await?;
    Ok(Arc::new(md))
}
