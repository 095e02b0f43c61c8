//! A server's network interfaces (`os-interface`): its ports, hot-plugged and unplugged by the
//! agent when the host's desired state gains or loses them. Ports Nova made from a network are
//! deleted on detach; ports the user brought are only unbound, as in Nova.

use crate::app::identity::caller::Caller;
use crate::app::json_input::Body;
use crate::app::network::params::{CreatePort, FromBody, UpdatePort};
use crate::app::network::ports::PortView;
use crate::app::network::validate::{self, FixedIpSpec};
use crate::app::App;
use crate::db::compute::created_ports;
use crate::db::compute::server_states::VmState;
use crate::error::{Error, Result};
use serde_json::Value;

/// `device_owner` of the ports Nova-style attachments create.
pub const COMPUTE_OWNER: &str = "compute:nova";

/// `POST /servers/{id}/os-interface`: an existing port, or a new one on a network (with the
/// fixed IPs wanted, validated as the network service validates a port's).
#[derive(Debug, Clone)]
pub enum AttachInterface {
    Port(String),
    Network {
        net_id: String,
        fixed_ips: Option<Vec<FixedIpSpec>>,
    },
}

impl FromBody for AttachInterface {
    fn from_body(mut body: Body) -> Result<Self> {
        let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_owned));
        let port_id = text(body.remove("port_id"));
        let net_id = text(body.remove("net_id"));
        match (port_id, net_id) {
            (Some(p), _) => Ok(AttachInterface::Port(p)),
            (None, Some(net_id)) => Ok(AttachInterface::Network {
                net_id,
                fixed_ips: match body.remove("fixed_ips") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(validate::fixed_ips("fixed_ips", v)?),
                },
            }),
            (None, None) => Err(Error::bad_request(
                "Invalid input for field/attribute interfaceAttachment: net_id or port_id is required.",
            )),
        }
    }
}

impl App {
    async fn server_for_interfaces(
        &self,
        caller: &Caller,
        server_id: &str,
        action: &str,
    ) -> Result<crate::db::compute::servers::Server> {
        let s = self.get_server(caller, server_id).await?;
        if !crate::app::policy::may_write(caller, &s.project_id) {
            return Err(Error::forbidden());
        }
        if !matches!(s.vm_state, VmState::Active | VmState::Stopped | VmState::Paused) {
            return Err(Error::Conflict(format!(
                "Cannot '{action}' instance {server_id} while it is in vm_state {}",
                s.vm_state
            )));
        }
        Ok(s)
    }

    pub async fn list_interfaces(&self, caller: &Caller, server_id: &str) -> Result<Vec<PortView>> {
        let s = self.get_server(caller, server_id).await?;
        self.ports_of_server(caller, &s.id).await
    }

    pub async fn get_interface(&self, caller: &Caller, server_id: &str, port_id: &str) -> Result<PortView> {
        self.list_interfaces(caller, server_id)
            .await?
            .into_iter()
            .find(|p| p.port.id == port_id)
            .ok_or_else(|| Error::not_found("port", port_id))
    }

    /// Attaches `port_id`, or a new port on `net_id` (with the requested fixed IPs).
    pub async fn attach_interface(&self, caller: &Caller, server_id: &str, req: AttachInterface) -> Result<PortView> {
        let s = self
            .server_for_interfaces(caller, server_id, "attach_interface")
            .await?;
        let port = match req {
            AttachInterface::Port(p) => {
                let view = self
                    .get_port(caller, &p)
                    .await
                    .map_err(|_| Error::not_found("port", &p))?;
                if !view.port.device_id.is_empty() {
                    return Err(Error::Conflict(format!("Port {p} is still in use.")));
                }
                self.update_port(caller, &p, UpdatePort::device(&s.id, COMPUTE_OWNER))
                    .await?
            }
            AttachInterface::Network { net_id, fixed_ips } => {
                let port = CreatePort {
                    fixed_ips,
                    ..CreatePort::for_device(&net_id, &s.id, COMPUTE_OWNER)
                };
                let view = self.create_port(caller, port).await.map_err(|e| match e {
                    Error::NotFound { .. } => Error::not_found("network", &net_id),
                    other => other,
                })?;
                self.remember_created_port(&view.port.id, &s.id).await?;
                view
            }
        };
        let mut tx = self.begin().await?;
        self.ensure_dhcp_port(&mut tx, &port.port.network_id).await?;
        if let Some(h) = &s.host_id {
            tx.host_changed(h);
        }
        tx.commit().await?;
        Ok(port)
    }

    pub async fn detach_interface(&self, caller: &Caller, server_id: &str, port_id: &str) -> Result<()> {
        let s = self
            .server_for_interfaces(caller, server_id, "detach_interface")
            .await?;
        self.get_interface(caller, server_id, port_id).await?;
        self.release_server_port(caller, port_id).await?;
        if let Some(h) = &s.host_id {
            let mut tx = self.begin().await?;
            tx.host_changed(h);
            tx.commit().await?;
        }
        Ok(())
    }

    /// Deletes a port Nova created for the server; unbinds one the user brought.
    pub(crate) async fn release_server_port(&self, caller: &Caller, port_id: &str) -> Result<()> {
        if created_ports::was_created(&self.db, port_id).await? {
            self.delete_port(caller, port_id).await?;
            created_ports::forget(&self.db, port_id).await
        } else {
            self.update_port(caller, port_id, UpdatePort::device("", ""))
                .await
                .map(|_| ())
        }
    }

    pub(crate) async fn remember_created_port(&self, port_id: &str, server_id: &str) -> Result<()> {
        created_ports::remember(&self.db, port_id, server_id).await
    }
}
